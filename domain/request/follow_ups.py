"""Follow-ups: "remind me" on a request, at a moment or in N business hours.

Pure: the caller passes ``now`` and the calendar (in the workflow: ``workflow.now()`` and the
calendar the request captured at creation). A follow-up is due strictly after ``now`` and no more
than :data:`MAX_AHEAD` later; "in N business hours" lands inside the calendar's working hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.business_time import BusinessCalendar, add_business_time
from domain.request.rules import RefusalCode, RefusalReason, TransitionRefused

__all__ = ["MAX_AHEAD", "follow_up_due"]

MAX_AHEAD = timedelta(days=366)


def _refused(message: str, field: str) -> TransitionRefused:
    return TransitionRefused(
        message,
        RefusalCode.FOLLOW_UP_TIME,
        problems=[RefusalReason(RefusalCode.FOLLOW_UP_TIME, message, field)],
    )


def follow_up_due(
    now: datetime, *, at: datetime | None, in_business_hours: int | None, calendar: BusinessCalendar
) -> datetime:
    """When the follow-up fires (UTC): ``at`` itself, or ``in_business_hours`` of working time after
    ``now``. Exactly one of the two; the moment must be in the future and within a year."""
    if (at is None) == (in_business_hours is None):
        raise _refused("Give either a date and time or a number of business hours, not both.", "at")
    if at is not None:
        if at.tzinfo is None or at.utcoffset() is None:
            raise _refused("The follow-up's time needs a time zone offset.", "at")
        due, field = at.astimezone(UTC), "at"
    else:
        assert in_business_hours is not None
        if in_business_hours < 1:
            raise _refused("A follow-up is at least one business hour away.", "in_business_hours")
        due, field = add_business_time(calendar, now, timedelta(hours=in_business_hours)), "in_business_hours"
    if due <= now:
        raise _refused("A follow-up must be in the future.", field)
    if due > now + MAX_AHEAD:
        raise _refused("A follow-up can be at most a year ahead.", field)
    return due
