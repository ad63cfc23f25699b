from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.consumers.types import BillingCycle, PaymentMethod, PaymentMode, PaymentStatus


class Payment(Base):
    """A payment against a bill; on time when ``paid_on <= due_date`` and Processed.

    Payments taken in (at the desk, or from the billing system's webhook) carry when they were
    received, where from and who recorded them; their ``reference`` is unique, so the same payment
    delivered twice is recorded once.
    """

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payments_consumer_due", "consumer_id", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    due_date: Mapped[date]
    paid_on: Mapped[date | None]
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod, "payment_method"))
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus, "payment_status"))
    received_at: Mapped[datetime | None]
    source: Mapped[str | None] = mapped_column(String(16))
    recorded_by: Mapped[str | None] = mapped_column(String(120))


class BillingAccount(Base):
    """A consumer's billing on a plan. One active per consumer; ``request_id`` keeps activation idempotent."""

    __tablename__ = "billing_accounts"
    __table_args__ = (
        Index(
            "uq_billing_accounts_active_consumer",
            "consumer_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"), index=True)  # the profile's billing
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    request_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    billing_cycle: Mapped[BillingCycle] = mapped_column(str_enum(BillingCycle, "billing_cycle"))
    payment_mode: Mapped[PaymentMode] = mapped_column(str_enum(PaymentMode, "payment_mode"))
    # Auto-pay: the payment method's reference (mandate or token ID) chosen at activation.
    payment_reference: Mapped[str | None] = mapped_column(String(64))
    cycle_start: Mapped[date]
    next_bill_date: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)
