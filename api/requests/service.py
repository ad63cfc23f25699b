"""The Requests module's service layer: the only door to the request workflows and their rows,
for the JSON router and the UI pages alike."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, func, literal_column, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api import idempotency
from api.consumers import service as consumers_service
from api.errors import DependencyUnavailable, Problem
from api.pagination import Page
from api.requests import schemas
from api.temporal import UNAVAILABLE, TemporalGateway
from db import claims, search
from db.models import (
    Communication,
    Consumer,
    Meter,
    MeterAssignment,
    Plan,
    RequestCount,
    RequestEvent,
    ServiceRequest,
    SlotBooking,
    TimeSlot,
    User,
)
from db.models.request import PRIORITY_RANK, open_condition
from db.slots import SlotFull, book_slot, release_slot
from db.system_settings import load_sla_settings
from domain.consumers.types import UtilityType
from domain.dates import window_open
from domain.request import rules
from domain.request.types import OPEN_STATUSES, Priority, RequestStatus, RequestType, SlaState
from domain.users import Role
from settings import Settings
from workflows import search_attributes as sa
from workflows.request import RequestWorkflow
from workflows.schemas import ID_PREFIX, Assign, StartRequest, summary_for

SUPERVISOR_ACTIONS = {rules.Action.SET_PRIORITY, rules.Action.ASSIGN}


# ---- create ---------------------------------------------------------------------------------------


async def _consumer(session: AsyncSession, data: schemas.RequestCreate) -> Consumer:
    if data.consumer_id is not None:
        consumer = await session.get(Consumer, data.consumer_id)
    else:
        consumer = await consumers_service.by_account_number(session, data.account_number or "")
    if consumer is None:
        which = f"ID {data.consumer_id}" if data.consumer_id is not None else f"account {data.account_number}"
        raise Problem(404, f"No consumer with {which}.", type_="/problems/not-found")
    return consumer


def eligibility(consumer: Consumer, settings: Settings) -> tuple[RequestType, str | None]:
    """The type a request for this consumer gets, and why it cannot be created (None when it can)."""
    request_type = rules.request_type_for(consumer.status)
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
    ineligible consumer or one with an open request (409, naming it), a full slot (409).
    Atomic: the row, the profile lock and the slot booking are written in one transaction, and
    removed again if the workflow cannot be started (503).
    """
    from api.reference.service import REASONS

    started = datetime.now(UTC)
    today = started.date()
    async with sessionmaker() as session:
        if idempotency_key and (existing := await _replayed(session, idempotency_key, user, data)):
            return existing, False
        consumer = await _consumer(session, data)
        consumer_id, account_number = consumer.id, consumer.account_number  # still readable after a rollback
        request_type, refusal = eligibility(consumer, settings)
        if refusal:
            raise Problem(
                409, refusal, type_="/problems/not-eligible", open_request=consumer.locked_by_request
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
        sla = await load_sla_settings(session)
        now = datetime.now(UTC)
        row = ServiceRequest(
            request_id=f"~{uuid.uuid4().hex[:20]}",  # replaced once the row has its number
            consumer_id=consumer.id,
            request_type=request_type,
            status=RequestStatus.PENDING,
            priority=data.priority,
            reason=data.reason,
            preferred_date=slot[1] if slot else data.preferred_date,
            slot_id=slot[0] if slot else None,
            notes=data.notes,
            ack_due_at=now + timedelta(minutes=sla.ack_minutes),
            response_due_at=now + timedelta(minutes=sla.response_minutes),
            resolution_due_at=now + timedelta(minutes=sla.resolution_minutes),
            ack_state=SlaState.ON_TRACK,
            response_state=SlaState.ON_TRACK,
            resolution_state=SlaState.ON_TRACK,
            sla_status=SlaState.ON_TRACK,
            created_by=user.id,
            idempotency_key=idempotency_key,
            created_at=now,
        )
        try:
            session.add(row)
            await session.flush()
            row.request_id = f"{ID_PREFIX[request_type]}-{now.year}-{row.id:06d}"
            locked = await session.execute(
                update(Consumer)
                .where(Consumer.id == consumer.id, Consumer.locked_by_request.is_(None))
                .values(locked_by_request=row.request_id)
            )
            if locked.rowcount != 1:  # type: ignore[attr-defined]
                raise IntegrityError("profile lock taken", None, Exception("locked"))
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
            row_written=True,
        )
    try:
        await _start_workflow(temporal, settings, start)
    except DependencyUnavailable:
        if not await _undo_create(sessionmaker, request_id, consumer_id, now):
            return request_id, True  # the start did go through: the workflow has claimed the row
        raise
    return request_id, True


async def _start_workflow(temporal: TemporalGateway, settings: Settings, start: StartRequest) -> None:
    client = await temporal.client()
    try:
        await client.start_workflow(
            RequestWorkflow.run,
            start,
            id=settings.workflow_id(start.request_id),
            task_queue=settings.temporal_task_queue,
            # Only an abandoned start (db.claims: its workflow failed with CreateAbandoned) may share
            # an ID, which happens when SQLite hands the deleted row's number out again.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            static_summary=summary_for(start),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.REQUEST_TYPE, start.request_type.value),
                    SearchAttributePair(sa.REQUEST_STATUS, RequestStatus.PENDING.value),
                    SearchAttributePair(sa.SLA_STATUS, SlaState.ON_TRACK.value),
                    SearchAttributePair(sa.PRIORITY, start.priority.value),
                    SearchAttributePair(sa.ESCALATION_LEVEL, 0),
                    SearchAttributePair(sa.ACCOUNT_NUMBER, start.account_number),
                ]
            ),
            rpc_timeout=temporal.rpc_timeout,
        )
    except RPCError as exc:
        if exc.status is RPCStatusCode.ALREADY_EXISTS:  # an abandoned start of this number, winding down
            raise DependencyUnavailable(
                "temporal", f"An earlier workflow for {start.request_id} is still closing; try again shortly."
            ) from exc
        raise DependencyUnavailable(
            "temporal", f"Could not start the request workflow: {exc.message}"
        ) from exc


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
        await release_slot(session, request_id=request_id)
        await session.execute(
            update(Consumer)
            .where(Consumer.id == consumer_id, Consumer.locked_by_request == request_id)
            .values(locked_by_request=None)
        )
        await session.execute(delete(RequestEvent).where(RequestEvent.request_id == request_id))
        await session.execute(delete(ServiceRequest).where(ServiceRequest.request_id == request_id))
    return True


async def lookup_customers(
    *, session: AsyncSession, settings: Settings, q: str, limit: int = 10
) -> list[schemas.CustomerMatch]:
    """Consumers whose name, account number or phone contains ``q`` (case-insensitive), with the
    request type they would get and whether a request can be created now."""
    digits = "".join(ch for ch in q if ch.isdigit())
    found = search.consumer_condition(q, session.get_bind().dialect.name)
    if found is None:
        return []
    if len(digits) >= 3:
        found = or_(found, func.replace(func.replace(Consumer.phone, "-", ""), " ", "").like(f"%{digits}%"))
    consumers = (
        await session.scalars(
            select(Consumer).where(found).order_by(Consumer.last_name, Consumer.first_name).limit(limit)
        )
    ).all()
    matches = []
    for consumer in consumers:
        request_type, refusal = eligibility(consumer, settings)
        matches.append(
            schemas.CustomerMatch(
                consumer=consumer_card(consumer),
                request_type=request_type,
                eligible=refusal is None,
                reason=refusal,
            )
        )
    return matches


def consumer_card(consumer: Consumer) -> schemas.ConsumerCard:
    return schemas.ConsumerCard(
        id=consumer.id,
        account_number=consumer.account_number,
        name=consumer.full_name,
        service_address=consumer.service_address,
        phone=consumer.phone,
        email=consumer.email,
        category=consumer.category.value,
        sub_category=consumer.sub_category,
        status=consumer.status.value,
        balance=consumer.balance,
    )


# ---- actions ------------------------------------------------------------------------------------------


def may(user: User, action: rules.Action, row: ServiceRequest) -> bool:
    """Whether ``user``'s role allows ``action`` on this request (the workflow decides if the state does)."""
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return True
    if action in SUPERVISOR_ACTIONS:
        return False
    if action is rules.Action.CLOSE:
        return row.assigned_to in (None, user.id) or row.created_by == user.id
    return True


async def get_row(session: AsyncSession, request_id: str) -> ServiceRequest:
    row = await session.scalar(select(ServiceRequest).where(ServiceRequest.request_id == request_id))
    if row is None:
        raise Problem(404, f"No request {request_id}.", type_="/problems/not-found")
    return row


async def act(
    *,
    session: AsyncSession,
    temporal: TemporalGateway,
    settings: Settings,
    user: User,
    request_id: str,
    action: rules.Action,
    payload: Any,
    idempotency_key: str | None = None,
) -> str:
    """Run one action as a workflow Update and return its message once its projection is written.

    With an ``idempotency_key`` the update's ID is the caller's key for this action: Temporal runs
    it once and answers every retry with the first outcome (``api.idempotency``).

    Refuses: unknown request (404), the caller's role (403), a wrong state or invalid data (409
    with the workflow's reason), the key already used with a different body (422), Temporal down
    or slow (503).
    """
    row = await get_row(session, request_id)
    if not may(user, action, row):
        raise Problem(
            403,
            f"Your role ({user.role.value}) may not {action.value.replace('_', ' ')} this request.",
            type_="/problems/forbidden",
        )
    client = await temporal.client()
    status = row.status
    session.expunge(row)  # the caller re-reads it after the update; don't serve this copy
    await session.commit()  # and end this read snapshot, so that re-read sees the update's write
    handle = client.get_workflow_handle_for(RequestWorkflow.run, settings.workflow_id(request_id))
    update_fn = getattr(RequestWorkflow, action.value)
    payload = payload.model_copy(update={"actor": user.username})
    sent = idempotency.digest(payload.model_dump(exclude={"actor", "digest"})) if idempotency_key else None
    try:
        outcome = await handle.execute_update(
            update_fn, payload.model_copy(update={"digest": sent}), rpc_timeout=temporal.rpc_timeout,
            id=idempotency.update_id(action.value, user.id, idempotency_key) if idempotency_key else None,
        )  # fmt: skip
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        kind = cause.type if isinstance(cause, ApplicationError) and cause.type else "TransitionRefused"
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        if errors := _field_errors(action, cause):
            raise Problem(422, message, type_="/problems/validation", reason=kind, errors=errors) from None
        raise Problem(409, message, type_="/problems/action-refused", reason=kind) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        # Temporal took the update but no worker ran it in time: it may still run later. A retry
        # under the same Idempotency-Key (the same update ID) gets that run's outcome, never a second.
        raise DependencyUnavailable(
            "temporal", "The request's workflow did not answer in time; try again shortly."
        ) from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND or "already completed" in exc.message:
            raise Problem(
                409, f"Request {request_id} is {status.value}; no further actions are possible.",
                type_="/problems/action-refused", reason="RequestFinished",
            ) from None  # fmt: skip
        # Anything else is Temporal not ready for the update: unreachable or slow, or a transient
        # state such as the workflow task failing while a killed worker's task times out
        # (FAILED_PRECONDITION "Workflow Task in failed state"). A retry gets through later.
        what = "did not answer in time" if exc.status in UNAVAILABLE else "could not take the action now"
        raise DependencyUnavailable("temporal", f"Temporal {what}: {exc.message}") from None
    if sent is not None and outcome.digest not in (None, sent):
        raise idempotency.key_reused(
            f"This Idempotency-Key was already used to {action.value.replace('_', ' ')} {request_id} with "
            "a different body; send a new key for a new action."
        )
    return outcome.message


# The workflow names a row of submitted data after the domain's list; the API body after its own.
BODY_LISTS = {
    rules.Action.ACTIVATE: ("assignments", "meters"),
    rules.Action.RECORD_FINAL_READINGS: ("readings", "readings"),
}


def _field_errors(action: rules.Action, cause: BaseException | None) -> list[dict[str, str]]:
    """A data refusal's problems as the API's field errors ('meters.0.reading', like FastAPI's own
    422s), or [] when the refusal is about the request's state rather than the data sent."""
    details = cause.details if isinstance(cause, ApplicationError) else ()
    problems = details[0].get("problems", []) if details and isinstance(details[0], dict) else []
    domain_name, body_name = BODY_LISTS.get(action, ("", ""))
    errors = []
    for problem in problems:
        field = problem.get("field")
        if not field:
            continue
        if domain_name and field.startswith(domain_name):
            field = body_name + field[len(domain_name) :]
        errors.append({"field": re.sub(r"\[(\d+)\]", r".\1", field), "message": problem["message"]})
    return errors


# ---- reads ----------------------------------------------------------------------------------------------

Assignee = aliased(User)
SORTS: dict[str, Any] = {
    "created_at": ServiceRequest.created_at,
    "priority": literal_column(f"({PRIORITY_RANK})"),  # the text of the expression index
    "resolution_due_at": ServiceRequest.resolution_due_at,
    "status": ServiceRequest.status,
    "request_id": ServiceRequest.request_id,
}


def _rows_query() -> Select[Any]:
    return (
        select(
            ServiceRequest,
            Consumer.account_number,
            Consumer.first_name,
            Consumer.last_name,
            Assignee.username,
        )
        .join(Consumer, Consumer.id == ServiceRequest.consumer_id)
        .outerjoin(Assignee, Assignee.id == ServiceRequest.assigned_to)
    )


def _row(
    req: ServiceRequest, account: str, first: str, last: str, assignee: str | None
) -> schemas.RequestRow:
    return schemas.RequestRow(
        request_id=req.request_id,
        request_type=req.request_type,
        status=req.status,
        priority=req.priority,
        reason=req.reason,
        consumer_id=req.consumer_id,
        account_number=account,
        consumer_name=f"{first} {last}",
        created_at=req.created_at,
        sla_status=req.sla_status,
        resolution_due_at=req.resolution_due_at,
        escalation_level=req.escalation_level,
        assignee=assignee,
        preferred_date=req.preferred_date,
    )


async def list_requests(
    *,
    session: AsyncSession,
    q: str | None = None,
    status: list[RequestStatus] | None = None,
    request_type: RequestType | None = None,
    priority: list[Priority] | None = None,
    sla_status: list[SlaState] | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    assignee_id: int | None = None,
    history: bool = False,
    sort: str = "-created_at",
    page: int = 1,
    size: int = 25,
) -> Page[schemas.RequestRow]:
    """Search (request ID, consumer name or account number; partial, case-insensitive), filter,
    sort and paginate; ``history`` keeps Completed and Closed requests only."""
    totals_columns = _totals_filters(ServiceRequest, request_type, status, priority, sla_status, history)
    others: list[Any] = []  # filters the running totals cannot answer
    if created_from:
        others.append(ServiceRequest.created_at >= datetime.combine(created_from, datetime.min.time(), UTC))
    if created_to:
        others.append(
            ServiceRequest.created_at
            < datetime.combine(created_to + timedelta(days=1), datetime.min.time(), UTC)
        )
    if assignee_id is not None:
        others.append(ServiceRequest.assigned_to == assignee_id)
    filters = [*totals_columns, *others]
    found = search.request_condition(q, session.get_bind().dialect.name)
    conditions = [found, *filters] if found is not None else filters
    where = and_(*conditions) if conditions else None

    key = sort.lstrip("-")
    if key not in SORTS:
        raise Problem(
            422, f"Cannot sort by '{key}'; use one of {', '.join(SORTS)}.", type_="/problems/validation",
            errors=[{"field": "sort", "message": "unknown sort key"}],
        )  # fmt: skip
    descending = sort.startswith("-")
    order = _ordering(SORTS[key], ServiceRequest.id, key, descending)

    # The page's ids first, sorted and cut on the requests table alone; then its rows with their
    # consumer and assignee (joining first would join every match before the sort). The total:
    # - filters on the running totals' columns only: from the totals, and the page walks its sort
    #   index (for open requests by creation date, the open-requests index, already in order);
    # - few matches (a search, open requests in another order or with more filters): read them
    #   all, then sort and count that one set (a window). Materialised, so that no planner walks
    #   a sort index through 90,000 closed requests hoping to meet the rare, bunched open ones;
    # - anything else (a date range, an assignee, an ID prefix): counted apart.
    only_totals = not others and not q
    open_only = bool(status and set(status) <= set(OPEN_STATUSES))
    walks_open_index = open_only and only_totals and key == "created_at"
    windowed = bool(q and search.id_prefix(q) is None) or (open_only and not walks_open_index)
    counted = not windowed and only_totals
    offset = (page - 1) * size
    total = None if windowed or counted else await _count(session, where)
    page_ids: Select[Any] | None = None
    if total is not None and total > BROAD and (prefix := search.id_prefix(q)) is not None:
        # Thousands share this ID prefix. Where they are dense early in the sort order (recent
        # IDs, newest first), a short walk of the sort index fills the page; where not (last
        # year's IDs, newest first), gather them through the ID index and sort them instead.
        wanted = min(size, total - offset)
        page_ids = await _walked(session, filters, prefix, key, descending, offset, size, wanted)
        windowed = page_ids is None
    if windowed:
        matched = select(ServiceRequest.id, SORTS[key].label("sort_key")).where(where).cte("matches")
        matched = matched.prefix_with("MATERIALIZED")
        page_ids = (
            select(matched.c.id, func.count().over().label("total"))
            .order_by(*_ordering(matched.c.sort_key, matched.c.id, key, descending))
            .limit(size)
            .offset(offset)
        )
    elif page_ids is None:
        page_ids = select(ServiceRequest.id).order_by(*order).limit(size).offset(offset)
        if where is not None:
            page_ids = page_ids.where(where)
    ids = page_ids.subquery()
    counts = windowed and total is None
    rows = (
        await session.execute(
            _rows_query()
            .add_columns(*([ids.c.total] if counts else []))
            .join(ids, ids.c.id == ServiceRequest.id)
            .order_by(*order)
        )
    ).all()

    if counted:
        total = await _counted(session, request_type, status, priority, sla_status, history)
    elif counts:
        # the window's count, or (a page past the end) a count of its own
        total = rows[0][-1] if rows else (await _count(session, where) if page > 1 else 0)
    assert total is not None
    return Page(items=[_row(*r[:5]) for r in rows], total=total, page=page, size=size)


def _ordering(sort_key: Any, row_id: Any, key: str, descending: bool) -> list[Any]:
    """ORDER BY the sort key, ties in id order the same way round (so that an index on (key, id)
    walks the page in order); request IDs are unique already."""
    direction = (lambda column: column.desc()) if descending else (lambda column: column.asc())
    return [direction(sort_key)] + ([] if key == "request_id" else [direction(row_id)])


BROAD = 1_000
"""More matches than this and a list's page is first looked for by walking its sort index."""
WALK = 20
"""How many rows per match wanted a walk reads before it gives up (a sparse stretch)."""


async def _walked(
    session: AsyncSession,
    filters: list[Any],
    prefix: str,
    key: str,
    descending: bool,
    offset: int,
    size: int,
    wanted: int,
) -> Select[Any] | None:
    """The page's IDs, read off the first ``WALK × (offset + size)`` rows of the sort index that
    pass ``filters``, testing the ID prefix on each; None when those rows hold fewer than the
    ``wanted`` matches (then the page lies further on, and gathering them all is cheaper).

    Exact: every match before the page lies within the rows walked, in the same order."""
    head = (
        select(ServiceRequest.id, ServiceRequest.request_id, SORTS[key].label("sort_key"))
        .where(*filters)
        .order_by(*_ordering(SORTS[key], ServiceRequest.id, key, descending))
        .limit(WALK * (offset + size))
        .subquery()
    )
    found = list(
        await session.scalars(
            select(head.c.id)
            .where(func.substr(head.c.request_id, 1, len(prefix)) == prefix)
            .order_by(*_ordering(head.c.sort_key, head.c.id, key, descending))
            .limit(size)
            .offset(offset)
        )
    )
    if len(found) < wanted:
        return None
    return select(ServiceRequest.id).where(ServiceRequest.id.in_(found))


async def _count(session: AsyncSession, where: Any) -> int:
    return await session.scalar(select(func.count()).select_from(ServiceRequest).where(where)) or 0


def _totals_filters(
    table: type[ServiceRequest] | type[RequestCount],
    request_type: RequestType | None,
    status: list[RequestStatus] | None,
    priority: list[Priority] | None,
    sla_status: list[SlaState] | None,
    history: bool,
) -> list[Any]:
    """The filters on the columns both the requests and their running totals have."""
    filters: list[Any] = []
    if history:
        filters.append(table.status.in_([RequestStatus.COMPLETED, RequestStatus.CLOSED]))
    if status:
        open_ = table is ServiceRequest and set(status) == set(OPEN_STATUSES)
        filters.append(open_condition() if open_ else table.status.in_(status))
    if request_type:
        filters.append(table.request_type == request_type)
    if priority:
        filters.append(table.priority.in_(priority))
    if sla_status:
        filters.append(table.sla_status.in_(sla_status))
    return filters


async def _counted(
    session: AsyncSession,
    request_type: RequestType | None,
    status: list[RequestStatus] | None,
    priority: list[Priority] | None,
    sla_status: list[SlaState] | None,
    history: bool,
) -> int:
    """A list's total from the running totals, when it filters on nothing else."""
    filters = _totals_filters(RequestCount, request_type, status, priority, sla_status, history)
    return await session.scalar(select(func.coalesce(func.sum(RequestCount.n), 0)).where(*filters)) or 0


async def escalation_queue(
    *, session: AsyncSession, page: int = 1, size: int = 25
) -> Page[schemas.RequestRow]:
    """Open requests whose SLA is breached or at risk, oldest first: what supervisors work through."""
    return await list_requests(
        session=session,
        status=list(OPEN_STATUSES),
        sla_status=[SlaState.BREACHED, SlaState.AT_RISK],
        sort="created_at",
        page=page,
        size=size,
    )


async def dashboard(*, session: AsyncSession) -> schemas.Dashboard:
    """The four counters and the open requests' SLA at-risk / breached counts, from the running
    totals the database's triggers keep (a few dozen rows, whatever the number of requests)."""
    pending, completed, open_sla = Counter[RequestType](), Counter[RequestType](), Counter[SlaState]()
    for kept in await session.scalars(select(RequestCount).where(RequestCount.n != 0)):
        if kept.status in OPEN_STATUSES:
            pending[kept.request_type] += kept.n
            open_sla[kept.sla_status] += kept.n
        elif kept.status is RequestStatus.COMPLETED:
            completed[kept.request_type] += kept.n
    return schemas.Dashboard(
        pending_connection=pending[RequestType.RECONNECTION],
        completed_connection=completed[RequestType.RECONNECTION],
        pending_disconnection=pending[RequestType.DISCONNECTION],
        completed_disconnection=completed[RequestType.DISCONNECTION],
        sla_at_risk=open_sla[SlaState.AT_RISK],
        sla_breached=open_sla[SlaState.BREACHED],
    )


async def _service_info(session: AsyncSession, consumer: Consumer) -> list[schemas.ServiceInfo]:
    """Per utility, the meter serving the consumer now, or else the last one that did: a
    reconnection shows the meter and reading the service was disconnected with."""
    assignments = await session.execute(
        select(Meter, MeterAssignment)
        .join(MeterAssignment, MeterAssignment.meter_id == Meter.id)
        .where(MeterAssignment.consumer_id == consumer.id)
        .order_by(
            Meter.utility, MeterAssignment.unassigned_on.is_(None).desc(),
            MeterAssignment.unassigned_on.desc(), MeterAssignment.id.desc(),
        )
    )  # fmt: skip
    services: dict[UtilityType, schemas.ServiceInfo] = {}
    for meter, held in assignments:
        if meter.utility in services:
            continue
        current = held.unassigned_on is None
        services[meter.utility] = schemas.ServiceInfo(
            utility=meter.utility, meter_number=meter.meter_number, device_number=meter.device_number,
            meter_type=meter.meter_type, model=meter.model,
            current_reading=meter.last_reading if current else held.final_reading,
            reading_date=meter.last_reading_date if current else held.unassigned_on,
            service_status=(
                ("Active" if consumer.status.value == "Active" else consumer.status.value) if current
                else f"Disconnected on {held.unassigned_on.isoformat()}"  # type: ignore[union-attr]
            ),
        )  # fmt: skip
    return list(services.values())


async def detail(
    *, session: AsyncSession, settings: Settings, user: User, request_id: str
) -> schemas.RequestDetail:
    """The whole request: consumer auto-fill, services and meters, SLA clocks, plan, timeline,
    communications, and the actions the caller's role may take now."""
    found = (await session.execute(_rows_query().where(ServiceRequest.request_id == request_id))).first()
    if found is None:
        raise Problem(404, f"No request {request_id}.", type_="/problems/not-found")
    req: ServiceRequest = found[0]
    consumer = await session.get(Consumer, req.consumer_id)
    assert consumer is not None
    now = datetime.now(UTC)

    services = await _service_info(session, consumer)
    clocks = [
        (rules_target, due, state, met)
        for rules_target, due, state, met in (
            ("acknowledgement", req.ack_due_at, req.ack_state, req.acknowledged_at),
            ("response", req.response_due_at, req.response_state, req.first_response_at),
            ("resolution", req.resolution_due_at, req.resolution_state, req.resolved_at),
        )
    ]
    sla = [
        schemas.SlaClock(
            target=target, due_at=due, met_at=met,
            state=_live_state(state, due, met, now),
            seconds_remaining=int((due - now).total_seconds()),
        )
        for target, due, state, met in clocks
    ]  # fmt: skip
    plan = await session.get(Plan, req.plan_id) if req.plan_id else None
    booking = await session.scalar(select(SlotBooking).where(SlotBooking.request_id == req.request_id))
    slot = await session.get(TimeSlot, booking.slot_id) if booking else None
    events = (
        await session.scalars(
            select(RequestEvent).where(RequestEvent.request_id == req.request_id).order_by(RequestEvent.id)
        )
    ).all()
    comms = (
        await session.scalars(
            select(Communication)
            .where(Communication.request_id == req.request_id)
            .order_by(Communication.created_at.desc(), Communication.id.desc())
        )
    ).all()
    allowed = [
        a.value
        for a in rules.allowed_actions(req.status, req.request_type, plan_selected=req.plan_id is not None)
        if may(user, a, req)
    ]
    base = _row(*found)
    return schemas.RequestDetail(
        **base.model_dump(),
        consumer=consumer_card(consumer),
        services=services,
        sla=sla,
        plan=schemas.PlanSummary(
            id=plan.id, name=plan.name, short_name=plan.short_name, monthly_fee=plan.monthly_fee
        )
        if plan
        else None,
        slot=schemas.SlotSummary(id=slot.id, label=slot.label, day=booking.day) if slot and booking else None,
        notes=req.notes,
        close_reason=req.close_reason,
        close_notes=req.close_notes,
        timeline=[
            schemas.TimelineEntry(occurred_at=e.occurred_at, actor=e.actor, kind=e.kind, detail=e.detail)
            for e in events
        ],
        communications=[
            schemas.CommunicationEntry(
                created_at=c.created_at,
                channel=c.channel,
                direction=c.direction.value,
                visibility=c.visibility,
                subject=c.subject,
                body=c.body,
                author=c.author,
            )
            for c in comms
        ],
        allowed_actions=allowed,
        temporal_url=(
            f"{settings.temporal_ui}/namespaces/{settings.temporal_namespace}/workflows/"
            f"{settings.workflow_id(req.request_id)}"
        ),
    )


def _live_state(stored: SlaState, due: datetime, met: datetime | None, now: datetime) -> SlaState:
    """The stored state, brought up to the second: a clock past due and unmet shows Breached even
    in the instant before the workflow's timer has written it."""
    if met is None and stored in (SlaState.ON_TRACK, SlaState.AT_RISK) and now >= due:
        return SlaState.BREACHED
    return stored


async def assign_payload(*, session: AsyncSession, actor: User, user_id: int) -> Assign:
    """The Assign message for the active user ``user_id`` (their name from the users table); 422 otherwise."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise Problem(
            422, f"No active user with ID {user_id} to assign to.", type_="/problems/validation",
            errors=[{"field": "user_id", "message": "unknown or inactive user"}],
        )  # fmt: skip
    return Assign(actor=actor.username, user_id=user.id, user_name=user.username)


async def assignable_users(*, session: AsyncSession) -> list[User]:
    """Who a supervisor may hand a request to: the active CSRs and supervisors, by name."""
    query = (
        select(User)
        .where(User.is_active, User.role.in_((Role.CSR, Role.SUPERVISOR)))
        .order_by(User.full_name, User.id)
    )
    return list((await session.scalars(query)).all())
