"""Activities of the request workflow: every database write and notification it needs.

Each is idempotent: a projection is written once per ``event_key`` (unique in the timeline),
communications and service orders once per idempotency key, meter assignments once per
(request, meter), billing accounts once per request. A retry after a crash changes nothing.
The workflow runs the database ones as local activities (``LOCAL_ACTIVITIES`` patch), so a
crashed worker's workflow task reruns them; ``send_email`` stays a regular activity. The worker
registers every ``@activity.defn`` method of :class:`RequestActivities` (``worker.activity_methods``).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.mail import Mailer
from activities.sms import LogSmsSender, SmsRejected, SmsSender
from db import claims, follow_ups, writers
from db import disconnection as stored_profiles
from db.audit import jsonable
from db.models import (
    AuditEntry,
    BillingAccount,
    Communication,
    Consumer,
    Meter,
    MeterAssignment,
    MeterReading,
    Plan,
    RequestEvent,
    ServiceOrder,
    ServiceRequest,
)
from db.notifications import escalation_emails, escalation_recipients, notify_escalation
from db.slots import release_slot
from db.upsert import dialect_insert
from domain.consumers.types import (
    CYCLE_MONTHS,
    ConsumerStatus,
    MeterStatus,
    PaymentMode,
    ServiceOrderStatus,
    VerificationStatus,
)
from domain.dates import add_months
from domain.disconnection.fees import reconnection_fee
from domain.disconnection.rules import DisconnectionKind, reconnection_meters
from domain.request import rules
from domain.request.types import Direction, RequestStatus, RequestType
from workflows import checks
from workflows.schemas import (
    ActivationCheck,
    AssignedMeter,
    CommunicationRecord,
    Completion,
    Email,
    Escalation,
    FollowUpChange,
    MeterFacts,
    MeterFactsList,
    MeterLookup,
    PlanCheck,
    PlanSelection,
    PlanView,
    Projection,
    Release,
    RowChanges,
    ServiceOrderRecord,
    ServiceOrderView,
    Sms,
    StartRequest,
)

_EVENTS: Table = RequestEvent.__table__  # type: ignore[assignment]
_REQUESTS: Table = ServiceRequest.__table__  # type: ignore[assignment]
_AUDIT: Table = AuditEntry.__table__  # type: ignore[assignment]
_COMMUNICATIONS: Table = Communication.__table__  # type: ignore[assignment]
_CONSUMERS: Table = Consumer.__table__  # type: ignore[assignment]
_AUDIT_INSERT = insert(_AUDIT)
_UNLOCK = (  # the profile lock given up, if this request still holds it
    update(_CONSUMERS)
    .where(_CONSUMERS.c.id == bindparam("consumer"), _CONSUMERS.c.locked_by_request == bindparam("request"))
    .values(locked_by_request=None)
)

# The projection's statements are built once and run with parameters: building a statement costs
# more CPU than SQLAlchemy's cached compile of it, and every action and escalation runs these.


@functools.cache
def _once_insert(dialect: str, table: Table, key: str) -> Any:
    """``INSERT … ON CONFLICT (key) DO NOTHING RETURNING id`` into ``table`` for ``dialect``."""
    return dialect_insert(dialect, table).on_conflict_do_nothing(index_elements=[key]).returning(table.c.id)


@functools.cache
def _row_statements(names: tuple[str, ...]) -> tuple[Any, Any]:
    """Read ``names`` of the request row ``:rid``, and set them from ``:new_<name>``."""
    this_row = _REQUESTS.c.request_id == bindparam("rid")
    read = select(*(_REQUESTS.c[name] for name in names)).where(this_row)
    write = update(_REQUESTS).where(this_row).values({name: bindparam(f"new_{name}") for name in names})
    return read, write


async def _plan(session: AsyncSession, plan_id: int) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise ApplicationError(f"Plan {plan_id} does not exist.", type="PlanNotFound", non_retryable=True)
    return plan


def _check_eligible(plan: Plan, check: PlanCheck) -> None:
    """``PlanNotEligible`` unless the plan is active and offered to the consumer's category."""
    try:
        rules.check_plan(
            plan.category,
            plan.sub_category,
            plan.active,
            check.consumer_category,
            check.consumer_sub_category,
        )
    except rules.TransitionRefused as exc:
        raise ApplicationError(str(exc), type="PlanNotEligible", non_retryable=True) from None


def _plan_view(plan: Plan) -> PlanView:
    return PlanView(
        plan_id=plan.id,
        name=plan.name,
        short_name=plan.short_name,
        services=[(s.utility, s.metered) for s in plan.services],
    )


def _is_this_request(request_id: str | None) -> bool:
    """Whether ``request_id`` is the request whose workflow runs this activity (its workflow ID is
    the request ID, after the deployment's optional prefix)."""
    if not request_id or not activity.in_activity():
        return False
    return (activity.info().workflow_id or "").endswith(request_id)


class RequestActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        mailer: Mailer,
        supervisor_email: str,
        sms: SmsSender | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.mailer = mailer
        self.supervisor_email = supervisor_email
        self.sms = sms or LogSmsSender()
        self._bind = sessionmaker.kw.get("bind")

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncSession]:
        """A session in a write transaction, committed on leaving (rolled back on an error).

        On SQLite the writers take turns (``db.writers``) rather than poll in SQLite's busy handler,
        which sleeps up to 100 ms between tries: under a burst (a thousand escalations due in one
        minute, 16 CSRs creating at once) a writer could sleep through the moments the lock was free
        while others took it. PostgreSQL takes concurrent writers itself: no turns there.
        """
        async with writers.turn(self._bind), self.sessionmaker() as session, session.begin():
            yield session

    # -- helpers (run inside the caller's transaction) --------------------------------------

    @staticmethod
    async def _project(session: AsyncSession, p: Projection) -> bool:
        """Write the event and its row changes; False when this event_key was already written.

        Core statements on the session's connection, not the ORM's unit of work: every action runs
        this, and the event's ``INSERT … ON CONFLICT DO NOTHING RETURNING`` is both the write and the
        once-only check (a concurrent retry of the same event waits for the first and writes nothing).
        """
        connection = await session.connection()
        written = await connection.execute(
            _once_insert(connection.dialect.name, _EVENTS, "event_key"),
            dict(request_id=p.request_id, event_key=p.event_key, occurred_at=p.occurred_at, actor=p.actor,
                 kind=p.kind, detail=p.detail),
        )  # fmt: skip
        if written.first() is None:
            return False
        changes = p.changes.model_dump(exclude_none=True)
        before: dict[str, Any] = {}
        if changes:
            read, write = _row_statements(tuple(changes))
            found = (await connection.execute(read, {"rid": p.request_id})).first()
            before = dict(zip(changes, found, strict=True)) if found else {}
            await connection.execute(
                write, {"rid": p.request_id, **{f"new_{k}": v for k, v in changes.items()}}
            )
        audited = {name: [jsonable(before.get(name)), jsonable(value)] for name, value in changes.items()}
        await connection.execute(
            _AUDIT_INSERT,
            dict(occurred_at=p.occurred_at, actor=p.actor, action=p.kind, object_type="request",
                 object_id=p.request_id, changes=audited | {"detail": [None, p.detail]}, event_key=p.event_key),
        )  # fmt: skip
        return True

    @staticmethod
    async def _communicate(session: AsyncSession, c: CommunicationRecord) -> None:
        """Write one communication, once per ``c.key`` (its unique idempotency key)."""
        connection = await session.connection()
        await connection.execute(
            _once_insert(connection.dialect.name, _COMMUNICATIONS, "idempotency_key"),
            dict(consumer_id=c.consumer_id, request_id=c.request_id, channel=c.channel,
                 direction=Direction(c.direction), visibility=c.visibility, subject=c.subject, body=c.body,
                 duration_seconds=c.duration_seconds, outcome=c.outcome, author=c.author,
                 created_at=c.occurred_at, idempotency_key=c.key),
        )  # fmt: skip

    # -- activities ------------------------------------------------------------------------------

    @activity.defn
    async def record_created(self, start: StartRequest) -> None:
        """Claim the request row the API wrote (``db.claims``) by logging 'created'.

        If the row is gone, the API undid this create after a start it could not confirm:
        CreateAbandoned, nothing written.
        """
        key = f"{start.request_id}:created"
        async with self._schema_refusals(key), self._writing() as session:
            if not await claims.lock_row(session, start.request_id, start.consumer_id, start.created_at):
                raise ApplicationError(
                    f"Request {start.request_id} was withdrawn before its workflow began: the API "
                    "could not confirm the start and undid the create. Nothing was written.",
                    type="CreateAbandoned",
                    non_retryable=True,
                )
            await self._project(
                session,
                Projection(
                    request_id=start.request_id,
                    event_key=key,
                    occurred_at=start.created_at,
                    actor=start.created_by,
                    kind="created",
                    detail=f"{start.request_type.value} request created: {start.reason}",
                ),
            )

    @activity.defn
    async def project(self, p: Projection) -> None:
        """Write one transition's timeline event and row changes."""
        async with self._schema_refusals(p.event_key), self._writing() as session:
            await self._project(session, p)

    @asynccontextmanager
    async def _schema_refusals(self, event_key: str) -> AsyncIterator[None]:
        """A write the schema refuses is a non-retryable refusal (retrying cannot make it valid),
        unless an overlapping attempt of this same activity already wrote its event."""
        try:
            yield
        except IntegrityError as exc:
            if await self._event_written(event_key):
                return
            raise ApplicationError(
                f"The database refused this change: {exc.orig}", type="IntegrityViolation", non_retryable=True
            ) from None

    async def _event_written(self, event_key: str) -> bool:
        async with self.sessionmaker() as session:
            found = await session.scalar(select(RequestEvent.id).where(RequestEvent.event_key == event_key))
            return found is not None

    @activity.defn
    async def check_plan(self, check: PlanCheck) -> PlanView:
        """The plan, if it is active and offered to the consumer's category; else a typed refusal."""
        async with self.sessionmaker() as session:
            plan = await _plan(session, check.plan_id)
            _check_eligible(plan, check)
            return _plan_view(plan)

    @activity.defn
    async def select_plan(self, selection: PlanSelection) -> PlanView:
        """Check the plan as ``check_plan`` does and record its selection, in one transaction.

        Checked only when the event is new: a retry after the first attempt committed finds it
        written and answers the plan it chose, even if the plan changed since.
        """
        async with self._schema_refusals(selection.projection.event_key), self._writing() as session:
            plan = await _plan(session, selection.check.plan_id)
            view = _plan_view(plan)
            selected = selection.projection.model_copy(update={"detail": checks.plan_selected(view)})
            if await self._project(session, selected):
                _check_eligible(plan, selection.check)  # a refusal rolls the event back with the rest
            return view

    @staticmethod
    async def _meter_facts(session: AsyncSession, lookup: MeterLookup) -> MeterFactsList:
        rows = (
            await session.scalars(select(Meter).where(Meter.meter_number.in_(lookup.meter_numbers)))
        ).all()
        open_assignments = (
            await session.execute(
                select(
                    MeterAssignment.meter_id, MeterAssignment.consumer_id, MeterAssignment.request_id
                ).where(
                    MeterAssignment.meter_id.in_([m.id for m in rows]),
                    MeterAssignment.unassigned_on.is_(None),
                )
            )
        ).all()
        own = {
            a.meter_id
            for a in open_assignments
            if lookup.consumer_id is not None and a.consumer_id == lookup.consumer_id
        }
        return MeterFactsList(
            meters=[
                MeterFacts(
                    meter_number=m.meter_number,
                    utility=m.utility,
                    available=m.status == MeterStatus.AVAILABLE,
                    last_reading=m.last_reading,
                    in_place=m.id in own and m.status == MeterStatus.ASSIGNED,
                )
                for m in rows
            ],
            completed_by_this_request=any(_is_this_request(a.request_id) for a in open_assignments),
        )

    @activity.defn
    async def lookup_meters(self, lookup: MeterLookup) -> MeterFactsList:
        """What the database knows of the named meters (unknown numbers are simply absent); with a
        consumer, which of them are that consumer's own, assigned with service off (``in_place``)."""
        async with self.sessionmaker() as session:
            return await self._meter_facts(session, lookup)

    @activity.defn
    async def consumer_meters(self, consumer_id: int) -> MeterFactsList:
        """The meters currently assigned to a consumer (for a disconnection's final readings)."""
        async with self.sessionmaker() as session:
            done = [
                row
                for row in (
                    await session.execute(
                        select(ServiceRequest.request_id, ServiceRequest.created_at).where(
                            ServiceRequest.consumer_id == consumer_id,
                            ServiceRequest.status == RequestStatus.COMPLETED,
                            ServiceRequest.request_type == RequestType.DISCONNECTION,
                        )
                    )
                ).all()
                if _is_this_request(row.request_id)
            ]
            # this request's completion already unassigned the meters (permanent): the ones it
            # closed; or left them assigned (temporary): the open ones
            still_open = MeterAssignment.unassigned_on.is_(None)
            closed_by_it = (
                or_(still_open, MeterAssignment.unassigned_on >= done[0].created_at.date())
                if done
                else still_open
            )
            rows = (
                await session.scalars(
                    select(Meter)
                    .join(MeterAssignment, MeterAssignment.meter_id == Meter.id)
                    .where(MeterAssignment.consumer_id == consumer_id, closed_by_it)
                    .distinct()
                )
            ).all()
            return MeterFactsList(
                completed_by_this_request=bool(done),
                meters=[
                    MeterFacts(
                        meter_number=m.meter_number,
                        utility=m.utility,
                        available=False,
                        last_reading=m.last_reading,
                    )
                    for m in rows
                ],
            )

    @activity.defn
    async def communicate(self, record: CommunicationRecord) -> None:
        """Log a note or a response to the consumer with its timeline event (once per key)."""
        async with self._writing() as session:
            if record.projection is not None:
                await self._project(session, record.projection)
            await self._communicate(session, record)

    @activity.defn
    async def create_service_order(self, record: ServiceOrderRecord) -> ServiceOrderView:
        """Raise a service order for field work (once per key); returns its SO number."""
        async with self._writing() as session:
            existing = await session.scalar(
                select(ServiceOrder).where(ServiceOrder.idempotency_key == record.key)
            )
            await self._project(session, record.projection)
            if existing is None:
                order = ServiceOrder(
                    order_number=f"~{abs(hash(record.key)) % 10**18}",  # replaced below, once the id is known
                    consumer_id=record.consumer_id,
                    request_id=record.request_id,
                    service_type=record.service_type,
                    description=record.description,
                    status=ServiceOrderStatus.SCHEDULED,
                    created_at=record.occurred_at,
                    scheduled_date=record.scheduled_date,
                    idempotency_key=record.key,
                )
                session.add(order)
                await session.flush()
                # Numbered from the row's own id: unique without a counter table or a race.
                order.order_number = f"SO-{order.id + 100000}"
                await session.flush()
                existing = order
            return ServiceOrderView(
                order_number=existing.order_number,
                service_type=existing.service_type,
                status=existing.status.value,
            )

    @activity.defn
    async def complete(self, done: Completion) -> None:
        """Finish a request in one transaction.

        Reconnection: the readings recorded; the consumer's own meters (service off) re-energised in
        place, other chosen meters assigned (they must be Available), own meters not chosen released;
        consumer Active, billing account on the plan. Disconnection: final readings, billing stopped;
        temporary: consumer Temporarily Disconnected, meters stay assigned; permanent (or no kind,
        as before kinds existed): consumer Inactive, meters unassigned. Both release the profile lock
        and log the confirmation.
        """
        today = done.projection.occurred_at.date()
        async with (
            self._schema_refusals(done.projection.event_key),
            self._writing() as session,
        ):
            projection = done.projection
            if done.activation is not None:
                projection = await self._checked_activation(session, done, done.activation)
            if not await self._project(session, projection):
                return
            meters = {
                m.meter_number: m
                for m in (
                    await session.scalars(
                        select(Meter).where(Meter.meter_number.in_([c.meter_number for c in done.meters]))
                    )
                ).all()
            }
            for choice in done.meters:
                await self._record_reading(session, done, meters[choice.meter_number], choice)
            consumer = await session.get(Consumer, done.consumer_id)
            assert consumer is not None
            await session.execute(
                update(BillingAccount)
                .where(BillingAccount.consumer_id == done.consumer_id, BillingAccount.active)
                .values(active=False)
            )
            if done.request_type is RequestType.RECONNECTION:
                await self._reconnect(session, done, meters, today)
                consumer.status = ConsumerStatus.ACTIVE
                if done.charge_fee:
                    await self._charge_fee(session, done, consumer)
                assert done.plan_id is not None
                session.add(
                    BillingAccount(
                        consumer_id=done.consumer_id,
                        plan_id=done.plan_id,
                        request_id=done.request_id,
                        billing_cycle=done.billing_cycle,
                        payment_mode=done.payment_mode,
                        payment_reference=done.payment_reference
                        if done.payment_mode is PaymentMode.AUTO_PAY
                        else None,
                        cycle_start=today,
                        next_bill_date=add_months(today, CYCLE_MONTHS[done.billing_cycle]),
                    )
                )
            elif done.disconnection_kind is DisconnectionKind.TEMPORARY:
                consumer.status = ConsumerStatus.TEMPORARILY_DISCONNECTED  # meters stay assigned
            else:
                for choice in done.meters:
                    meter = meters[choice.meter_number]
                    meter.status = MeterStatus.AVAILABLE
                    await session.execute(
                        update(MeterAssignment)
                        .where(MeterAssignment.meter_id == meter.id, MeterAssignment.unassigned_on.is_(None))
                        .values(unassigned_on=today, final_reading=choice.reading)
                    )
                consumer.status = ConsumerStatus.INACTIVE
            if consumer.locked_by_request == done.request_id:
                consumer.locked_by_request = None
            await self._communicate(session, done.notice)

    async def _checked_activation(
        self, session: AsyncSession, done: Completion, check: ActivationCheck
    ) -> Projection:
        """The activation checked against its meters as this transaction reads them (a refusal:
        ``TransitionRefused``, nothing written), and its timeline event, which names the meters
        re-energised in place. A retry after the completion committed sees its own effect: not
        checked again (its event is found written and nothing more happens)."""
        facts = await self._meter_facts(
            session,
            MeterLookup(meter_numbers=[m.meter_number for m in done.meters], consumer_id=done.consumer_id),
        )
        if not facts.completed_by_this_request:
            try:
                checks.check_activation(
                    check.services,
                    done.meters,
                    facts,
                    today=done.projection.occurred_at.date(),
                    payment_mode=done.payment_mode,
                    payment_reference=done.payment_reference,
                )
            except rules.TransitionRefused as exc:
                raise ApplicationError(
                    exc.message, {"code": exc.code}, type="TransitionRefused", non_retryable=True
                ) from None
        in_place = {f.meter_number for f in facts.meters if f.in_place}
        detail = checks.activated(check.plan_short_name, done.meters, in_place, check.billing)
        return done.projection.model_copy(update={"detail": detail})

    @staticmethod
    async def _charge_fee(session: AsyncSession, done: Completion, consumer: Consumer) -> None:
        """The profile's reconnection fee for work done now, on the balance (inside the completion's
        transaction, so once), with its own timeline and audit entry."""
        quote = reconnection_fee(
            await stored_profiles.load_profile(session), at=done.projection.occurred_at, urgent=done.urgent
        )
        if quote is None or quote.amount <= 0:
            return
        before = consumer.balance
        consumer.balance = before + quote.amount
        charge = done.projection.model_copy(
            update={
                "event_key": f"{done.projection.event_key}:fee",
                "kind": "fee_charged",
                "detail": f"{quote.basis}: ${quote.amount:,.2f} added to the balance.",
                "changes": RowChanges(),
            }
        )
        await RequestActivities._project(session, charge)
        await session.execute(
            insert(AuditEntry).values(
                occurred_at=done.projection.occurred_at, actor="system", action="update", object_type="consumer",
                object_id=str(consumer.id), changes={"balance": [jsonable(before), jsonable(consumer.balance)]},
                event_key=f"{charge.event_key}:balance",
            )
        )  # fmt: skip

    @staticmethod
    async def _record_reading(
        session: AsyncSession, done: Completion, meter: Meter, choice: AssignedMeter
    ) -> None:
        # One reading per meter and day: a second one the same day replaces the first.
        same_day = await session.scalar(
            select(MeterReading).where(
                MeterReading.meter_id == meter.id, MeterReading.reading_date == choice.reading_date
            )
        )
        if same_day is None:
            session.add(
                MeterReading(
                    meter_id=meter.id,
                    consumer_id=done.consumer_id,
                    reading_date=choice.reading_date,
                    value=choice.reading,
                    verification_status=VerificationStatus.VERIFIED,
                    recorded_at=done.projection.occurred_at,
                )
            )
        else:
            same_day.value = choice.reading
            same_day.consumer_id = done.consumer_id
            same_day.verification_status = VerificationStatus.VERIFIED
            same_day.recorded_at = done.projection.occurred_at
        meter.last_reading = choice.reading
        meter.last_reading_date = choice.reading_date

    @staticmethod
    async def _reconnect(
        session: AsyncSession, done: Completion, meters: dict[str, Meter], today: date
    ) -> None:
        """Re-energise the consumer's own meters in place, assign the new ones, release the rest."""
        own = {
            m.meter_number: (m, a)
            for m, a in (
                await session.execute(
                    select(Meter, MeterAssignment)
                    .join(MeterAssignment, MeterAssignment.meter_id == Meter.id)
                    .where(
                        MeterAssignment.consumer_id == done.consumer_id,
                        MeterAssignment.unassigned_on.is_(None),
                    )
                )
            ).all()
        }
        in_place = [n for n, (m, _) in own.items() if m.status == MeterStatus.ASSIGNED]
        split = reconnection_meters([c.meter_number for c in done.meters], in_place)
        readings = {c.meter_number: c.reading for c in done.meters}
        for number in split.assign:
            meter = meters[number]
            if meter.status != MeterStatus.AVAILABLE:
                raise ApplicationError(
                    f"Meter {meter.meter_number} is no longer available ({meter.status.value}).",
                    type="MeterUnavailable",
                    non_retryable=True,
                )
            meter.status = MeterStatus.ASSIGNED
            session.add(
                MeterAssignment(
                    meter_id=meter.id,
                    consumer_id=done.consumer_id,
                    request_id=done.request_id,
                    assigned_on=today,
                    initial_reading=readings[number],
                )
            )
        # Swapped out or not in the new plan: unassigned at their last reading. (Own meters out
        # for maintenance are not in ``in_place``: they are released too.)
        for number in [*split.release, *(n for n in own if n not in in_place and n not in readings)]:
            meter, assignment = own[number]
            assignment.unassigned_on = today
            assignment.final_reading = meter.last_reading
            if meter.status == MeterStatus.ASSIGNED:
                meter.status = MeterStatus.AVAILABLE

    @activity.defn
    async def release(self, closing: Release) -> None:
        """Close path: the closing projection, the profile lock and the slot seat, in one transaction."""
        async with self._writing() as session:
            if not await self._project(session, closing.projection):
                return
            await (await session.connection()).execute(
                _UNLOCK, {"consumer": closing.consumer_id, "request": closing.projection.request_id}
            )
            await release_slot(session, request_id=closing.projection.request_id)

    @activity.defn
    async def escalate(self, escalation: Escalation) -> None:
        """Record an SLA escalation, its notice, and the in-app notices of the people the escalation
        chain names for its level (once each)."""
        async with self.sessionmaker() as session:  # read first: the write lock is for writing
            told = await escalation_recipients(
                session, request_id=escalation.request_id, level=escalation.level
            )
        async with self._writing() as session:
            await self._project(session, escalation.projection)
            await self._communicate(session, escalation.notice)
            await notify_escalation(
                session, request_id=escalation.request_id, level=escalation.level,
                title=escalation.notice.subject or f"Escalation level {escalation.level}",
                body=escalation.notice.body, key=escalation.projection.event_key,
                at=escalation.projection.occurred_at, told=told,
            )  # fmt: skip

    @activity.defn
    async def record_follow_up(self, change: FollowUpChange) -> None:
        """A follow-up set, fired (the assignee told in the app) or cancelled, with its timeline event."""
        f, p = change.follow_up, change.projection
        async with self._writing() as session:
            await self._project(session, p)
            await follow_ups.save(
                session, request_id=change.request_id, key=f.key, due_at=f.due_at, note=f.note,
                set_by=f.by, state=f.state, at=p.occurred_at,
            )  # fmt: skip
            if f.state == follow_ups.DONE:
                await follow_ups.notify(
                    session, request_id=change.request_id, key=f.key, set_by=f.by,
                    title=f"Follow up: {change.request_id}", body=p.detail, at=p.occurred_at,
                )  # fmt: skip

    @activity.defn
    async def send_email(self, email: Email) -> bool:
        """Send an e-mail to the consumer and/or the supervisors, if SMTP is configured.

        A stable Message-ID (the idempotency key) marks a retried send as the same message. Without
        SMTP nothing is sent, so nothing is looked up either (False, as ``Mailer.send`` answers).
        """
        if not self.mailer.enabled:
            return False
        to: list[str] = [self.supervisor_email] if email.to_supervisors else []
        if email.escalation_level is not None and email.request_id is not None:
            async with (
                self.sessionmaker() as session
            ):  # the chain's people for the level, else the supervisors
                chain = await escalation_emails(
                    session, request_id=email.request_id, level=email.escalation_level
                )
            to = list(chain) or to
        if email.consumer_id is not None:
            async with self.sessionmaker() as session:
                address = await session.scalar(select(Consumer.email).where(Consumer.id == email.consumer_id))
            if address:
                to.append(address)
        if not to:
            return False
        return await self.mailer.send(to, email.subject, email.body, email.key)

    @activity.defn
    async def send_sms(self, sms: Sms) -> bool:
        """Send a text to the consumer's phone on file through the configured sender; False when
        they have no phone. A provider's permanent refusal is ``SmsRejected`` (not retried)."""
        async with self.sessionmaker() as session:
            phone = await session.scalar(select(Consumer.phone).where(Consumer.id == sms.consumer_id))
        if not phone:
            activity.logger.warning("SMS %s not sent: the consumer has no phone on file", sms.key)
            return False
        try:
            return await self.sms.send(phone, sms.body, sms.key)
        except SmsRejected as exc:
            raise ApplicationError(str(exc), type="SmsRejected", non_retryable=True) from None
