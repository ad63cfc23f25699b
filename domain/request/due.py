"""Due times recomputed from data: creation, the target, the calendar and the pause intervals.

A service desk's classic bugs come from shifting a due time incrementally — adding a pause's 24/7
length to a business-hours deadline, losing the pause already taken when the priority or the
policy changes, a deadline that jumps when a ticket leaves a pause. Here a due time is never
shifted: it is computed afresh from the request's creation, the target, the calendar the target is
measured in (None: calendar time, 24/7) and every pause interval so far. Change the priority or the
policy and recompute: every second already paused stays paused.

Pure: callers pass every moment (timezone-aware).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.business_time import BusinessCalendar, add_business_time, business_time_between

__all__ = ["Pause", "counted_time", "due_at", "merged"]


@dataclass(frozen=True, slots=True)
class Pause:
    """An interval the clock did not run: On Hold, or any state a policy marks as pausing.
    ``end`` None: still paused."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if value is not None and (value.tzinfo is None or value.utcoffset() is None):
                raise ValueError(f"a pause's {name} must be timezone-aware")
        if self.end is not None and self.end < self.start:
            raise ValueError("a pause cannot end before it starts")


def merged(pauses: Iterable[Pause]) -> list[Pause]:
    """The pauses in order, overlapping or touching ones joined, empty ones dropped."""
    out: list[Pause] = []
    for pause in sorted(pauses, key=lambda p: p.start):
        if pause.end is not None and pause.end == pause.start:
            continue
        last = out[-1] if out else None
        if last is not None and (last.end is None or pause.start <= last.end):
            end = None if last.end is None or pause.end is None else max(last.end, pause.end)
            out[-1] = Pause(last.start, end)
        else:
            out.append(pause)
    return out


def _running(created_at: datetime, pauses: Sequence[Pause]) -> Iterable[tuple[datetime, datetime | None]]:
    """The intervals the clock runs from ``created_at``: between the pauses (the last one open-ended)."""
    start = created_at
    for pause in merged(pauses):
        end = pause.end
        if end is not None and end <= start:
            continue
        if pause.start > start:
            yield start, pause.start
        if end is None:
            return
        start = max(start, end)
    yield start, None


def _measure(calendar: BusinessCalendar | None, start: datetime, end: datetime) -> timedelta:
    if calendar is None:
        return max(end - start, timedelta(0))
    return business_time_between(calendar, start, end)


def _add(calendar: BusinessCalendar | None, start: datetime, duration: timedelta) -> datetime:
    return start + duration if calendar is None else add_business_time(calendar, start, duration)


def due_at(
    created_at: datetime,
    target: timedelta,
    *,
    calendar: BusinessCalendar | None,
    pauses: Sequence[Pause] = (),
) -> datetime | None:
    """When ``target`` of counted time (working time of ``calendar``, or calendar time when None,
    outside the pauses) has run since ``created_at``; None while a pause that would hold it is open
    (the clock is stopped: the due time is known again once the pause ends)."""
    if target < timedelta(0):
        raise ValueError("a target cannot be negative")
    left = target
    for start, end in _running(created_at.astimezone(UTC), pauses):
        if end is None:
            return _add(calendar, start, left)
        available = _measure(calendar, start, end)
        if available >= left and left > timedelta(0):
            return _add(calendar, start, left)
        if left == timedelta(0):
            return start
        left -= available
    return None  # an open pause holds the clock


def counted_time(
    created_at: datetime, now: datetime, *, calendar: BusinessCalendar | None, pauses: Sequence[Pause] = ()
) -> timedelta:
    """The counted time from ``created_at`` to ``now``: working time outside the pauses."""
    total = timedelta(0)
    for start, end in _running(created_at.astimezone(UTC), pauses):
        stop = now if end is None else min(end, now)
        if stop <= start:
            break
        total += _measure(calendar, start, stop)
    return total
