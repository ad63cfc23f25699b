"""Business time: add working time to an instant, and measure the working time between two.

A :class:`BusinessCalendar` is a time zone, working windows per weekday (several a day allowed,
e.g. 08:00–12:00 and 13:00–17:00) and closed days (public holidays from the ``holidays`` library,
resolved outside the workflow sandbox by :func:`with_public_holidays`, plus the utility's own
closures). Working windows are wall-clock times in the calendar's zone, so a window keeps its
local hours across a DST change; time is always counted as real elapsed time.

Pure: no I/O, no clock, aware datetimes in and out (UTC out). An SLA target measured in business
time gets its due moment from :func:`add_business_time`; one measured in calendar time simply adds
the duration. Properties (tests/domain/test_business_time.py): measuring from ``start`` to
``add_business_time(start, d)`` gives ``d`` back, and a due moment never falls outside a window.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.disconnection.profile import LocalTime, TimeZoneName, Weekday

__all__ = [
    "BusinessCalendar",
    "NoWorkingTime",
    "WorkWindow",
    "add_business_time",
    "business_time_between",
    "with_public_holidays",
]

_DAY = timedelta(days=1)
_SEARCH_DAYS = 3700  # ten years: a calendar with no working time left is refused, not looped on


class NoWorkingTime(ValueError):
    """The calendar has no working time left in which to count (every day closed)."""


class WorkWindow(BaseModel):
    """Working hours within one day: ``start`` to ``end`` local time; ``end`` 00:00 means midnight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end != time(0) and self.end <= self.start:
            raise ValueError("a working window must end after it starts (00:00 as its end means midnight)")
        return self


_WEEKDAYS = (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY)
_OFFICE_HOURS: dict[Weekday, tuple[WorkWindow, ...]] = {
    day: (WorkWindow(start=time(8), end=time(17)),) for day in _WEEKDAYS
}


class BusinessCalendar(BaseModel):
    """When the utility works: windows per weekday (a weekday without any is closed), closed days."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: TimeZoneName = "UTC"
    hours: dict[Weekday, tuple[WorkWindow, ...]] = Field(default_factory=lambda: dict(_OFFICE_HOURS))
    closed_days: frozenset[date] = frozenset()

    @field_validator("hours")
    @classmethod
    def _no_overlap(
        cls, value: dict[Weekday, tuple[WorkWindow, ...]]
    ) -> dict[Weekday, tuple[WorkWindow, ...]]:
        for day, windows in value.items():
            ordered = sorted(windows, key=lambda w: w.start)
            for before, after in pairwise(ordered):
                if before.end == time(0) or before.end > after.start:
                    raise ValueError(f"{day.name.title()}: working windows overlap")
        return {day: tuple(sorted(windows, key=lambda w: w.start)) for day, windows in value.items()}

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _local(calendar: BusinessCalendar, day: date, at: time) -> datetime:
    """``day`` at wall-clock ``at`` in the calendar's zone, as UTC (a time skipped by a DST jump
    is taken with the offset before it, which moves it forward)."""
    return datetime.combine(day, at, calendar.zone).astimezone(UTC)


def _intervals(calendar: BusinessCalendar, first_day: date) -> Iterator[tuple[datetime, datetime]]:
    """Working intervals in UTC, in order, from the local day ``first_day`` on."""
    day = first_day
    for _ in range(_SEARCH_DAYS):
        if day not in calendar.closed_days:
            for window in calendar.hours.get(Weekday(day.weekday()), ()):
                start = _local(calendar, day, window.start)
                end = (
                    _local(calendar, day + _DAY, time(0))
                    if window.end == time(0)
                    else _local(calendar, day, window.end)
                )
                if end > start:
                    yield start, end
        day += _DAY
    raise NoWorkingTime(f"no working time in the {_SEARCH_DAYS} days after {first_day.isoformat()}")


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The moment ``duration`` of working time after ``start`` (UTC). A positive duration always ends
    inside a working window or at its end; zero returns ``start`` itself."""
    start = _aware(start, "start")
    if duration < timedelta(0):
        raise ValueError("a duration cannot be negative")
    if duration == timedelta(0):
        return start
    left = duration
    first_day = start.astimezone(calendar.zone).date() - _DAY  # a window of the day before may still run
    for begin, end in _intervals(calendar, first_day):
        if end <= start:
            continue
        begin = max(begin, start)
        if end - begin >= left:
            return begin + left
        left -= end - begin
    raise NoWorkingTime("unreachable")  # _intervals raises first


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """The working time from ``start`` to ``end`` (zero when ``end`` is not after ``start``)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    total = timedelta(0)
    if end <= start:
        return total
    first_day = start.astimezone(calendar.zone).date() - _DAY
    last_day = end.astimezone(calendar.zone).date() + _DAY
    day = first_day
    while day <= last_day:
        if day not in calendar.closed_days:
            for window in calendar.hours.get(Weekday(day.weekday()), ()):
                begin = _local(calendar, day, window.start)
                stop = (
                    _local(calendar, day + _DAY, time(0))
                    if window.end == time(0)
                    else _local(calendar, day, window.end)
                )
                overlap = min(stop, end) - max(begin, start)
                if overlap > timedelta(0):
                    total += overlap
        day += _DAY
    return total


def with_public_holidays(
    calendar: BusinessCalendar, country: str, subdivision: str | None, years: range
) -> BusinessCalendar:
    """The calendar closed on the public holidays of ``country`` / ``subdivision`` in ``years`` too
    (the ``holidays`` library; call it outside the workflow sandbox and pass the result in)."""
    import holidays

    days = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
    return calendar.model_copy(update={"closed_days": calendar.closed_days | frozenset(days)})
