"""Calendar arithmetic without a dependency."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (Jan 31 + 1 → Feb 28/29)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def window_open(day: date, start: time, now: datetime) -> bool:
    """Whether a visit window starting at ``start`` on ``day`` can still be booked at ``now``:
    any later day, or today before the window begins (a window under way is too late to book).
    ``now`` must be on the slots' clock: the utility's local time, whose wall clock they are."""
    return day > now.date() or (day == now.date() and start > now.time().replace(tzinfo=None))
