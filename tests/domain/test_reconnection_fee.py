"""The reconnection fee for the moment of the work: worked examples and invariants."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.disconnection.fees import reconnection_fee
from domain.disconnection.profile import CALIFORNIA_WATER, PENNSYLVANIA, ReconnectionFeeRule

LA = ZoneInfo("America/Los_Angeles")
RULE = ReconnectionFeeRule(
    business_hours=Decimal("50.00"),
    after_hours=Decimal("150.00"),
    urgent=Decimal("200.00"),
    cap=Decimal("175.00"),
)
CA = CALIFORNIA_WATER.model_copy(update={"reconnection_fee": RULE})


@pytest.mark.parametrize(
    ("local", "urgent", "amount", "basis"),
    [
        (datetime(2026, 12, 1, 9, 0, tzinfo=LA), False, "50.00", "business hours"),  # Tuesday morning
        (datetime(2026, 12, 1, 8, 0, tzinfo=LA), False, "50.00", "business hours"),  # opening minute
        (datetime(2026, 12, 1, 17, 0, tzinfo=LA), False, "150.00", "after hours"),  # closing minute
        (datetime(2026, 12, 1, 7, 59, tzinfo=LA), False, "150.00", "after hours"),
        (datetime(2026, 12, 5, 11, 0, tzinfo=LA), False, "150.00", "after hours"),  # Saturday
        (datetime(2026, 12, 1, 9, 0, tzinfo=LA), True, "175.00", "urgent, capped at $175.00"),
    ],
)
def test_worked_examples(local: datetime, urgent: bool, amount: str, basis: str) -> None:
    quote = reconnection_fee(CA, at=local.astimezone(UTC), urgent=urgent)

    assert quote is not None
    assert quote.amount == Decimal(amount)
    assert basis in quote.basis and CA.name in quote.basis


def test_the_california_preset_charges_its_commonly_cited_caps() -> None:
    tuesday_noon = datetime(2026, 12, 1, 12, 0, tzinfo=LA)
    tuesday_night = datetime(2026, 12, 1, 22, 0, tzinfo=LA)
    assert reconnection_fee(CALIFORNIA_WATER, at=tuesday_noon).amount == Decimal("50.00")  # type: ignore[union-attr]
    assert reconnection_fee(CALIFORNIA_WATER, at=tuesday_night).amount == Decimal("150.00")  # type: ignore[union-attr]


def test_no_rule_no_fee_and_naive_times_refused() -> None:
    assert reconnection_fee(PENNSYLVANIA, at=datetime(2026, 12, 1, 12, tzinfo=UTC)) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        reconnection_fee(CA, at=datetime(2026, 12, 1, 12))


def test_business_hours_must_be_a_window() -> None:
    with pytest.raises(ValueError, match="start before"):
        ReconnectionFeeRule(business_hours=Decimal(10), hours_start=time(17), hours_end=time(8))


@given(
    at=st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
    urgent=st.booleans(),
)
def test_the_fee_is_one_of_the_rule_amounts_and_never_above_the_cap(at, urgent) -> None:  # type: ignore[no-untyped-def]
    quote = reconnection_fee(CA, at=at, urgent=urgent)
    assert quote is not None
    assert quote.amount <= RULE.cap  # type: ignore[operator]
    assert quote.amount in {RULE.business_hours, RULE.after_hours, RULE.cap}
    local = at.astimezone(LA)
    if not urgent and local.weekday() < 5 and time(8) <= local.time() < time(17):
        assert quote.amount == RULE.business_hours
