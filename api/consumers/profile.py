"""The consumer's standing (payments, requests, health score, VIP) and what is read from it: the
profile header with its alerts, the Overview tab, and the whole profile in one answer.

**The VIP crown** is ``domain.consumers.health.vip_reason`` under the configured rule, and nothing
else. Lists read it from the stored ``consumers.is_vip`` (a column read keeps a search of 100,000
consumers one indexed query; computing a health score per row would not), so that flag is kept
equal to the rule: :func:`refresh_vip` after every API write that changes one of its inputs, the
profile's own read (which computes it anyway and corrects a stale flag), and :func:`refresh_all_vip`
— the nightly sweep for inputs that change with time alone (tenure, bills falling due) and the
backfill after a rule change (``python -m cli refresh-vip``).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.complaints.service import complaint_counts
from api.consumers import schemas
from api.consumers.accounts import cents, today_utc
from api.consumers.billing import average_monthly_bill, financial, payment_records
from api.consumers.communications import communications
from api.consumers.documents import list_documents
from api.consumers.meters import VALUE_ANOMALIES, meter_connections, standing_tampering
from api.consumers.service_orders import service_history
from db.models import Communication, Consumer, MeterReading, ServiceOrder, ServiceRequest
from domain.consumers.compliance import PaymentRecord, late_payments, payment_compliance
from domain.consumers.health import (
    HealthInputs,
    VipReason,
    VipRule,
    health_score,
    vip_reason,
    years_as_customer,
)
from domain.consumers.types import PaymentStatus, ServiceOrderStatus, VerificationStatus
from domain.request.sla import breached_targets
from domain.request.types import OPEN_STATUSES, Direction, RequestStatus, RequestType, SlaState

DEFAULT_VIP_RULE = VipRule()
"""The VIP rule the API applies; callers may pass their own ``vip_rule``."""

_VIP_CORRECTED = "vip_corrected"
"""``session.info`` key: a read of the profile set the stored VIP flag (flushed, not committed)."""

RESPONSE_WINDOW = timedelta(days=2)
"""A customer-initiated contact counts as answered by a contact to the customer within this."""


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


async def _standing(session: AsyncSession, consumer: Consumer, today: date) -> _Standing:
    cid = consumer.id
    payments = await payment_records(session, cid)
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
    complaints, resolved = await complaint_counts(session, cid)
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
        complaints_total=complaints,
        complaints_resolved=resolved,
        unresolved_complaints=complaints - resolved,
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
        weighted=cents(score.weighted),
        total_penalty=score.total_penalty,
        components=schemas.HealthComponents(**{k: cents(v) for k, v in score.components.items()}),
        penalties=schemas.HealthPenalties(**score.penalties),
        facts=facts,
    )
    return _Standing(payments, compliance, health, requests)


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


async def _vip(
    session: AsyncSession, consumer: Consumer, standing: _Standing, today: date, rule: VipRule
) -> VipReason | None:
    """The consumer's VIP reason under ``rule``; the stored flag the lists read is set to match."""
    reason = vip_reason(
        rule,
        category=consumer.category,
        average_monthly_bill=await average_monthly_bill(
            session=session, consumer=consumer, payments=standing.payments, today=today
        ),
        health_score=standing.health.score,
        years=years_as_customer(consumer.customer_since, today=today),
    )
    if consumer.is_vip != (reason is not None):
        consumer.is_vip = reason is not None  # audited like any change of the consumer
        session.info[_VIP_CORRECTED] = True
    return reason


async def refresh_vip(
    *, session: AsyncSession, consumer: Consumer, rule: VipRule, today: date | None = None
) -> VipReason | None:
    """Recompute the consumer's VIP crown under ``rule`` and keep the stored flag (what lists show)
    equal to it; call it after a write that changes an input of the rule. Flushes, never commits."""
    today = today or today_utc()
    reason = await _vip(session, consumer, await _standing(session, consumer, today), today, rule)
    await session.flush()
    return reason


async def refresh_all_vip(
    *, session: AsyncSession, rule: VipRule, today: date | None = None, batch: int = 500
) -> int:
    """Recompute every consumer's VIP crown under ``rule`` (the nightly sweep and the backfill),
    committing every ``batch`` consumers; returns how many flags changed."""
    today = today or today_utc()
    changed, after = 0, 0
    while True:
        consumers = (
            await session.scalars(
                select(Consumer).where(Consumer.id > after).order_by(Consumer.id).limit(batch)
            )
        ).all()
        if not consumers:
            return changed
        for consumer in consumers:
            before = consumer.is_vip
            await _vip(session, consumer, await _standing(session, consumer, today), today, rule)
            changed += consumer.is_vip != before
        after = consumers[-1].id
        await session.commit()
        session.info.pop(_VIP_CORRECTED, None)
        session.expunge_all()


def _open_request(requests: Sequence[ServiceRequest]) -> ServiceRequest | None:
    return max((r for r in requests if r.status in OPEN_STATUSES), key=lambda r: r.created_at, default=None)


def _money(value: Decimal) -> str:
    return f"{cents(value):,.2f}"


async def _alerts(
    session: AsyncSession,
    consumer: Consumer,
    standing: _Standing,
    meters: list[schemas.MeterConnection],
    suspected: list[schemas.TamperingRead],
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
        if breached := breached_targets(request, now):
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
        amount = cents(Decimal(str(overdue_amount)))
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

    if suspected:
        listed = "; ".join(
            f"meter {t.meter_number} reading of {t.reading_date.isoformat()} (marked by {t.marked_by})"
            for t in suspected
        )
        alerts.append(
            schemas.Alert(
                kind=schemas.AlertKind.SUSPECTED_TAMPERING,
                severity="critical",
                message=f"Suspected tampering: {listed}. Stands until a supervisor clears it.",
                count=len(suspected),
            )
        )

    for meter in meters:
        flagged = [
            (reading, anomaly)
            for reading in meter.readings
            for anomaly in reading.anomalies
            if anomaly.kind in VALUE_ANOMALIES
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
    """The profile header: account, name, status, VIP crown (``vip_rule``; a stale stored flag is
    corrected in the session, for the caller to commit), balance, last billing date, the profile
    lock, readings suspected of tampering, and alerts (open request, SLA breach, overdue balance,
    unverified readings, suspected tampering, meter anomalies)."""
    now = now or datetime.now(UTC)
    today = today or now.date()
    standing = await _standing(session, consumer, today)
    suspected = await standing_tampering(session, consumer.id)
    meters = await meter_connections(session, consumer.id, tampering=suspected)
    return await _header(session, consumer, standing, meters, suspected, today, now, vip_rule)


async def _header(
    session: AsyncSession,
    consumer: Consumer,
    standing: _Standing,
    meters: list[schemas.MeterConnection],
    suspected: list[schemas.TamperingRead],
    today: date,
    now: datetime,
    vip_rule: VipRule,
) -> schemas.ConsumerProfile:
    vip = await _vip(session, consumer, standing, today, vip_rule)
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
        tampering=suspected,
        alerts=await _alerts(session, consumer, standing, meters, suspected, today, now),
    )


async def keep_vip_correction(*, session: AsyncSession, consumer: Consumer) -> None:
    """Commit the stored VIP flag a profile read found stale and corrected (a read writes nothing else)."""
    if session.info.pop(_VIP_CORRECTED, False):
        await session.commit()


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
    suspected = await standing_tampering(session, consumer.id)
    meters = await meter_connections(session, consumer.id, tampering=suspected)
    return schemas.ConsumerFullProfile(
        profile=await _header(session, consumer, standing, meters, suspected, today, now, vip_rule),
        overview=_overview(consumer, standing),
        connections=schemas.ConsumerConnections(meters=meters),
        financial=await financial(
            session=session, consumer=consumer, today=today, records=standing.payments, meters=meters
        ),
        service=await service_history(
            session=session, consumer=consumer, now=now, requests=standing.requests
        ),
        communications=await communications(session=session, consumer=consumer),
        documents=[
            schemas.DocumentRead.model_validate(d)
            for d in await list_documents(session=session, consumer=consumer)
        ],
    )


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
