"""Due times recomputed from pause intervals (issue 17, point 2): worked examples and the properties
that rule out the service-desk bugs (24/7 pause added to a business deadline, lost pause time on a
policy change, a deadline that jumps when a pause ends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.business_time import BusinessCalendar, business_time_between
from domain.request.due import Pause, counted_time, due_at, merged

NY = ZoneInfo("America/New_York")
OFFICE = BusinessCalendar(time_zone="America/New_York")  # Monday to Friday, 08:00-17:00


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def test_without_pauses_calendar_time_is_creation_plus_target() -> None:
    assert due_at(ny(2026, 12, 1, 9), timedelta(hours=24), calendar=None) == ny(2026, 12, 2, 9)


def test_a_pause_moves_a_calendar_deadline_by_its_length() -> None:
    pause = Pause(ny(2026, 12, 1, 10), ny(2026, 12, 1, 13))
    assert due_at(ny(2026, 12, 1, 9), timedelta(hours=24), calendar=None, pauses=[pause]) == ny(
        2026, 12, 2, 12
    )


def test_a_pause_over_a_night_costs_a_business_deadline_only_its_working_hours() -> None:
    # created Tue 09:00, 8 working hours: due Tue 17:00 without a pause.
    assert due_at(ny(2026, 12, 1, 9), timedelta(hours=8), calendar=OFFICE) == ny(2026, 12, 1, 17)
    # On hold Tue 16:00 → Wed 09:00: 17 hours of clock, but only 2 working hours (16-17, 8-9).
    held = Pause(ny(2026, 12, 1, 16), ny(2026, 12, 2, 9))
    assert due_at(ny(2026, 12, 1, 9), timedelta(hours=8), calendar=OFFICE, pauses=[held]) == ny(
        2026, 12, 2, 10
    )


def test_an_open_pause_stops_the_clock_and_ending_it_does_not_jump_the_deadline() -> None:
    created, target = ny(2026, 12, 1, 9), timedelta(hours=8)
    assert due_at(created, target, calendar=OFFICE, pauses=[Pause(ny(2026, 12, 1, 11))]) is None
    # ended at 14:00: the 3 paused hours are added, whenever the recomputation happens
    ended = [Pause(ny(2026, 12, 1, 11), ny(2026, 12, 1, 14))]
    assert due_at(created, target, calendar=OFFICE, pauses=ended) == ny(2026, 12, 2, 11)


def test_a_policy_change_keeps_every_second_already_paused() -> None:
    created = ny(2026, 12, 1, 9)
    pauses = [Pause(ny(2026, 12, 1, 10), ny(2026, 12, 1, 12)), Pause(ny(2026, 12, 2, 8), ny(2026, 12, 2, 9))]
    before = due_at(created, timedelta(hours=8), calendar=OFFICE, pauses=pauses)
    after = due_at(created, timedelta(hours=16), calendar=OFFICE, pauses=pauses)  # a longer target
    assert before == ny(2026, 12, 2, 11)
    assert after == ny(2026, 12, 3, 10)  # the same 3 paused hours, 8 more working hours


def test_pauses_before_creation_or_overlapping_are_merged() -> None:
    joined = merged(
        [Pause(ny(2026, 12, 1, 12), ny(2026, 12, 1, 14)), Pause(ny(2026, 12, 1, 10), ny(2026, 12, 1, 13))]
    )
    assert joined == [Pause(ny(2026, 12, 1, 10), ny(2026, 12, 1, 14))]
    early = Pause(ny(2026, 11, 30, 9), ny(2026, 11, 30, 10))
    assert due_at(ny(2026, 12, 1, 9), timedelta(hours=1), calendar=None, pauses=[early]) == ny(
        2026, 12, 1, 10
    )


def test_naive_and_backward_pauses_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Pause(datetime(2026, 12, 1, 9))
    with pytest.raises(ValueError, match="before it starts"):
        Pause(ny(2026, 12, 1, 10), ny(2026, 12, 1, 9))


moments = st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))
spans = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=3))
targets = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(hours=40))
pause_lists = st.lists(
    st.tuples(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=6)), spans), max_size=4
)


def _pauses(created: datetime, raw: list[tuple[timedelta, timedelta]]) -> list[Pause]:
    return [Pause(created + offset, created + offset + length) for offset, length in raw]


@given(created=moments, target=targets, raw=pause_lists, business=st.booleans())
def test_the_counted_time_up_to_the_due_time_is_the_target(created, target, raw, business) -> None:  # type: ignore[no-untyped-def]
    calendar = OFFICE if business else None
    pauses = _pauses(created, raw)
    due = due_at(created, target, calendar=calendar, pauses=pauses)
    assert due is not None
    assert counted_time(created, due, calendar=calendar, pauses=pauses) == target
    for pause in merged(pauses):  # never inside a pause
        assert pause.end is not None and not (pause.start < due < pause.end)
    if business:  # never outside working hours: the last minute before it is working time
        assert business_time_between(OFFICE, due - timedelta(minutes=1), due) > timedelta(0)


@given(
    created=moments,
    target=targets,
    raw=pause_lists,
    more=st.tuples(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=6)), spans),
)
def test_another_pause_never_brings_the_deadline_forward(created, target, raw, more) -> None:  # type: ignore[no-untyped-def]
    pauses = _pauses(created, raw)
    before = due_at(created, target, calendar=OFFICE, pauses=pauses)
    after = due_at(created, target, calendar=OFFICE, pauses=[*pauses, *_pauses(created, [more])])
    assert before is not None and after is not None and after >= before


@given(created=moments, target=targets, raw=pause_lists)
def test_the_order_the_pauses_are_given_in_does_not_matter(created, target, raw) -> None:  # type: ignore[no-untyped-def]
    pauses = _pauses(created, raw)
    assert due_at(created, target, calendar=OFFICE, pauses=pauses) == due_at(
        created, target, calendar=OFFICE, pauses=list(reversed(pauses))
    )
