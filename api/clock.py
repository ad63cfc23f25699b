"""The utility's clock for this API process: its time zone (CONNECTDESK_TIME_ZONE), set by create_app.

Every date and time a page shows is in it, and time slots are wall-clock windows in it: "today"
and "has this window begun" are read on the local clock, not on UTC's.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta, tzinfo

_ZONE: tzinfo = UTC


def use_time_zone(name: str) -> None:
    """Make ``name`` (an IANA zone) the process's local zone (create_app calls it; one per process)."""
    global _ZONE
    _ZONE = UTC if name == "UTC" else zoneinfo.ZoneInfo(name)


def local_zone() -> tzinfo:
    return _ZONE


def local_now() -> datetime:
    """Now, in the utility's time zone (aware)."""
    return datetime.now(_ZONE)


def end_of_local_day(now: datetime | None = None) -> datetime:
    """The first moment of tomorrow on the utility's clock (aware): "due today" means before it."""
    today = (now or datetime.now(UTC)).astimezone(_ZONE).date()
    return datetime.combine(today + timedelta(days=1), time(0), tzinfo=_ZONE)
