"""Payment compliance: how reliably a consumer pays on time.

Pure and deterministic: no I/O and no clock of its own — callers pass ``today``.

The FAQ defines it as ``successful on-time payments / total payments due × 100``. Precisely:

- A payment is **due** when its ``due_date <= today``. Payments due later are ignored (even if
  already paid early) — they are not due yet.
- A due payment is **on time** when its status is ``Processed`` and ``paid_on <= due_date``.
  Paying exactly on the due date is on time.
- A due payment is **late** when it is not on time and either
  (a) it was ``Processed`` after its due date (``paid_on > due_date``), or
  (b) it is still unpaid — ``Pending`` or ``Failed`` — and its due date has passed
  (``due_date < today``). ``Pending`` counts as unpaid: the money has not arrived.
- Otherwise a due payment is **open**: due today and not yet Processed. It is not late (the day
  is not over), but it is not an on-time payment either, so it lowers compliance until it is
  Processed the same day.

So every due payment is exactly one of on time, late or open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from domain.consumers.types import PaymentStatus

__all__ = ["PaymentRecord", "late_payments", "payment_compliance"]

_HUNDRED = Decimal(100)
_ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One bill's payment: when it was due, when (if ever) it was paid, how much, and its status.

    A ``Processed`` payment must carry ``paid_on`` (``ValueError`` otherwise); ``amount`` must not
    be negative. ``paid_on`` on a ``Pending``/``Failed`` payment is the attempt's date and does not
    make it paid.
    """

    due_date: date
    paid_on: date | None
    amount: Decimal
    status: PaymentStatus

    def __post_init__(self) -> None:
        if self.status is PaymentStatus.PROCESSED and self.paid_on is None:
            raise ValueError(f"a Processed payment needs paid_on (due {self.due_date.isoformat()})")
        if self.amount < 0:
            raise ValueError(f"PaymentRecord.amount must not be negative, got {self.amount}")

    def is_due(self, today: date) -> bool:
        """``due_date <= today``."""
        return self.due_date <= today

    def is_on_time(self) -> bool:
        """``Processed`` with ``paid_on <= due_date`` (exactly on the due date is on time)."""
        return (
            self.status is PaymentStatus.PROCESSED
            and self.paid_on is not None
            and self.paid_on <= self.due_date
        )

    def is_late(self, today: date) -> bool:
        """Due, not on time, and either Processed after the due date or unpaid past it."""
        if not self.is_due(today) or self.is_on_time():
            return False
        if self.status is PaymentStatus.PROCESSED:
            return True  # paid, but after the due date
        return self.due_date < today  # Pending or Failed: late once the due date has passed


def payment_compliance(payments: Iterable[PaymentRecord], *, today: date) -> Decimal | None:
    """Percentage of due payments that were paid on time, 0–100 to 1 decimal (ROUND_HALF_UP).

    ``on-time due payments / due payments × 100``; ``None`` when no payment is due yet (so a
    new account has no compliance figure rather than 0 % or 100 %). E.g. 23 of 25 → ``92.0``;
    11 of 12 → 91.666… → ``91.7``; 5 of 16 → 31.25 → ``31.3``.
    """
    due = [p for p in payments if p.is_due(today)]
    if not due:
        return None
    on_time = sum(1 for p in due if p.is_on_time())
    return (Decimal(on_time) * _HUNDRED / Decimal(len(due))).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)


def late_payments(payments: Iterable[PaymentRecord], *, today: date) -> int:
    """How many due payments are late (see the module docstring): each costs 2 health points."""
    return sum(1 for p in payments if p.is_late(today))
