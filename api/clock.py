"""The utility's clock for this API process: its time zone (CONNECTDESK_TIME_ZONE), set by create_app.

Every date and time a page shows is in it, and time slots are wall-clock windows in it: "today"
and "has this window begun" are read on the local clock, not on UTC's.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, tzinfo

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
