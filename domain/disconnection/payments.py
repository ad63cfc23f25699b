"""What a payment does to a pending disconnection: cancel it, or be noted and change nothing.

A payment cancels a pending non-payment disconnection at once when the arrears it leaves are
below the profile's ``min_arrears`` (the least arrears a cut is pursued for). It cannot cancel a
disconnection for another reason (a consumer moving out still leaves), nor one whose cut has
been recorded: that payment makes the consumer eligible for reconnection instead. A partial
payment that leaves arrears at or above the threshold is noted on the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.disconnection.profile import JurisdictionProfile
from domain.disconnection.rules import DisconnectionReason

__all__ = ["PaymentEffect", "PaymentVerdict", "arrears_due_on", "arrears_of", "payment_effect"]


class PaymentEffect(StrEnum):
    CANCELS = "cancels"  # close the request: Payment received
    PARTIAL = "partial"  # noted on the timeline; nothing else changes
    NOT_APPLICABLE = "not_applicable"  # not a non-payment disconnection


@dataclass(frozen=True, slots=True)
class PaymentVerdict:
    effect: PaymentEffect
    arrears: Decimal
    threshold: Decimal
    message: str


def arrears_of(balance: Decimal) -> Decimal:
    """What the consumer owes: a positive balance; a credit owes nothing."""
    return max(Decimal(balance), Decimal(0))


def arrears_due_on(balance: Decimal, unpaid_due_dates: Iterable[date], *, today: date) -> date | None:
    """The payment due date the arrears count from: the oldest bill due by ``today`` that is still
    unpaid (Pending or Failed), while anything is owed; None when nothing is owed or no unpaid bill
    is on record (the notice rules that count from the due date then wait for one)."""
    if arrears_of(balance) == 0:
        return None
    due = [d for d in unpaid_due_dates if d <= today]
    return min(due) if due else None


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def payment_effect(profile: JurisdictionProfile, *, reason: str, balance: Decimal) -> PaymentVerdict:
    """What a payment leaving ``balance`` does to a pending disconnection for ``reason``."""
    arrears = arrears_of(balance)
    threshold = profile.min_arrears
    if reason != DisconnectionReason.NON_PAYMENT.value:
        return PaymentVerdict(
            PaymentEffect.NOT_APPLICABLE, arrears, threshold,
            f"The disconnection is for {reason}, not non-payment: a payment does not cancel it.",
        )  # fmt: skip
    if arrears < threshold:
        owed = "nothing is owed" if arrears == 0 else f"the arrears left, {_money(arrears)}, are"
        below = "" if arrears == 0 else f" below the {_money(threshold)} a disconnection is pursued for"
        return PaymentVerdict(PaymentEffect.CANCELS, arrears, threshold, f"Payment received: {owed}{below}.")
    return PaymentVerdict(
        PaymentEffect.PARTIAL, arrears, threshold,
        f"Partial payment: {_money(arrears)} still owed, at or above the {_money(threshold)} "
        f"a disconnection is pursued for ({profile.name}); the disconnection goes on.",
    )  # fmt: skip
