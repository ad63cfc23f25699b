"""Business-time maths (issue 17, point 1): worked examples (overnight, weekend, holiday, lunch
break, DST change) and the properties every SLA due time relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.business_time import (
    BusinessCalendar,
    NoWorkingTime,
    WorkWindow,
    add_business_time,
    business_time_between,
    with_public_holidays,
)
from domain.disconnection.profile import Weekday

NY = ZoneInfo("America/New_York")
OFFICE = BusinessCalendar(time_zone="America/New_York")  # Monday to Friday, 08:00-17:00
LUNCH = BusinessCalendar(
    time_zone="America/New_York",
    hours={
        day: (WorkWindow(start=time(8), end=time(12)), WorkWindow(start=time(13), end=time(17)))
        for day in (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY)
    },
)
ALWAYS = BusinessCalendar(
    time_zone="America/New_York", hours={day: (WorkWindow(start=time(0), end=time(0)),) for day in Weekday}
)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def test_overnight_a_deadline_carries_into_the_next_morning() -> None:
    due = add_business_time(OFFICE, ny(2026, 12, 1, 16, 0), timedelta(hours=2))  # a Tuesday
    assert due == ny(2026, 12, 2, 9, 0)


def test_over_a_weekend_friday_afternoon_runs_into_monday() -> None:
    due = add_business_time(OFFICE, ny(2026, 12, 4, 15, 30), timedelta(hours=4))  # Friday
    assert due == ny(2026, 12, 7, 10, 30)  # 1.5 h on Friday, 2.5 h on Monday
    assert business_time_between(OFFICE, ny(2026, 12, 4, 15, 30), due) == timedelta(hours=4)


def test_a_request_made_at_night_starts_counting_at_opening_time() -> None:
    assert add_business_time(OFFICE, ny(2026, 12, 1, 22, 0), timedelta(minutes=30)) == ny(2026, 12, 2, 8, 30)
    assert business_time_between(OFFICE, ny(2026, 12, 5, 9, 0), ny(2026, 12, 6, 18, 0)) == timedelta(
        0
    )  # weekend


def test_a_public_holiday_is_skipped() -> None:
    with_thanksgiving = with_public_holidays(OFFICE, "US", "NY", range(2026, 2027))
    assert date(2026, 11, 26) in with_thanksgiving.closed_days  # Thanksgiving
    due = add_business_time(with_thanksgiving, ny(2026, 11, 25, 16, 0), timedelta(hours=2))
    assert due == ny(2026, 11, 27, 9, 0)  # Wednesday 16:00 + 1 h, Thursday closed, Friday 08:00 + 1 h


def test_an_admin_closure_is_skipped_like_a_holiday() -> None:
    closed = OFFICE.model_copy(update={"closed_days": frozenset({date(2026, 12, 2)})})
    assert add_business_time(closed, ny(2026, 12, 1, 16, 0), timedelta(hours=2)) == ny(2026, 12, 3, 9, 0)


def test_several_windows_a_day_leave_the_lunch_break_out() -> None:
    due = add_business_time(LUNCH, ny(2026, 12, 1, 11, 0), timedelta(hours=2))
    assert due == ny(2026, 12, 1, 14, 0)
    assert business_time_between(LUNCH, ny(2026, 12, 1, 0, 0), ny(2026, 12, 2, 0, 0)) == timedelta(hours=8)


def test_the_dst_change_counts_real_hours_and_keeps_local_opening_times() -> None:
    # 1 November 2026: New York falls back at 02:00, the local day lasts 25 hours
    start = ny(2026, 11, 1, 0, 0)
    assert business_time_between(ALWAYS, start, ny(2026, 11, 2, 0, 0)) == timedelta(hours=25)
    assert add_business_time(ALWAYS, start, timedelta(hours=3)) == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    # the office opens at 08:00 local on both sides of the change (12:00 UTC before, 13:00 after)
    before = add_business_time(OFFICE, ny(2026, 10, 29, 17, 0), timedelta(minutes=1))
    after = add_business_time(OFFICE, ny(2026, 10, 30, 17, 0), timedelta(minutes=1))
    assert before == datetime(2026, 10, 30, 12, 1, tzinfo=UTC)
    assert after == datetime(2026, 11, 2, 13, 1, tzinfo=UTC)


def test_bad_calendars_and_inputs_are_refused() -> None:
    with pytest.raises(ValidationError, match="must end after it starts"):
        WorkWindow(start=time(17), end=time(8))
    with pytest.raises(ValidationError, match="overlap"):
        BusinessCalendar(hours={Weekday.MONDAY: (WorkWindow(start=time(8), end=time(12)),
                                                 WorkWindow(start=time(11), end=time(15)))})  # fmt: skip
    with pytest.raises(ValidationError, match="unknown time zone"):
        BusinessCalendar(time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(OFFICE, datetime(2026, 12, 1, 9, 0), timedelta(hours=1))
    with pytest.raises(ValueError, match="negative"):
        add_business_time(OFFICE, ny(2026, 12, 1, 9, 0), timedelta(hours=-1))
    with pytest.raises(NoWorkingTime):
        add_business_time(BusinessCalendar(hours={}), ny(2026, 12, 1, 9, 0), timedelta(hours=1))


# ---- properties ----------------------------------------------------------------------------------

CALENDARS = st.sampled_from(
    [OFFICE, LUNCH, ALWAYS, with_public_holidays(OFFICE, "US", "NY", range(2025, 2029))]
)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
DURATIONS = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=20))


@settings(max_examples=300, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS)
def test_measuring_what_was_added_gives_it_back(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    due = add_business_time(calendar, start, duration)
    assert due > start
    assert business_time_between(calendar, start, due) == duration


@settings(max_examples=300, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS)
def test_a_due_moment_is_never_outside_working_hours(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    due = add_business_time(calendar, start, duration)
    # the working time just before the due moment is real: the clock was running up to it
    assert business_time_between(calendar, due - timedelta(microseconds=1), due) == timedelta(microseconds=1)


@settings(max_examples=200, deadline=None)
@given(CALENDARS, INSTANTS, DURATIONS, DURATIONS)
def test_adding_is_monotone_and_additive(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    once = add_business_time(calendar, start, first + second)
    twice = add_business_time(calendar, add_business_time(calendar, start, first), second)
    assert once == twice
    assert add_business_time(calendar, start, first) <= once
