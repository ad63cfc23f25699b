"""The notice steps of a non-payment disconnection, as a schedule: when the final notice period
ends, when the next contact attempt is due, and which stage the request is in.

Pure: callers pass ``now`` (timezone-aware). The workflow sleeps on durable timers until the
moments computed here; :mod:`.lawful` still judges the cut itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.disconnection.profile import JurisdictionProfile
from domain.disconnection.window import HolidayCalendar, add_business_days, at_local

__all__ = ["Stage", "next_contact_attempt", "notice_period_ends", "stage_at"]

_MIDNIGHT = datetime.min.time()
_ONE_DAY = timedelta(days=1)


class Stage(StrEnum):
    FINAL_NOTICE_PERIOD = "final_notice_period"
    CONTACT_ATTEMPTS = "contact_attempts"
    AWAITING_LAWFUL_MOMENT = "awaiting_lawful_moment"
    READY_FOR_FIELD_WORK = "ready_for_field_work"


def notice_day(
    profile: JurisdictionProfile, notice_on: date, calendar: HolidayCalendar | None = None
) -> date:
    """The first local day a cut may follow a final notice dated ``notice_on``."""
    rule = profile.final_notice
    if rule.business_days:
        return add_business_days(profile, notice_on, rule.days, calendar)
    return notice_on + timedelta(days=rule.days)


def notice_period_ends(
    profile: JurisdictionProfile, notice_on: date, calendar: HolidayCalendar | None = None
) -> datetime:
    """The moment the final notice period has run: local midnight starting :func:`notice_day`."""
    return at_local(profile, notice_day(profile, notice_on, calendar), _MIDNIGHT)


def next_contact_attempt(
    profile: JurisdictionProfile, *, not_before: datetime, attempts: Sequence[datetime]
) -> datetime | None:
    """When the next contact attempt is due: the first moment at or after ``not_before`` inside
    the profile's contact hours on a local day no earlier attempt used. None when the profile
    needs no (more) attempts."""
    rule = profile.contact_attempt
    if rule is None:
        return None
    zone = profile.zone
    used = {a.astimezone(zone).date() for a in attempts}
    if len(used) >= rule.attempts:
        return None
    candidate = not_before.astimezone(zone)
    # each pass either returns, or moves to the opening of the same day (once) or to a later day
    for _ in range(2 * len(used) + 6):
        day = candidate.date()
        if day in used or candidate.time() >= rule.hours_end:
            candidate = at_local(profile, day + _ONE_DAY, rule.hours_start)
            continue
        if candidate.time() < rule.hours_start:
            # the opening; inside a DST gap it lands later on the wall clock: check it again
            candidate = max(candidate, at_local(profile, day, rule.hours_start))
            if candidate.time() < rule.hours_start or candidate.time() >= rule.hours_end:
                candidate = at_local(profile, day + _ONE_DAY, rule.hours_start)
            continue
        return candidate
    raise AssertionError("unreachable: contact hours exist on every day")  # pragma: no cover


def stage_at(
    now: datetime,
    *,
    period_ends: datetime,
    attempts_made: int,
    attempts_required: int,
    earliest: datetime | None,
) -> Stage:
    """The stage at ``now``: the notice period, the contact attempts, waiting for the lawful
    moment (``earliest``, None when none can be computed), or ready for field work."""
    if now < period_ends:
        return Stage.FINAL_NOTICE_PERIOD
    if attempts_made < attempts_required:
        return Stage.CONTACT_ATTEMPTS
    if earliest is None or now < earliest:
        return Stage.AWAITING_LAWFUL_MOMENT
    return Stage.READY_FOR_FIELD_WORK
