"""The consumer's money: payments (the history and the records compliance reads), the average
monthly bill, the billing overview with the next bill's estimate, and the Financial tab."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from api.consumers import schemas
from api.consumers.accounts import cents, today_utc
from api.consumers.meters import meter_connections
from api.pagination import Page, paginate
from db.models import BillingAccount, Consumer, Payment, Plan
from domain.consumers.compliance import PaymentRecord, payment_compliance
from domain.consumers.types import CYCLE_MONTHS, BillingCycle, PaymentStatus, UtilityType

ESTIMATE_SPREAD = Decimal("0.15")
"""The next bill estimate is the expected amount ± this fraction."""


async def payment_records(session: AsyncSession, consumer_id: int) -> list[PaymentRecord]:
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
    return cents(sum(recent, Decimal(0)) / len(recent) / months)


def _rate(rates: dict[str, Any], utility: UtilityType) -> Decimal | None:
    """The plan's price per unit for ``utility`` (a ``<utility>_per_<unit>`` key), if any."""
    for key, value in rates.items():
        if key.startswith(f"{utility.value}_per_"):
            return Decimal(str(value))
    return None


def _flat(rates: dict[str, Any]) -> Decimal:
    """Flat monthly charges on the plan (``<utility>_flat_monthly`` keys)."""
    return sum((Decimal(str(v)) for k, v in rates.items() if k.endswith("_flat_monthly")), Decimal(0))


async def billing_overview(
    *, session: AsyncSession, consumer: Consumer, meters: list[schemas.MeterConnection] | None = None
) -> schemas.BillingOverview:
    """Rate plan, cycle, payment method and next bill date of the active billing account; average
    monthly usage per utility over the current meters (``meters``: the consumer's connections,
    when the caller has them already); the next bill estimate; the outstanding amount.

    Estimate per month = plan monthly fee + flat charges + Σ usage × rate; times the months in the
    billing cycle; shown as a range ± 15 %. No active billing account → no plan and no estimate.
    """
    row = (
        await session.execute(
            select(BillingAccount, Plan)
            .join(Plan, Plan.id == BillingAccount.plan_id)
            .options(lazyload(Plan.services))  # the rates are on the plan
            .where(BillingAccount.consumer_id == consumer.id, BillingAccount.active.is_(True))
            .limit(1)
        )
    ).first()
    account, plan = (row[0], row[1]) if row is not None else (None, None)
    rates: dict[str, Any] = dict(plan.rates or {}) if plan is not None else {}
    usage_by_utility: dict[UtilityType, Decimal] = {}
    units: dict[UtilityType, str] = {}
    for meter in meters if meters is not None else await meter_connections(session, consumer.id):
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
        expected = cents(monthly * CYCLE_MONTHS[account.billing_cycle])
        estimate = schemas.BillEstimate(
            low=cents(expected * (1 - ESTIMATE_SPREAD)),
            high=cents(expected * (1 + ESTIMATE_SPREAD)),
            expected=expected,
        )
    return schemas.BillingOverview(
        rate_plan=plan.name if plan else None,
        rate_plan_code=plan.short_name if plan else None,
        billing_cycle=account.billing_cycle if account else None,
        payment_method=account.payment_mode if account else None,
        payment_reference=account.payment_reference if account else None,
        next_bill_date=account.next_bill_date if account else None,
        usage=usage,
        next_bill_estimate=estimate,
        outstanding_amount=consumer.balance,
    )


async def payment_history(
    *, session: AsyncSession, consumer: Consumer, page: int = 1, size: int = 20, total: int | None = None
) -> Page[schemas.PaymentRead]:
    """The consumer's payments, most recent first (by due date), with the total (``total``: when
    the caller has counted them already)."""
    stmt = (
        select(Payment)
        .where(Payment.consumer_id == consumer.id)
        .order_by(Payment.due_date.desc(), Payment.id.desc())
    )
    return await paginate(
        session, stmt, page=page, size=size, item=schemas.PaymentRead, total=total, one_pass=True
    )


async def financial(
    *,
    session: AsyncSession,
    consumer: Consumer,
    page: int = 1,
    size: int = 20,
    today: date | None = None,
    records: list[PaymentRecord] | None = None,
    meters: list[schemas.MeterConnection] | None = None,
) -> schemas.ConsumerFinancial:
    """The Financial tab: payment history page, payment compliance and the billing overview
    (``records`` and ``meters``: the consumer's payment records and connections, when the
    caller has them already)."""
    if records is None:
        records = await payment_records(session, consumer.id)
    return schemas.ConsumerFinancial(
        payment_compliance=payment_compliance(records, today=today or today_utc()),
        billing=await billing_overview(session=session, consumer=consumer, meters=meters),
        payments=await payment_history(
            session=session, consumer=consumer, page=page, size=size, total=len(records)
        ),
    )
