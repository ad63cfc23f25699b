"""The Consumers module's service layer: the only door to consumer data for the JSON router and
the UI pages alike.

Functions take keyword-only arguments and a session, flush but never commit (the caller commits
once), and raise :class:`api.errors.Problem` for anything a caller can act on. The pure rules
(compliance, health score, VIP, reading anomalies) live in ``domain.consumers``; this module only
gathers their inputs.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.consumers import schemas
from api.consumers.documents import StoredFile
from api.errors import Problem
from api.pagination import Page
from api.params import is_db_id
from db import audit, search
from db.models import (
    BillingAccount,
    Communication,
    Consumer,
    ConsumerTotal,
    Document,
    Meter,
    MeterAssignment,
    MeterReading,
    Payment,
    Plan,
    ServiceOrder,
    ServiceRequest,
    UtilityService,
)
from domain.consumers.compliance import PaymentRecord, late_payments, payment_compliance
from domain.consumers.health import HealthInputs, VipRule, completed_months, health_score, is_vip
from domain.consumers.readings import (
    Anomaly,
    AnomalyKind,
    Reading,
    average_monthly_usage,
    find_anomalies,
)
from domain.consumers.types import (
    BillingCycle,
    ConsumerStatus,
    DocumentStatus,
    MeterStatus,
    PaymentStatus,
    ReadingStatus,
    ServiceOrderStatus,
    UtilityType,
    VerificationStatus,
)
from domain.request.types import (
    OPEN_STATUSES,
    Channel,
    Direction,
    RequestStatus,
    RequestType,
    SlaState,
    Visibility,
)

DEFAULT_VIP_RULE = VipRule()
"""The VIP rule the API applies; callers may pass their own ``vip_rule``."""

RESPONSE_WINDOW = timedelta(days=2)
"""A customer-initiated contact counts as answered by a contact to the customer within this."""

ESTIMATE_SPREAD = Decimal("0.15")
"""The next bill estimate is the expected amount ± this fraction."""

USAGE_PERIODS = 12
"""Average monthly usage is taken over at most this many latest reading periods."""

CYCLE_MONTHS = {BillingCycle.MONTHLY: 1, BillingCycle.QUARTERLY: 3}

_CENTS = Decimal("0.01")
_TENTH = Decimal("0.1")
_HUNDRED = Decimal(100)
_VALUE_ANOMALIES = (AnomalyKind.REGRESSION, AnomalyKind.SPIKE, AnomalyKind.DROP)
_ORDER_STEPS = {
    ServiceOrderStatus.SCHEDULED: 0,
    ServiceOrderStatus.IN_PROGRESS: 1,
    ServiceOrderStatus.COMPLETED: 2,
}


def today_utc() -> date:
    return datetime.now(UTC).date()


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENTS, rounding=ROUND_HALF_UP)


def _percent(part: int, whole: int) -> Decimal:
    """part / whole × 100 to 1 decimal (half up); 0.0 when there is no whole."""
    if whole == 0:
        return Decimal("0.0")
    return (Decimal(part) * _HUNDRED / Decimal(whole)).quantize(_TENTH, rounding=ROUND_HALF_UP)


def _not_found(detail: str) -> Problem:
    return Problem(404, detail, type_="/problems/not-found")


# ---- dashboard and search -------------------------------------------------------------------------


async def dashboard(*, session: AsyncSession) -> schemas.ConsumerDashboard:
    """Account counts per status (with percentages of the total) and the total balance, from the
    running totals the database keeps (one row per status, whatever the number of consumers)."""
    counts = {status: 0 for status in ConsumerStatus}
    cents = 0
    for kept in await session.scalars(select(ConsumerTotal)):  # kept by triggers: no scan
        counts[kept.status] = kept.n
        cents += kept.balance_cents
    total_balance = Decimal(cents) / 100
    total = sum(counts.values())

    def share(status: ConsumerStatus) -> schemas.StatusCount:
        return schemas.StatusCount(count=counts[status], percentage=_percent(counts[status], total))

    return schemas.ConsumerDashboard(
        total_accounts=total,
        active=share(ConsumerStatus.ACTIVE),
        inactive=share(ConsumerStatus.INACTIVE),
        temporarily_disconnected=share(ConsumerStatus.TEMPORARILY_DISCONNECTED),
        total_balance=_cents(total_balance),
        by_status=[
            schemas.StatusBreakdown(status=s, count=counts[s], percentage=_percent(counts[s], total))
            for s in ConsumerStatus
        ],
    )


async def search_consumers(
    *,
    session: AsyncSession,
    q: str | None = None,
    status: ConsumerStatus | None = None,
    page: int = 1,
    size: int = 20,
) -> Page[schemas.ConsumerRow]:
    """Consumers whose first or last name or account number contains each word of ``q``
    (case-insensitive; words of 1–2 characters match the start), optionally of one ``status``;
    ordered by last name, first name; with the total.

    "john doe" finds John Doe; "wu-1000" and "10001" find WU-10001; "do" finds Doe, not Guidotti.
    """
    dialect = session.get_bind().dialect.name
    text = search.consumer_condition(q, dialect)
    conditions = [c for c in (text, None if status is None else Consumer.status == status) if c is not None]
    by_name = (Consumer.last_name, Consumer.first_name, Consumer.id)
    offset = (page - 1) * size

    async def count() -> int:
        return await session.scalar(select(func.count()).select_from(Consumer).where(*conditions)) or 0

    found: Sequence[Any] | None = None
    if text is not None and dialect == "sqlite":
        # SQLite: one pass over the matches (from the trigram table, or a scan for short words)
        # yields the page and its total (a window count).
        found = (
            await session.execute(
                select(Consumer, func.count().over())
                .where(*conditions)
                .order_by(*by_name)
                .offset(offset)
                .limit(size)
            )
        ).all()
    elif text is not None and search.is_selective(q):
        # PostgreSQL, a word of 3+ characters: the trigram index finds the matches (a few
        # thousand at most); sort their keys and count them in one pass (a window), then read
        # the page's rows. Walking the name index filtering row by row took 130 ms.
        keys = (func.lower(Consumer.last_name), func.lower(Consumer.first_name))
        matched = (
            select(Consumer.id, keys[0].label("last"), keys[1].label("first"))
            .where(*conditions)
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
        page_ids = (
            select(matched.c.id, func.count().over().label("total"))
            .order_by(matched.c.last, matched.c.first, matched.c.id)
            .offset(offset)
            .limit(size)
            .subquery()
        )
        found = (
            await session.execute(
                select(Consumer, page_ids.c.total)
                .join(page_ids, page_ids.c.id == Consumer.id)
                .order_by(*keys, Consumer.id)
            )
        ).all()
    else:
        # PostgreSQL, short words only (thousands match) or none: walk the name index.
        total = await count()
        rows = list(
            await session.scalars(
                select(Consumer).where(*conditions).order_by(*by_name).offset(offset).limit(size)
            )
        )
    if found is not None:  # a window counted the matches (a page past the end: count them)
        rows = [row for row, _ in found]
        total = found[0][1] if found else (await count() if page > 1 else 0)
    return Page[schemas.ConsumerRow](
        items=[schemas.ConsumerRow.model_validate(row) for row in rows], total=total, page=page, size=size
    )


async def by_account_number(session: AsyncSession, account_number: str) -> Consumer | None:
    """The consumer with this account number in any case (the exact spelling first: it is indexed)."""
    account_number = account_number.strip()
    consumer = await session.scalar(select(Consumer).where(Consumer.account_number == account_number))
    if consumer is None:
        consumer = await session.scalar(
            select(Consumer).where(func.lower(Consumer.account_number) == account_number.lower())
        )
    return consumer


async def get_consumer(*, session: AsyncSession, key: str) -> Consumer:
    """The consumer with id ``key`` (all digits) or account number ``key`` (any case); 404 otherwise."""
    key = key.strip()
    consumer = (
        await session.get(Consumer, int(key)) if is_db_id(key) else await by_account_number(session, key)
    )
    if consumer is None:
        raise _not_found(f"No consumer with ID or account number '{key}'.")
    return consumer


# ---- profile lock and contact edits ----------------------------------------------------------------


def profile_locked(consumer: Consumer, request_id: str) -> Problem:
    return Problem(
        423,
        f"Profile {consumer.account_number} is locked by open request {request_id}; "
        "edit it after the request is completed or closed.",
        type_="/problems/profile-locked",
        request_id=request_id,
        account_number=consumer.account_number,
    )


async def update_contact(
    *, session: AsyncSession, consumer: Consumer, changes: schemas.ConsumerUpdate, actor: str
) -> Consumer:
    """Apply the given contact fields (names, phone, e-mail, service address), recording who changed
    what (old → new) in the consumer's communications.

    Refuses (423, naming the request) while an open request holds the profile lock. The write is
    a guarded UPDATE (``WHERE locked_by_request IS NULL``), so a lock taken a moment earlier by a
    request's activity is never overwritten.
    """
    if consumer.locked_by_request:
        raise profile_locked(consumer, consumer.locked_by_request)
    values = changes.model_dump(exclude_unset=True)
    before = {name: getattr(consumer, name) for name in values}
    values = {name: value for name, value in values.items() if value != before[name]}
    if not values:
        return consumer
    result = await session.execute(
        update(Consumer)
        .where(Consumer.id == consumer.id, Consumer.locked_by_request.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(consumer)
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise profile_locked(consumer, consumer.locked_by_request or "(unknown)")
    changed = "; ".join(
        f"{name.replace('_', ' ')}: {before[name] or '—'} → {value or '—'}" for name, value in values.items()
    )
    _record_change(session, consumer, actor, "Contact details changed", changed)
    await audit.record(
        session, object_type="consumer", object_id=consumer.id, action="update",
        changes={name: [before[name], value] for name, value in values.items()},
    )  # fmt: skip
    return consumer


def _record_change(session: AsyncSession, consumer: Consumer, actor: str, subject: str, body: str) -> None:
    """An internal system entry in the consumer's communications: who changed what on the account."""
    session.add(
        Communication(
            consumer_id=consumer.id, channel=Channel.SYSTEM, direction=Direction.INTERNAL,
            visibility=Visibility.INTERNAL, subject=subject, body=body, author=actor,
            created_at=datetime.now(UTC),
        )
    )  # fmt: skip


# ---- health score, compliance, VIP ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Standing:
    """What the profile and the overview derive from a consumer's history."""

    payments: list[PaymentRecord]
    compliance: Decimal | None
    health: schemas.HealthRead
    requests: Sequence[ServiceRequest]


def _answered(from_customer: Sequence[datetime], to_customer: Sequence[datetime]) -> int:
    """Customer-initiated contacts followed by a contact to the customer within two days."""
    replies = sorted(to_customer)
    answered = 0
    for asked in from_customer:
        i = bisect.bisect_left(replies, asked)
        if i < len(replies) and replies[i] <= asked + RESPONSE_WINDOW:
            answered += 1
    return answered


async def _payment_records(session: AsyncSession, consumer_id: int) -> list[PaymentRecord]:
    """The consumer's payments as the compliance rules see them, oldest due first."""
    rows = (
        await session.execute(
            select(Payment.due_date, Payment.paid_on, Payment.amount, Payment.status)
            .where(Payment.consumer_id == consumer_id)
            .order_by(Payment.due_date, Payment.id)
        )
    ).all()
    return [
        PaymentRecord(due_date=due, paid_on=paid, amount=amount, status=PaymentStatus(status))
        for due, paid, amount, status in rows
    ]


async def _standing(session: AsyncSession, consumer: Consumer, today: date) -> _Standing:
    cid = consumer.id
    payments = await _payment_records(session, cid)
    due = [p for p in payments if p.is_due(today)]
    compliance = payment_compliance(payments, today=today)

    requests = (await session.scalars(select(ServiceRequest).where(ServiceRequest.consumer_id == cid))).all()
    orders = (
        await session.execute(
            select(ServiceOrder.status, func.count())
            .where(ServiceOrder.consumer_id == cid)
            .group_by(ServiceOrder.status)
        )
    ).all()
    contacts = (
        await session.execute(
            select(Communication.direction, Communication.created_at).where(
                Communication.consumer_id == cid,
                Communication.direction.in_([Direction.FROM_CUSTOMER, Direction.TO_CUSTOMER]),
            )
        )
    ).all()
    from_customer = [at for direction, at in contacts if direction == Direction.FROM_CUSTOMER]
    to_customer = [at for direction, at in contacts if direction == Direction.TO_CUSTOMER]

    facts = schemas.HealthFacts(
        payments_due=len(due),
        payments_on_time=sum(1 for p in due if p.is_on_time()),
        late_payments=late_payments(payments, today=today),
        requests_total=len(requests),
        requests_resolved_within_sla=sum(1 for r in requests if r.resolution_state == SlaState.MET),
        service_orders_total=sum(count for _, count in orders),
        service_orders_completed=sum(
            count for status, count in orders if status == ServiceOrderStatus.COMPLETED
        ),
        communications_from_customer=len(from_customer),
        communications_answered=_answered(from_customer, to_customer),
        complaints_total=0,  # the model has no complaints yet
        complaints_resolved=0,
        unresolved_complaints=0,
        disconnections=sum(
            1
            for r in requests
            if r.request_type == RequestType.DISCONNECTION and r.status == RequestStatus.COMPLETED
        ),
        fraud_flag=consumer.fraud_flag,
        portal_enrolled=consumer.portal_enrolled,
        paperless_billing=consumer.paperless_billing,
    )
    score = health_score(
        HealthInputs(
            customer_since=consumer.customer_since,
            payment_compliance=compliance,
            **facts.model_dump(exclude={"payments_due", "payments_on_time"}),
        ),
        today=today,
    )
    health = schemas.HealthRead(
        score=score.score,
        band=score.band,
        weighted=_cents(score.weighted),
        total_penalty=score.total_penalty,
        components=schemas.HealthComponents(**{k: _cents(v) for k, v in score.components.items()}),
        penalties=schemas.HealthPenalties(**score.penalties),
        facts=facts,
    )
    return _Standing(payments, compliance, health, requests)


async def average_monthly_bill(
    *, session: AsyncSession, consumer: Consumer, payments: Sequence[PaymentRecord], today: date
) -> Decimal:
    """Mean amount of the last 12 bills due, per month (a quarterly bill covers three); 0 with none."""
    recent = [p.amount for p in payments if p.is_due(today)][-12:]
    if not recent:
        return Decimal(0)
    cycle = await session.scalar(
        select(BillingAccount.billing_cycle)
        .where(BillingAccount.consumer_id == consumer.id)
        .order_by(BillingAccount.active.desc(), BillingAccount.id.desc())
        .limit(1)
    )
    months = CYCLE_MONTHS[BillingCycle(cycle)] if cycle else 1
    return _cents(sum(recent, Decimal(0)) / len(recent) / months)


async def relationship_health(
    *, session: AsyncSession, consumer: Consumer, today: date | None = None
) -> schemas.HealthRead:
    """The consumer's Relationship Health Score with its components, penalties and the facts behind them.

    Inputs: payments (compliance, late payments); requests resolved within SLA (resolution Met)
    of all requests; service orders completed of all; customer contacts answered within two days;
    completed Disconnection requests; the fraud, portal and paperless flags. No complaints model
    yet, so complaints count 0.
    """
    return (await _standing(session, consumer, today or today_utc())).health


def vip_status(
    consumer: Consumer, *, health: int, average_monthly_bill: Decimal, today: date, rule: VipRule
) -> schemas.VipReason | None:
    """Why the consumer wears the VIP crown (stored flag first, then the rule), or None."""
    if consumer.is_vip:
        return schemas.VipReason.FLAGGED
    years = completed_months(consumer.customer_since, today=today) / 12
    if not is_vip(
        rule,
        category=consumer.category,
        average_monthly_bill=average_monthly_bill,
        health_score=health,
        years=years,
    ):
        return None
    high_value = (
        rule.min_average_monthly_bill is not None
        and consumer.category in rule.categories
        and average_monthly_bill >= rule.min_average_monthly_bill
    )
    return schemas.VipReason.HIGH_VALUE if high_value else schemas.VipReason.LOYAL_AND_HEALTHY


# ---- profile header -----------------------------------------------------------------------------------


def live_sla(request: ServiceRequest, now: datetime) -> SlaState:
    """The request's overall SLA state, counting a clock past due and unmet as Breached even before
    the workflow's timer has written it."""
    clocks = (
        (request.ack_state, request.ack_due_at, request.acknowledged_at),
        (request.response_state, request.response_due_at, request.first_response_at),
        (request.resolution_state, request.resolution_due_at, request.resolved_at),
    )
    if request.status in OPEN_STATUSES and any(
        state == SlaState.BREACHED or (met is None and state != SlaState.MET and now >= due)
        for state, due, met in clocks
    ):
        return SlaState.BREACHED
    return request.sla_status


def _breached_targets(request: ServiceRequest, now: datetime) -> list[str]:
    clocks = (
        ("acknowledgement", request.ack_state, request.ack_due_at, request.acknowledged_at),
        ("response", request.response_state, request.response_due_at, request.first_response_at),
        ("resolution", request.resolution_state, request.resolution_due_at, request.resolved_at),
    )
    return [
        name
        for name, state, due, met in clocks
        if state == SlaState.BREACHED or (met is None and state != SlaState.MET and now >= due)
    ]


def _open_request(requests: Sequence[ServiceRequest]) -> ServiceRequest | None:
    return max((r for r in requests if r.status in OPEN_STATUSES), key=lambda r: r.created_at, default=None)


def _money(value: Decimal) -> str:
    return f"{_cents(value):,.2f}"


async def _alerts(
    session: AsyncSession,
    consumer: Consumer,
    standing: _Standing,
    meters: list[schemas.MeterConnection],
    today: date,
    now: datetime,
) -> list[schemas.Alert]:
    """The header's alerts, from what the header has loaded already (one query of its own)."""
    alerts: list[schemas.Alert] = []
    request = _open_request(standing.requests)
    if request is not None:
        alerts.append(
            schemas.Alert(
                kind=schemas.AlertKind.OPEN_REQUEST,
                severity="info",
                message=f"Open {request.request_type.value} request {request.request_id} "
                f"({request.status.value}); the profile is locked until it is completed or closed.",
                request_id=request.request_id,
            )
        )
        if breached := _breached_targets(request, now):
            alerts.append(
                schemas.Alert(
                    kind=schemas.AlertKind.SLA_BREACH,
                    severity="critical",
                    message=f"Request {request.request_id} has breached its {' and '.join(breached)} SLA.",
                    request_id=request.request_id,
                )
            )
    elif consumer.locked_by_request:
        alerts.append(
            schemas.Alert(
                kind=schemas.AlertKind.OPEN_REQUEST,
                severity="info",
                message=f"The profile is locked by request {consumer.locked_by_request}.",
                request_id=consumer.locked_by_request,
            )
        )

    overdue = [p for p in standing.payments if p.due_date < today and p.status != PaymentStatus.PROCESSED]
    overdue_count = len(overdue)
    overdue_amount = sum((p.amount for p in overdue), Decimal(0))
    oldest = min((p.due_date for p in overdue), default=today)
    if overdue_count:
        amount = _cents(Decimal(str(overdue_amount)))
        plural = "payment is" if overdue_count == 1 else "payments are"
        alerts.append(
            schemas.Alert(
                kind=schemas.AlertKind.OVERDUE_BALANCE,
                severity="warning",
                message=f"{overdue_count} {plural} past due and unpaid: {_money(amount)} in total, "
                f"the oldest due {oldest.isoformat()}.",
                amount=amount,
                count=overdue_count,
            )
        )

    unverified = (
        await session.scalar(
            select(func.count()).where(
                MeterReading.consumer_id == consumer.id,
                MeterReading.verification_status == VerificationStatus.PENDING,
            )
        )
        or 0
    )
    if unverified:
        alerts.append(
            schemas.Alert(
                kind=schemas.AlertKind.UNVERIFIED_READINGS,
                severity="warning",
                message=f"{unverified} meter reading{'s are' if unverified > 1 else ' is'} pending "
                "verification; validate before relying on them.",
                count=unverified,
            )
        )

    for meter in meters:
        flagged = [
            (reading, anomaly)
            for reading in meter.readings
            for anomaly in reading.anomalies
            if anomaly.kind in _VALUE_ANOMALIES
        ]
        if flagged:
            reading, latest = flagged[-1]
            more = f" ({len(flagged)} anomalies in all)" if len(flagged) > 1 else ""
            alerts.append(
                schemas.Alert(
                    kind=schemas.AlertKind.METER_ANOMALY,
                    severity="warning",
                    message=f"Meter {meter.meter_number}: {latest.kind.value} on "
                    f"{reading.reading_date.isoformat()}{more}. {latest.why}",
                    meter_number=meter.meter_number,
                    count=len(flagged),
                )
            )
    return alerts


async def profile(
    *,
    session: AsyncSession,
    consumer: Consumer,
    today: date | None = None,
    now: datetime | None = None,
    vip_rule: VipRule = DEFAULT_VIP_RULE,
) -> schemas.ConsumerProfile:
    """The profile header: account, name, status, VIP crown (stored flag or ``vip_rule``), balance,
    last billing date, the profile lock, and alerts (open request, SLA breach, overdue balance,
    unverified readings, meter anomalies)."""
    now = now or datetime.now(UTC)
    today = today or now.date()
    standing = await _standing(session, consumer, today)
    meters = await _meter_connections(session, consumer.id)
    return await _header(session, consumer, standing, meters, today, now, vip_rule)


async def _header(
    session: AsyncSession,
    consumer: Consumer,
    standing: _Standing,
    meters: list[schemas.MeterConnection],
    today: date,
    now: datetime,
    vip_rule: VipRule,
) -> schemas.ConsumerProfile:
    vip = vip_status(
        consumer,
        health=standing.health.score,
        average_monthly_bill=await average_monthly_bill(
            session=session, consumer=consumer, payments=standing.payments, today=today
        ),
        today=today,
        rule=vip_rule,
    )
    return schemas.ConsumerProfile(
        id=consumer.id,
        account_number=consumer.account_number,
        first_name=consumer.first_name,
        last_name=consumer.last_name,
        full_name=consumer.full_name,
        status=consumer.status,
        category=consumer.category,
        is_vip=vip is not None,
        vip_reason=vip,
        balance=consumer.balance,
        last_billing_date=consumer.last_billing_date,
        locked_by_request=consumer.locked_by_request,
        alerts=await _alerts(session, consumer, standing, meters, today, now),
    )


async def full_profile(
    *,
    session: AsyncSession,
    consumer: Consumer,
    now: datetime | None = None,
    vip_rule: VipRule = DEFAULT_VIP_RULE,
) -> schemas.ConsumerFullProfile:
    """The header and every tab (the first page of the paginated ones) in one answer, for a first
    paint or an export: the standing (payments, requests, health) and the meters read once for all."""
    now = now or datetime.now(UTC)
    today = now.date()
    standing = await _standing(session, consumer, today)
    meters = await _meter_connections(session, consumer.id)
    return schemas.ConsumerFullProfile(
        profile=await _header(session, consumer, standing, meters, today, now, vip_rule),
        overview=_overview(consumer, standing),
        connections=schemas.ConsumerConnections(meters=meters),
        financial=await financial(session=session, consumer=consumer, today=today, records=standing.payments),
        service=await service_history(
            session=session, consumer=consumer, now=now, requests=standing.requests
        ),
        communications=await communications(session=session, consumer=consumer),
        documents=[
            schemas.DocumentRead.model_validate(d)
            for d in await list_documents(session=session, consumer=consumer)
        ],
    )


# ---- overview tab -------------------------------------------------------------------------------------


async def overview(
    *, session: AsyncSession, consumer: Consumer, today: date | None = None
) -> schemas.ConsumerOverview:
    """Contact, service address, category, customer since, health score and payment compliance."""
    return _overview(consumer, await _standing(session, consumer, today or today_utc()))


def _overview(consumer: Consumer, standing: _Standing) -> schemas.ConsumerOverview:
    return schemas.ConsumerOverview(
        id=consumer.id,
        account_number=consumer.account_number,
        full_name=consumer.full_name,
        phone=consumer.phone,
        email=consumer.email,
        service_address=consumer.service_address,
        category=consumer.category,
        sub_category=consumer.sub_category,
        customer_since=consumer.customer_since,
        portal_enrolled=consumer.portal_enrolled,
        paperless_billing=consumer.paperless_billing,
        payment_compliance=standing.compliance,
        health=standing.health,
    )


# ---- connections tab ----------------------------------------------------------------------------------


async def _units(session: AsyncSession) -> dict[UtilityType, str]:
    return {
        UtilityType(code): unit
        for code, unit in (await session.execute(select(UtilityService.code, UtilityService.unit))).all()
    }


def _reading_rows(
    readings: list[Reading], anomalies: list[Anomaly], previous: Reading | None
) -> list[schemas.ReadingRead]:
    """``readings`` as rows; ``previous`` is the reading just before the first one (if any)."""
    by_date: dict[date, list[schemas.AnomalyRead]] = defaultdict(list)
    for anomaly in anomalies:
        by_date[anomaly.reading_date].append(schemas.AnomalyRead(kind=anomaly.kind, why=anomaly.why))
    rows: list[schemas.ReadingRead] = []
    for reading in readings:
        rows.append(
            schemas.ReadingRead(
                reading_date=reading.reading_date,
                value=reading.value,
                verification_status=reading.verification,
                # a regression (value below the previous reading) measures a misread, not consumption
                consumption=None
                if previous is None or reading.value < previous.value
                else reading.value - previous.value,
                anomalies=by_date.get(reading.reading_date, []),
            )
        )
        previous = reading
    return rows


async def _meter_connections(
    session: AsyncSession, consumer_id: int, readings_per_meter: int = 24
) -> list[schemas.MeterConnection]:
    """Every meter that serves or served the consumer (current first), with the consumer's readings."""
    assignments = (
        await session.execute(
            select(MeterAssignment, Meter)
            .join(Meter, Meter.id == MeterAssignment.meter_id)
            .where(MeterAssignment.consumer_id == consumer_id)
            .order_by(MeterAssignment.assigned_on.desc(), MeterAssignment.id.desc())
        )
    ).all()
    latest: dict[int, tuple[MeterAssignment, Meter]] = {}
    for assignment, meter in assignments:
        latest.setdefault(meter.id, (assignment, meter))  # one line per meter: its latest assignment
    if not latest:
        return []
    readings: dict[int, list[Reading]] = defaultdict(list)
    for meter_id, reading_date, value, verification in (
        await session.execute(
            select(
                MeterReading.meter_id,
                MeterReading.reading_date,
                MeterReading.value,
                MeterReading.verification_status,
            )
            .where(MeterReading.consumer_id == consumer_id, MeterReading.meter_id.in_(latest))
            .order_by(MeterReading.meter_id, MeterReading.reading_date)
        )
    ).all():
        readings[meter_id].append(Reading(reading_date, value, VerificationStatus(verification)))
    units = await _units(session)
    connections: list[schemas.MeterConnection] = []
    for meter_id, (assignment, meter) in sorted(
        latest.items(), key=lambda item: (item[1][0].unassigned_on is not None, item[1][1].meter_number)
    ):
        history = readings.get(meter_id, [])
        anomalies = find_anomalies(history)
        cut = max(0, len(history) - readings_per_meter)
        shown = history[cut:]
        shown_from = shown[0].reading_date if shown else None
        connections.append(
            schemas.MeterConnection(
                meter_number=meter.meter_number,
                device_number=meter.device_number,
                utility=meter.utility,
                unit=units.get(UtilityType(meter.utility), ""),
                meter_type=meter.meter_type,
                model=meter.model,
                installation_date=meter.installation_date,
                assigned_on=assignment.assigned_on,
                unassigned_on=assignment.unassigned_on,
                reading_status=ReadingStatus.of(MeterStatus(meter.status), assignment.unassigned_on is None),
                last_reading=meter.last_reading,
                last_reading_date=meter.last_reading_date,
                average_monthly_usage=average_monthly_usage(history[-(USAGE_PERIODS + 1) :]),
                anomaly_count=sum(1 for a in anomalies if a.kind in _VALUE_ANOMALIES),
                readings=_reading_rows(
                    shown,
                    [a for a in anomalies if shown_from is not None and a.reading_date >= shown_from],
                    history[cut - 1] if cut else None,
                ),
            )
        )
    return connections


async def connections(
    *, session: AsyncSession, consumer: Consumer, readings_per_meter: int = 24
) -> schemas.ConsumerConnections:
    """Meters (number, device, type, model, dates, reading status, last reading) and each meter's
    latest ``readings_per_meter`` readings with verification status, consumption and anomalies."""
    return schemas.ConsumerConnections(
        meters=await _meter_connections(session, consumer.id, readings_per_meter)
    )


# ---- financial tab ------------------------------------------------------------------------------------


def _rate(rates: dict[str, Any], utility: UtilityType) -> Decimal | None:
    """The plan's price per unit for ``utility`` (a ``<utility>_per_<unit>`` key), if any."""
    for key, value in rates.items():
        if key.startswith(f"{utility.value}_per_"):
            return Decimal(str(value))
    return None


def _flat(rates: dict[str, Any]) -> Decimal:
    """Flat monthly charges on the plan (``<utility>_flat_monthly`` keys)."""
    return sum((Decimal(str(v)) for k, v in rates.items() if k.endswith("_flat_monthly")), Decimal(0))


async def billing_overview(*, session: AsyncSession, consumer: Consumer) -> schemas.BillingOverview:
    """Rate plan, cycle, payment method and next bill date of the active billing account; average
    monthly usage per utility over the current meters; the next bill estimate; the outstanding amount.

    Estimate per month = plan monthly fee + flat charges + Σ usage × rate; times the months in the
    billing cycle; shown as a range ± 15 %. No active billing account → no plan and no estimate.
    """
    row = (
        await session.execute(
            select(BillingAccount, Plan)
            .join(Plan, Plan.id == BillingAccount.plan_id)
            .where(BillingAccount.consumer_id == consumer.id, BillingAccount.active.is_(True))
            .limit(1)
        )
    ).first()
    account, plan = (row[0], row[1]) if row is not None else (None, None)
    rates: dict[str, Any] = dict(plan.rates or {}) if plan is not None else {}
    usage_by_utility: dict[UtilityType, Decimal] = {}
    units: dict[UtilityType, str] = {}
    for meter in await _meter_connections(session, consumer.id):
        if meter.unassigned_on is None and meter.average_monthly_usage is not None:
            usage_by_utility[meter.utility] = (
                usage_by_utility.get(meter.utility, Decimal(0)) + meter.average_monthly_usage
            )
            units[meter.utility] = meter.unit
    usage = [
        schemas.UsageRead(utility=u, unit=units[u], average_monthly_usage=amount, rate=_rate(rates, u))
        for u, amount in sorted(usage_by_utility.items())
    ]
    estimate = None
    if account is not None and plan is not None:
        monthly = plan.monthly_fee + _flat(rates)
        monthly += sum((u.average_monthly_usage * u.rate for u in usage if u.rate is not None), Decimal(0))
        expected = _cents(monthly * CYCLE_MONTHS[account.billing_cycle])
        estimate = schemas.BillEstimate(
            low=_cents(expected * (1 - ESTIMATE_SPREAD)),
            high=_cents(expected * (1 + ESTIMATE_SPREAD)),
            expected=expected,
        )
    return schemas.BillingOverview(
        rate_plan=plan.name if plan else None,
        rate_plan_code=plan.short_name if plan else None,
        billing_cycle=account.billing_cycle if account else None,
        payment_method=account.payment_mode if account else None,
        next_bill_date=account.next_bill_date if account else None,
        usage=usage,
        next_bill_estimate=estimate,
        outstanding_amount=consumer.balance,
    )


async def payment_history(
    *, session: AsyncSession, consumer: Consumer, page: int = 1, size: int = 20
) -> Page[schemas.PaymentRead]:
    """The consumer's payments, most recent first (by due date), with the total."""
    total = await session.scalar(select(func.count()).where(Payment.consumer_id == consumer.id)) or 0
    rows = await session.scalars(
        select(Payment)
        .where(Payment.consumer_id == consumer.id)
        .order_by(Payment.due_date.desc(), Payment.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    )
    return Page[schemas.PaymentRead](
        items=[schemas.PaymentRead.model_validate(r) for r in rows], total=total, page=page, size=size
    )


async def financial(
    *,
    session: AsyncSession,
    consumer: Consumer,
    page: int = 1,
    size: int = 20,
    today: date | None = None,
    records: list[PaymentRecord] | None = None,
) -> schemas.ConsumerFinancial:
    """The Financial tab: payment history page, payment compliance and the billing overview
    (``records``: the consumer's payment records, when the caller has them already)."""
    if records is None:
        records = await _payment_records(session, consumer.id)
    return schemas.ConsumerFinancial(
        payment_compliance=payment_compliance(records, today=today or today_utc()),
        billing=await billing_overview(session=session, consumer=consumer),
        payments=await payment_history(session=session, consumer=consumer, page=page, size=size),
    )


# ---- service tab --------------------------------------------------------------------------------------


async def service_history(
    *,
    session: AsyncSession,
    consumer: Consumer,
    now: datetime | None = None,
    requests: Sequence[ServiceRequest] | None = None,
) -> schemas.ConsumerService:
    """The consumer's service orders and requests, newest first (request SLA status live);
    ``requests``: all of the consumer's requests, when the caller has them already."""
    now = now or datetime.now(UTC)
    orders = await session.scalars(
        select(ServiceOrder)
        .where(ServiceOrder.consumer_id == consumer.id)
        .order_by(ServiceOrder.created_at.desc(), ServiceOrder.id.desc())
    )
    if requests is None:
        requests = (
            await session.scalars(select(ServiceRequest).where(ServiceRequest.consumer_id == consumer.id))
        ).all()
    requests = sorted(requests, key=lambda r: (r.created_at, r.id), reverse=True)
    return schemas.ConsumerService(
        service_orders=[schemas.ServiceOrderRead.model_validate(o) for o in orders],
        requests=[
            schemas.ConsumerRequestRow(
                request_id=r.request_id,
                request_type=r.request_type,
                status=r.status,
                priority=r.priority,
                created_at=r.created_at,
                sla_status=live_sla(r, now),
                resolved_at=r.resolved_at,
            )
            for r in requests
        ],
    )


async def create_service_order(
    *,
    session: AsyncSession,
    consumer: Consumer,
    order: schemas.ServiceOrderCreate,
    actor: str,
    now: datetime | None = None,
) -> ServiceOrder:
    """Raise a Scheduled service order numbered ``SO-{id + 100000}`` (as the request workflow does),
    recording who raised it in the consumer's communications."""
    row = ServiceOrder(
        order_number=f"~{uuid.uuid4().hex[:18]}",  # replaced below, once the id is known
        consumer_id=consumer.id,
        service_type=order.service_type,
        description=order.description,
        status=ServiceOrderStatus.SCHEDULED,
        technician=order.technician,
        scheduled_date=order.scheduled_date,
        created_at=now or datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    # Numbered from the row's own id: unique without a counter table or a race.
    row.order_number = f"SO-{row.id + 100000}"
    _record_change(
        session, consumer, actor, f"Service order {row.order_number} created",
        f"{order.service_type.value}: {order.description}",
    )  # fmt: skip
    await session.flush()
    return row


async def update_service_order(
    *,
    session: AsyncSession,
    consumer: Consumer,
    order_number: str,
    changes: schemas.ServiceOrderUpdate,
    actor: str,
    now: datetime | None = None,
) -> ServiceOrder:
    """Move an order forward (Scheduled → In Progress → Completed; completion date set on
    completion) and/or set its technician, recording who did in the consumer's communications.

    Refuses with 404 an order of another consumer, and with 409 a step backwards or any change to a
    completed order.
    """
    row = await session.scalar(
        select(ServiceOrder).where(
            ServiceOrder.order_number == order_number.strip().upper(), ServiceOrder.consumer_id == consumer.id
        )
    )
    if row is None:
        raise _not_found(f"Consumer {consumer.account_number} has no service order {order_number}.")
    given = changes.model_fields_set
    target = changes.status if "status" in given and changes.status is not None else row.status
    technician = changes.technician if "technician" in given else row.technician
    if row.status == ServiceOrderStatus.COMPLETED and (target != row.status or technician != row.technician):
        raise Problem(
            409,
            f"{row.order_number} is Completed; a completed service order cannot change.",
            type_="/problems/invalid-transition",
            status_now=row.status.value,
        )
    if _ORDER_STEPS[target] < _ORDER_STEPS[row.status]:
        raise Problem(
            409,
            f"{row.order_number} cannot go back from {row.status.value} to {target.value}; "
            "service orders only move forward (Scheduled → In Progress → Completed).",
            type_="/problems/invalid-transition",
            status_now=row.status.value,
        )
    if target == ServiceOrderStatus.COMPLETED and row.status != ServiceOrderStatus.COMPLETED:
        row.completed_at = now or datetime.now(UTC)
    moves = [f"{row.status.value} → {target.value}"] if target != row.status else []
    if technician != row.technician:
        moves.append(f"technician: {row.technician or '—'} → {technician or '—'}")
    row.status = target
    row.technician = technician
    if moves:
        _record_change(
            session, consumer, actor, f"Service order {row.order_number} updated", "; ".join(moves)
        )
    await session.flush()
    return row


async def verify_reading(
    *, session: AsyncSession, consumer: Consumer, meter_number: str, reading_date: date, actor: str
) -> MeterReading:
    """Mark one of the consumer's readings verified (checked against the meter or the customer),
    recording who did in the consumer's communications. 404 for a reading not on this account."""
    row = await session.scalar(
        select(MeterReading)
        .join(Meter, Meter.id == MeterReading.meter_id)
        .where(
            Meter.meter_number == meter_number.strip().upper(),
            MeterReading.reading_date == reading_date,
            MeterReading.consumer_id == consumer.id,
        )
    )
    if row is None:
        raise _not_found(
            f"Consumer {consumer.account_number} has no reading of meter {meter_number} on {reading_date}."
        )
    if row.verification_status != VerificationStatus.VERIFIED:
        row.verification_status = VerificationStatus.VERIFIED
        _record_change(
            session, consumer, actor, f"Reading of meter {meter_number.strip().upper()} verified",
            f"{reading_date.isoformat()}: {row.value}",
        )  # fmt: skip
        await session.flush()
    return row


# ---- communications tab -------------------------------------------------------------------------------


async def communications(
    *,
    session: AsyncSession,
    consumer: Consumer,
    page: int = 1,
    size: int = 20,
    channel: Channel | None = None,
) -> Page[schemas.CommunicationRead]:
    """E-mails, calls, SMS, system notifications and notes, newest first, optionally of one channel."""
    conditions = [Communication.consumer_id == consumer.id]
    if channel is not None:
        conditions.append(Communication.channel == channel)
    total = await session.scalar(select(func.count()).select_from(Communication).where(*conditions)) or 0
    rows = await session.scalars(
        select(Communication)
        .where(*conditions)
        .order_by(Communication.created_at.desc(), Communication.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    )
    return Page[schemas.CommunicationRead](
        items=[schemas.CommunicationRead.model_validate(r) for r in rows], total=total, page=page, size=size
    )


async def add_note(
    *,
    session: AsyncSession,
    consumer: Consumer,
    note: schemas.NoteCreate,
    author: str,
    now: datetime | None = None,
) -> Communication:
    """A note on the consumer's account by ``author``, internal or visible to the consumer."""
    row = Communication(
        consumer_id=consumer.id,
        channel=Channel.NOTE,
        direction=Direction.INTERNAL,
        visibility=note.visibility,
        subject=None,
        body=note.text,
        author=author,
        created_at=now or datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    return row


# ---- documents tab ------------------------------------------------------------------------------------


async def list_documents(*, session: AsyncSession, consumer: Consumer) -> list[Document]:
    """The consumer's documents, newest first."""
    rows = await session.scalars(
        select(Document)
        .where(Document.consumer_id == consumer.id)
        .order_by(Document.uploaded_at.desc(), Document.id.desc())
    )
    return list(rows)


async def add_document(
    *,
    session: AsyncSession,
    consumer: Consumer,
    title: str,
    stored: StoredFile,
    uploaded_by: str,
    now: datetime | None = None,
) -> Document:
    """Record an uploaded file (already on disk as ``stored``); new documents are Processing."""
    row = Document(
        consumer_id=consumer.id,
        title=title,
        filename=stored.filename,
        stored_name=stored.stored_name,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        verification_status=DocumentStatus.PROCESSING,
        uploaded_by=uploaded_by,
        uploaded_at=now or datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    return row


async def get_document(*, session: AsyncSession, consumer: Consumer, document_id: int) -> Document:
    """One of the consumer's documents; 404 for an unknown one or another consumer's."""
    row = await session.scalar(
        select(Document).where(Document.id == document_id, Document.consumer_id == consumer.id)
    )
    if row is None:
        raise _not_found(f"Consumer {consumer.account_number} has no document {document_id}.")
    return row


_DOCUMENT_STEPS = {DocumentStatus.PROCESSING: 0, DocumentStatus.VERIFIED: 1, DocumentStatus.PUBLISHED: 2}


async def review_document(
    *, session: AsyncSession, consumer: Consumer, document_id: int, status: DocumentStatus, actor: str
) -> Document:
    """Move a document along its approval (Processing → Verified → Published; Verified may be
    skipped), recording who did in the consumer's communications. 409 for a step back."""
    row = await get_document(session=session, consumer=consumer, document_id=document_id)
    current = DocumentStatus(row.verification_status)
    if _DOCUMENT_STEPS[status] < _DOCUMENT_STEPS[current]:
        raise Problem(
            409,
            f"Document {row.id} is {current.value}; approval only moves forward "
            "(Processing → Verified → Published).",
            type_="/problems/invalid-transition",
            status_now=current.value,
        )
    if status is not current:
        row.verification_status = status
        _record_change(
            session,
            consumer,
            actor,
            f"Document “{row.title}” {status.value.lower()}",
            f"{current.value} → {status.value}",
        )
        await session.flush()
    return row
