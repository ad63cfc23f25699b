"""What a payment does to a pending disconnection: worked examples and invariants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.disconnection.payments import PaymentEffect, arrears_due_on, arrears_of, payment_effect
from domain.disconnection.profile import NEW_YORK, PENNSYLVANIA, PRESETS
from domain.disconnection.rules import DisconnectionReason

PA = PENNSYLVANIA.model_copy(update={"min_arrears": Decimal("25.00")})


@pytest.mark.parametrize(
    ("balance", "effect", "words"),
    [
        ("0.00", PaymentEffect.CANCELS, "nothing is owed"),
        ("-15.00", PaymentEffect.CANCELS, "nothing is owed"),  # a credit
        ("24.99", PaymentEffect.CANCELS, "$24.99, are below the $25.00"),
        ("25.00", PaymentEffect.PARTIAL, "$25.00 still owed"),  # at the threshold: still pursued
        ("1200.50", PaymentEffect.PARTIAL, "$1,200.50 still owed"),
    ],
)
def test_worked_examples_against_a_25_dollar_threshold(
    balance: str, effect: PaymentEffect, words: str
) -> None:
    verdict = payment_effect(PA, reason="Non-payment", balance=Decimal(balance))

    assert verdict.effect is effect
    assert words in verdict.message
    assert verdict.threshold == Decimal("25.00")


def test_the_default_threshold_cancels_only_when_nothing_is_owed() -> None:
    assert NEW_YORK.min_arrears == Decimal("0.01")
    assert (
        payment_effect(NEW_YORK, reason="Non-payment", balance=Decimal("0")).effect is PaymentEffect.CANCELS
    )
    assert (
        payment_effect(NEW_YORK, reason="Non-payment", balance=Decimal("0.01")).effect
        is PaymentEffect.PARTIAL
    )


@pytest.mark.parametrize(
    "reason", [r for r in DisconnectionReason if r is not DisconnectionReason.NON_PAYMENT]
)
def test_a_payment_never_cancels_a_disconnection_for_another_reason(reason: DisconnectionReason) -> None:
    verdict = payment_effect(PA, reason=reason.value, balance=Decimal("0"))

    assert verdict.effect is PaymentEffect.NOT_APPLICABLE
    assert reason.value in verdict.message


money = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=2)


@given(profile=st.sampled_from(list(PRESETS.values())), balance=money, more=money)
def test_paying_more_never_turns_a_cancellation_into_a_disconnection(profile, balance, more) -> None:  # type: ignore[no-untyped-def]
    """Monotone: if a balance cancels, every lower balance cancels too."""
    lower = min(balance, balance - abs(more))
    if payment_effect(profile, reason="Non-payment", balance=balance).effect is PaymentEffect.CANCELS:
        assert payment_effect(profile, reason="Non-payment", balance=lower).effect is PaymentEffect.CANCELS


@given(profile=st.sampled_from(list(PRESETS.values())), balance=money)
def test_it_cancels_exactly_below_the_threshold(profile, balance) -> None:  # type: ignore[no-untyped-def]
    verdict = payment_effect(profile, reason="Non-payment", balance=balance)

    assert verdict.arrears == arrears_of(balance) >= 0
    assert (verdict.effect is PaymentEffect.CANCELS) == (arrears_of(balance) < profile.min_arrears)


TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("balance", "unpaid", "expected"),
    [
        ("120.00", [date(2026, 10, 15), date(2026, 11, 15)], date(2026, 10, 15)),  # the oldest unpaid bill
        (
            "120.00",
            [date(2026, 11, 15), date(2026, 12, 15)],
            date(2026, 11, 15),
        ),  # a bill not yet due ignored
        ("120.00", [date(2026, 12, 15)], None),  # owed, but nothing due yet
        ("120.00", [], None),  # owed, no unpaid bill on record
        ("0.00", [date(2026, 10, 15)], None),  # paid up: no arrears, no due date
        ("-5.00", [date(2026, 10, 15)], None),  # in credit
    ],
)
def test_the_due_date_the_arrears_count_from(balance: str, unpaid: list[date], expected: date | None) -> None:
    assert arrears_due_on(Decimal(balance), unpaid, today=TODAY) == expected


@given(balance=money, unpaid=st.lists(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=6))
def test_the_due_date_is_an_unpaid_bill_already_due(balance, unpaid) -> None:  # type: ignore[no-untyped-def]
    found = arrears_due_on(balance, unpaid, today=TODAY)
    if found is not None:
        assert found in unpaid and found <= TODAY and balance > 0
        assert all(found <= d for d in unpaid if d <= TODAY)
