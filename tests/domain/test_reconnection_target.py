"""A reconnection's regulated resolution target, per preset: worked examples and invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.disconnection.lawful import RECONNECTION_TRIGGERS, reconnection_target
from domain.disconnection.profile import NEW_YORK, PENNSYLVANIA, PRESETS

WINTER = datetime(2027, 1, 12, 15, 0, tzinfo=UTC)
SUMMER = datetime(2027, 7, 12, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("profile", "reason", "at", "within", "words"),
    [
        (PENNSYLVANIA, "Outstanding balance cleared", WINTER, timedelta(days=1), "1 day after payment"),
        (PENNSYLVANIA, "Outstanding balance cleared", SUMMER, timedelta(days=3), "3 days after payment"),
        (PENNSYLVANIA, "Disconnected in error", SUMMER, timedelta(days=1), "1 day after an erroneous cut"),
        (PENNSYLVANIA, "Medical certificate", SUMMER, timedelta(days=1), "1 day on a medical certificate"),
        (NEW_YORK, "Outstanding balance cleared", SUMMER, timedelta(days=1), "1 day after payment"),
    ],
)
def test_worked_examples(profile, reason, at, within, words) -> None:  # type: ignore[no-untyped-def]
    target = reconnection_target(profile, reason=reason, at=at)

    assert target is not None
    assert target.due_at - at == within
    assert words in target.basis and profile.name in target.basis


@pytest.mark.parametrize("reason", ["Seasonal return", "New occupant moving in", "Other"])
def test_other_reasons_keep_the_standard_target(reason: str) -> None:
    assert reconnection_target(PENNSYLVANIA, reason=reason, at=SUMMER) is None


@given(
    profile=st.sampled_from(list(PRESETS.values())),
    reason=st.sampled_from(list(RECONNECTION_TRIGGERS)),
    at=st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
)
def test_the_deadline_is_after_the_request_and_within_a_week(profile, reason, at) -> None:  # type: ignore[no-untyped-def]
    target = reconnection_target(profile, reason=reason, at=at)
    assert target is not None
    assert timedelta(0) < target.due_at - at <= timedelta(days=7)
