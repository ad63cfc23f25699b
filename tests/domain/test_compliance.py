"""domain.consumers.compliance: on-time, late and open payments, and the compliance percentage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.consumers.compliance import PaymentRecord, late_payments, payment_compliance
from domain.consumers.types import PaymentStatus

OK = PaymentStatus.PROCESSED
PENDING = PaymentStatus.PENDING
FAILED = PaymentStatus.FAILED

TODAY = date(2026, 3, 10)
AMOUNT = Decimal("84.20")


def pay(due: date, paid: date | None, status: PaymentStatus = OK) -> PaymentRecord:
    return PaymentRecord(due_date=due, paid_on=paid, amount=AMOUNT, status=status)


def monthly(n: int, *, on_time: int) -> list[PaymentRecord]:
    """``n`` monthly bills due on the 1st of Jan 2024 onwards; the first ``on_time`` paid on the
    due date, the rest paid 5 days late. All are due before TODAY when n <= 26."""
    out = []
    for i in range(n):
        due = date(2024 + i // 12, i % 12 + 1, 1)
        paid = due if i < on_time else date(due.year, due.month, 6)
        out.append(pay(due, paid))
    return out


# ---------------------------------------------------------------------------------------------
# Single payments at their boundaries


def test_paid_exactly_on_the_due_date_is_on_time() -> None:
    p = pay(date(2026, 3, 1), date(2026, 3, 1))
    assert p.is_on_time()
    assert not p.is_late(TODAY)
    assert payment_compliance([p], today=TODAY) == Decimal("100.0")
    assert late_payments([p], today=TODAY) == 0


def test_paid_one_day_after_the_due_date_is_late() -> None:
    p = pay(date(2026, 3, 1), date(2026, 3, 2))
    assert not p.is_on_time()
    assert p.is_late(TODAY)
    assert payment_compliance([p], today=TODAY) == Decimal("0.0")
    assert late_payments([p], today=TODAY) == 1


def test_paid_early_is_on_time() -> None:
    p = pay(date(2026, 3, 1), date(2026, 2, 20))
    assert payment_compliance([p], today=TODAY) == Decimal("100.0")


@pytest.mark.parametrize("status", [PENDING, FAILED])
def test_unpaid_past_the_due_date_is_late_even_if_attempted_on_time(status: PaymentStatus) -> None:
    # Pending counts as unpaid: the money has not arrived.
    p = pay(date(2026, 3, 1), date(2026, 3, 1), status)
    assert not p.is_on_time()
    assert p.is_late(TODAY)
    assert late_payments([p], today=TODAY) == 1
    assert payment_compliance([p], today=TODAY) == Decimal("0.0")


@pytest.mark.parametrize("status", [PENDING, FAILED])
def test_unpaid_on_its_due_date_is_open_not_late_but_counts_as_due(status: PaymentStatus) -> None:
    p = pay(TODAY, None, status)
    assert p.is_due(TODAY)
    assert not p.is_late(TODAY)
    assert late_payments([p], today=TODAY) == 0
    # Due today and not yet Processed: 0 on-time of 1 due.
    assert payment_compliance([p], today=TODAY) == Decimal("0.0")


def test_unpaid_a_day_after_its_due_date_becomes_late() -> None:
    p = pay(date(2026, 3, 9), None, PENDING)
    assert late_payments([p], today=date(2026, 3, 9)) == 0
    assert late_payments([p], today=date(2026, 3, 10)) == 1


def test_payments_not_yet_due_are_ignored_even_if_paid() -> None:
    future_paid = pay(date(2026, 4, 1), date(2026, 3, 5))
    future_unpaid = pay(date(2026, 4, 1), None, PENDING)
    assert not future_paid.is_due(TODAY)
    assert payment_compliance([future_paid, future_unpaid], today=TODAY) is None
    assert late_payments([future_paid, future_unpaid], today=TODAY) == 0


def test_nothing_due_is_none_not_zero() -> None:
    assert payment_compliance([], today=TODAY) is None
    assert late_payments([], today=TODAY) == 0


# ---------------------------------------------------------------------------------------------
# Worked examples


def test_faq_example_23_of_25_is_92_percent() -> None:
    # 23 / 25 × 100 = 92 → 92.0; the 2 paid late are the late payments.
    payments = monthly(25, on_time=23)
    assert payment_compliance(payments, today=TODAY) == Decimal("92.0")
    assert late_payments(payments, today=TODAY) == 2


def test_11_of_12_rounds_to_one_decimal() -> None:
    # 11 / 12 × 100 = 91.666… → 91.7
    assert payment_compliance(monthly(12, on_time=11), today=TODAY) == Decimal("91.7")


def test_rounding_is_half_up() -> None:
    # 5 / 16 × 100 = 31.25 → 31.3 (half-even would give 31.2)
    assert payment_compliance(monthly(16, on_time=5), today=TODAY) == Decimal("31.3")
    # 2 / 3 × 100 = 66.666… → 66.7
    assert payment_compliance(monthly(3, on_time=2), today=TODAY) == Decimal("66.7")


def test_mixed_history() -> None:
    # today 2026-03-10. Due: Dec, Jan, Feb, Mar (4); Apr is not due yet.
    payments = [
        pay(date(2025, 12, 1), date(2025, 12, 1)),  # on time (on the due date)
        pay(date(2026, 1, 1), date(2026, 1, 15)),  # late: paid after the due date
        pay(date(2026, 2, 1), date(2026, 1, 30), FAILED),  # late: failed, past due
        pay(date(2026, 3, 1), date(2026, 2, 27)),  # on time (early)
        pay(date(2026, 4, 1), None, PENDING),  # not due: ignored
    ]
    # on time 2 / due 4 × 100 = 50.0; late 2
    assert payment_compliance(payments, today=TODAY) == Decimal("50.0")
    assert late_payments(payments, today=TODAY) == 2


def test_accepts_any_iterable() -> None:
    payments = monthly(4, on_time=3)
    assert payment_compliance(iter(payments), today=TODAY) == Decimal("75.0")
    assert late_payments(iter(payments), today=TODAY) == 1


# ---------------------------------------------------------------------------------------------
# Validation


def test_processed_without_a_paid_date_is_rejected() -> None:
    with pytest.raises(ValueError, match="paid_on"):
        pay(date(2026, 3, 1), None, OK)


def test_negative_amount_is_rejected() -> None:
    with pytest.raises(ValueError, match="amount"):
        PaymentRecord(due_date=TODAY, paid_on=TODAY, amount=Decimal("-1"), status=OK)


def test_record_is_frozen() -> None:
    p = pay(TODAY, TODAY)
    with pytest.raises(AttributeError):
        p.amount = Decimal(0)  # type: ignore[misc]
