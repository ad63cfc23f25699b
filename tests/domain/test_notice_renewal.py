"""When a final notice may first be issued, and when it no longer supports a cut: worked examples
per preset and invariants."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.disconnection.notices import first_notice_day, new_notice_needed, notice_valid_until
from domain.disconnection.profile import CALIFORNIA_WATER, NEW_YORK, PENNSYLVANIA, PRESETS


def test_new_york_issues_the_notice_20_days_after_the_due_date() -> None:
    assert first_notice_day(NEW_YORK, date(2026, 11, 2)) == date(2026, 11, 22)
    assert first_notice_day(NEW_YORK, None) is None  # unknown due date: nothing to wait for
    assert first_notice_day(PENNSYLVANIA, date(2026, 11, 2)) is None  # no such rule in Pennsylvania


def test_a_new_york_notice_before_that_day_must_be_sent_again() -> None:
    why = new_notice_needed(
        NEW_YORK, date(2026, 11, 21), payment_due_on=date(2026, 11, 2), today=date(2026, 12, 1)
    )
    assert why is not None and "2026-11-22" in why and "20 days after the payment due date" in why
    assert (
        new_notice_needed(
            NEW_YORK, date(2026, 11, 22), payment_due_on=date(2026, 11, 2), today=date(2026, 12, 1)
        )
        is None
    )


def test_a_pennsylvania_notice_is_good_for_60_days() -> None:
    notice = date(2026, 11, 1)
    assert notice_valid_until(PENNSYLVANIA, notice) == date(2026, 12, 31)
    assert new_notice_needed(PENNSYLVANIA, notice, payment_due_on=None, today=date(2026, 12, 31)) is None
    why = new_notice_needed(PENNSYLVANIA, notice, payment_due_on=None, today=date(2027, 1, 1))
    assert why is not None and "expired after 2026-12-31" in why and "60 days" in why
    assert notice_valid_until(CALIFORNIA_WATER, notice) is None  # no validity limit there


days = st.dates(date(2025, 1, 1), date(2028, 12, 31))


@given(
    profile=st.sampled_from(list(PRESETS.values())),
    notice=days,
    due=st.none() | days,
    later=st.integers(0, 400),
)
def test_once_a_notice_needs_replacing_it_stays_so(profile, notice, due, later) -> None:  # type: ignore[no-untyped-def]
    """Monotone in time: a notice that no longer supports a cut never supports one again."""
    today = notice + timedelta(days=later)
    if new_notice_needed(profile, notice, payment_due_on=due, today=today) is not None:
        for more in (1, 30, 365):
            assert new_notice_needed(profile, notice, payment_due_on=due, today=today + timedelta(days=more))


@given(profile=st.sampled_from(list(PRESETS.values())), due=days)
def test_a_notice_sent_on_its_first_day_is_not_too_early(profile, due) -> None:  # type: ignore[no-untyped-def]
    first = first_notice_day(profile, due) or due
    assert new_notice_needed(profile, first, payment_due_on=due, today=first) is None
