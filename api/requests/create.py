"""Creating a request: the consumer's eligibility, the slot booked, the row written and the
workflow started after commit; the create undone when the start cannot be confirmed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.common import WorkflowIDReusePolicy

from api.clock import local_now
from api.consumers.accounts import by_account_number
from api.errors import DependencyUnavailable, Problem
from api.requests import schemas
from api.temporal import TemporalGateway, translated
from db import claims, writers
from db.business_calendar import capture_sla
from db.disconnection import load_profile
from db.models import Consumer, RequestEvent, ServiceRequest, TimeSlot, User
from db.requests import write_request
from db.slots import SlotFull, book_slot, release_slot
from domain.dates import window_open
from domain.disconnection.lawful import reconnection_target
from domain.disconnection.rules import disconnection_kind_for, request_type_for_service
from domain.request.rules import TransitionRefused
from domain.request.types import OPEN_STATUSES, RequestType
from settings import Settings
from workflows import search_attributes as sa
from workflows.request import RequestWorkflow
from workflows.schemas import StartRequest, summary_for


async def _consumer(session: AsyncSession, data: schemas.RequestCreate) -> Consumer:
    if data.consumer_id is not None:
        consumer = await session.get(Consumer, data.consumer_id)
    else:
        consumer = await by_account_number(session, data.account_number or "")
    if consumer is None:
        which = f"ID {data.consumer_id}" if data.consumer_id is not None else f"account {data.account_number}"
        raise Problem(404, f"No consumer with {which}.", type_="/problems/not-found")
    return consumer


def eligibility(consumer: Consumer, settings: Settings) -> tuple[RequestType | None, str | None]:
    """The type a request for this consumer gets (service off: Reconnection; on: Disconnection), and
    why it cannot be created (None when it can). A Pending account gets no type, and the reason."""
    try:
        request_type = request_type_for_service(consumer.status)
    except TransitionRefused as refused:
        return None, refused.message
    if consumer.locked_by_request:
        return (
            request_type,
            f"Consumer {consumer.account_number} already has open request {consumer.locked_by_request}.",
        )
    limit = settings.reconnection_max_balance
    if request_type is RequestType.RECONNECTION and float(consumer.balance) > limit:
        return request_type, (
            f"Reconnection is not possible while the outstanding balance is {consumer.balance:,.2f}; "
            f"it must be {limit:,.2f} or less."
        )
    return request_type, None


async def _open_request_of(session: AsyncSession, consumer_id: int) -> str | None:
    return await session.scalar(
        select(ServiceRequest.request_id).where(
            ServiceRequest.consumer_id == consumer_id, ServiceRequest.status.in_(OPEN_STATUSES)
        )
    )


async def _choose_slot(
    session: AsyncSession, data: schemas.RequestCreate, now: datetime
) -> tuple[int, date] | None:
    from api.reference.service import earliest_available_slot, slot_has_capacity

    day = data.preferred_date or now.date()
    if data.slot_id is not None:
        slot = await session.get(TimeSlot, data.slot_id)
        if slot is None or not slot.active:
            raise Problem(422, f"Time slot {data.slot_id} does not exist.", type_="/problems/validation")
        if not window_open(day, slot.start_time, now):
            raise Problem(
                422, f"Time slot {slot.label} on {day.isoformat()} has already begun; choose a later one.",
                type_="/problems/validation", errors=[{"field": "slot_id", "message": "already begun"}],
            )  # fmt: skip
        if not await slot_has_capacity(session=session, slot_id=data.slot_id, day=day, now=now):
            raise Problem(
                409, f"Time slot {slot.label} on {day.isoformat()} is fully booked; choose another.",
                type_="/problems/slot-full",
            )  # fmt: skip
        return data.slot_id, day
    return await earliest_available_slot(session=session, from_date=day, now=now)


async def _book_seat(
    session: AsyncSession,
    request_id: str,
    slot: tuple[int, date],
    *,
    named: bool,
    from_date: date,
    now: datetime,
) -> tuple[int, date] | None:
    """Book ``slot`` for ``request_id``; the seat actually booked (None: none left anywhere).

    A slot the caller named is theirs to lose (``SlotFull``: 409). One the system chose may have
    been taken by a concurrent create since it was seen: then the next free seat is booked instead,
    so a create that named no slot never fails for a race it did not choose.
    """
    from api.reference.service import earliest_available_slot

    taken: set[tuple[int, date]] = set()
    while True:
        try:
            await book_slot(session, request_id=request_id, slot_id=slot[0], day=slot[1])
            return slot
        except SlotFull:
            if named:
                raise
            taken.add(slot)
            found = await earliest_available_slot(
                session=session, from_date=from_date, now=now, exclude=taken
            )
            if found is None:
                return None
            slot = found


async def _replayed(session: AsyncSession, key: str, user: User, data: schemas.RequestCreate) -> str | None:
    """The request this caller created earlier with ``key``, or None when the key is new.

    A key is the caller's own: reused by another user, or for a request that differs in anything
    the caller sent, it is refused (422) rather than answered with the wrong request.
    """
    row = await session.scalar(select(ServiceRequest).where(ServiceRequest.idempotency_key == key))
    if row is None:
        return None
    if row.created_by != user.id:
        raise Problem(
            422, "This Idempotency-Key was already used by another user; send a new key.",
            type_="/problems/idempotency-key-reused",
        )  # fmt: skip
    account = await session.scalar(select(Consumer.account_number).where(Consumer.id == row.consumer_id))
    sent = {
        "consumer": data.consumer_id if data.consumer_id is not None else (data.account_number or "").strip().lower(),
        "reason": data.reason, "priority": data.priority, "notes": data.notes,
    }  # fmt: skip
    stored = {
        "consumer": row.consumer_id if data.consumer_id is not None else (account or "").lower(),
        "reason": row.reason, "priority": row.priority, "notes": row.notes,
    }  # fmt: skip
    if data.preferred_date is not None:
        sent["preferred_date"], stored["preferred_date"] = data.preferred_date, row.preferred_date
    if data.slot_id is not None:
        sent["slot_id"], stored["slot_id"] = data.slot_id, row.slot_id
    changed = sorted(name for name in sent if sent[name] != stored[name])
    if changed:
        raise Problem(
            422,
            f"This Idempotency-Key already created {row.request_id} with a different {', '.join(changed)}; "
            "send a new key for a new request.",
            type_="/problems/idempotency-key-reused",
            request_id=row.request_id,
        )
    return row.request_id


async def create_request(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    temporal: TemporalGateway,
    settings: Settings,
    user: User,
    data: schemas.RequestCreate,
    idempotency_key: str | None,
) -> tuple[str, bool]:
    """Create a request and start its workflow; returns (request ID, created?).

    Refuses: unknown consumer (404), a reason not in the list (422), a past date (422), an
    ineligible consumer (a Pending account, a balance too high to reconnect) or one with an open
    request (409, naming it), a full slot (409). A disconnection's kind follows from its reason.
    Atomic: the row, the profile lock and the slot booking are written in one transaction, and
    removed again if the workflow cannot be started (503).
    """
    from api.reference.service import REASONS

    started = local_now()  # slot windows and "today" are the utility's wall clock
    today = started.date()
    async with sessionmaker() as session:
        if idempotency_key and (existing := await _replayed(session, idempotency_key, user, data)):
            return existing, False
        consumer = await _consumer(session, data)
        consumer_id, account_number = consumer.id, consumer.account_number  # still readable after a rollback
        request_type, refusal = eligibility(consumer, settings)
        if refusal or request_type is None:
            raise Problem(
                409, refusal or "", type_="/problems/not-eligible", open_request=consumer.locked_by_request
            )
        if data.reason not in REASONS[request_type]:
            raise Problem(
                422,
                f"'{data.reason}' is not a {request_type.value.lower()} reason; choose one of: "
                + ", ".join(REASONS[request_type]),
                type_="/problems/validation",
                errors=[{"field": "reason", "message": "not in the list of reasons"}],
            )
        if data.preferred_date is not None and data.preferred_date < today:
            raise Problem(
                422, "The preferred date must be today or later.", type_="/problems/validation",
                errors=[{"field": "preferred_date", "message": "in the past"}],
            )  # fmt: skip
        slot = await _choose_slot(session, data, started)
        now = datetime.now(UTC)
        sla = await capture_sla(session, at=now, default_time_zone=settings.time_zone)
        regulated = None
        if request_type is RequestType.RECONNECTION:
            regulated = reconnection_target(await load_profile(session), reason=data.reason, at=now)
        if regulated is not None:  # the regulator's deadline replaces the standard resolution target
            sla = sla.model_copy(  # and stays calendar time, whatever the policy's resolution target
                update={
                    "resolution_minutes": max(1, int((regulated.due_at - now).total_seconds() // 60)),
                    "resolution_business_hours": False,
                }
            )
        try:
            # The writes, in the writers' turn on SQLite (db.writers): the reads above came first.
            async with writers.turn(session.bind), _rolled_back_on_error(session):
                row = await write_request(
                    session,
                    consumer_id=consumer.id,
                    request_type=request_type,
                    reason=data.reason,
                    priority=data.priority,
                    notes=data.notes,
                    preferred_date=slot[1] if slot else data.preferred_date,
                    slot_id=slot[0] if slot else None,
                    sla=sla,
                    created_by=user.id,
                    idempotency_key=idempotency_key,
                    now=now,
                    resolution_basis=regulated.basis if regulated else None,
                )
                if slot:
                    slot = await _book_seat(
                        session, row.request_id, slot, named=data.slot_id is not None,
                        from_date=data.preferred_date or today, now=started,
                    )  # fmt: skip
                    row.slot_id = slot[0] if slot else None
                    row.preferred_date = slot[1] if slot else data.preferred_date
                await session.commit()
        except IntegrityError:
            await session.rollback()
            if idempotency_key and (again := await _replayed(session, idempotency_key, user, data)):
                return again, False
            open_id = await _open_request_of(session, consumer_id)
            raise Problem(
                409,
                f"Consumer {account_number} already has open request {open_id}.",
                type_="/problems/conflict",
                open_request=open_id,
            ) from None
        except SlotFull as exc:
            await session.rollback()
            raise Problem(409, f"{exc}; choose another slot.", type_="/problems/slot-full") from None
        request_id = row.request_id
        start = StartRequest(
            request_id=request_id,
            consumer_id=consumer.id,
            account_number=consumer.account_number,
            consumer_name=consumer.full_name,
            consumer_category=consumer.category,
            consumer_sub_category=consumer.sub_category,
            request_type=request_type,
            priority=data.priority,
            reason=data.reason,
            preferred_date=row.preferred_date,
            slot_id=row.slot_id,
            notes=data.notes,
            created_by=user.username,
            created_by_user_id=user.id,
            created_at=now,
            sla=sla,
            disconnection_kind=disconnection_kind_for(data.reason)
            if request_type is RequestType.DISCONNECTION
            else None,
        )
    try:
        await _start_workflow(temporal, settings, start)
    except DependencyUnavailable:
        if not await _undo_create(sessionmaker, request_id, consumer_id, now):
            return request_id, True  # the start did go through: the workflow has claimed the row
        raise
    return request_id, True


@asynccontextmanager
async def _rolled_back_on_error(session: AsyncSession) -> AsyncIterator[None]:
    """Roll back a failed write at once, so the turn passes on with the lock given up."""
    try:
        yield
    except Exception:
        await session.rollback()
        raise


async def _start_workflow(temporal: TemporalGateway, settings: Settings, start: StartRequest) -> None:
    client = await temporal.client()
    with translated(start.request_id):
        await client.start_workflow(
            RequestWorkflow.run,
            start,
            id=settings.workflow_id(start.request_id),
            task_queue=settings.temporal_task_queue,
            # Only an abandoned start (db.claims: its workflow failed with CreateAbandoned) may share
            # an ID, which happens when SQLite hands the deleted row's number out again.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            static_summary=summary_for(start),
            search_attributes=sa.at_start(start),
            rpc_timeout=temporal.rpc_timeout,
        )


async def _undo_create(
    sessionmaker: async_sessionmaker[AsyncSession], request_id: str, consumer_id: int, created_at: datetime
) -> bool:
    """The start failed or was not confirmed: remove the row, the lock and the booking written for it,
    unless the workflow did start and has claimed the row (``db.claims``). True when undone."""
    async with sessionmaker() as session, session.begin():
        if await claims.lock_row(session, request_id, consumer_id, created_at) and await claims.is_claimed(
            session, request_id
        ):
            return False
        # In the order the create wrote them (the row and its counters, the profile lock, the seat),
        # so an undo and a concurrent create never wait on each other's locks in a circle.
        await session.execute(delete(RequestEvent).where(RequestEvent.request_id == request_id))
        await session.execute(delete(ServiceRequest).where(ServiceRequest.request_id == request_id))
        await session.execute(
            update(Consumer)
            .where(Consumer.id == consumer_id, Consumer.locked_by_request == request_id)
            .values(locked_by_request=None)
        )
        await release_slot(session, request_id=request_id)
    return True
