"""A payment taken in (at the desk, or from the billing system), and the answer."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from domain.consumers.types import PaymentMethod, PaymentStatus

Amount = Annotated[Decimal, Field(gt=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2)]
Reference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:/#-]+$"),
]


class PaymentIn(BaseModel):
    """A payment taken at the desk. ``reference`` (a receipt or transaction number) is unique: the
    same reference sent twice records one payment."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    method: PaymentMethod
    reference: Reference | None = Field(default=None, description="Default: a new DESK-… reference")


class BillingPayment(BaseModel):
    """A payment reported by the billing system (the signed webhook)."""

    model_config = ConfigDict(extra="forbid")

    account_number: str = Field(min_length=1, max_length=20)
    amount: Amount
    method: PaymentMethod
    reference: Reference
    received_at: AwareDatetime


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    consumer_id: int
    reference: str
    amount: Decimal
    method: PaymentMethod
    status: PaymentStatus
    paid_on: date | None
    received_at: datetime | None
    source: str | None
    recorded_by: str | None


class PaymentRecorded(BaseModel):
    payment: PaymentRead
    duplicate: bool = Field(description="True when this reference had been recorded already: nothing changed")
    balance: Decimal = Field(description="The consumer's balance after the payment (positive: owed)")
    reconnection_request: str | None = Field(
        default=None,
        description="The reconnection request created for this payment (CONNECTDESK_AUTO_RECONNECT_AFTER_PAYMENT)",
    )
