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

__all__ = [
    "Stage",
    "first_notice_day",
    "new_notice_needed",
    "next_contact_attempt",
    "notice_period_ends",
    "notice_valid_until",
    "stage_at",
]

_MIDNIGHT = datetime.min.time()
_ONE_DAY = timedelta(days=1)


class Stage(StrEnum):
    FINAL_NOTICE_PERIOD = "final_notice_period"
    CONTACT_ATTEMPTS = "contact_attempts"
    AWAITING_LAWFUL_MOMENT = "awaiting_lawful_moment"
    READY_FOR_FIELD_WORK = "ready_for_field_work"


def first_notice_day(profile: JurisdictionProfile, payment_due_on: date | None) -> date | None:
    """The first local day a final notice may be issued: ``min_days_after_due`` after the payment
    due date (None: any day, or the due date is not known)."""
    after = profile.final_notice.min_days_after_due
    if not after or payment_due_on is None:
        return None
    return payment_due_on + timedelta(days=after)


def notice_valid_until(profile: JurisdictionProfile, notice_on: date) -> date | None:
    """The last local day a final notice dated ``notice_on`` supports a cut (None: no expiry)."""
    days = profile.final_notice.valid_for_days
    return None if days is None else notice_on + timedelta(days=days)


def new_notice_needed(
    profile: JurisdictionProfile, notice_on: date, *, payment_due_on: date | None, today: date
) -> str | None:
    """Why the final notice of ``notice_on`` no longer supports a cut on ``today`` — it expired, or
    it was issued before the due date allowed — so a new one must be sent; None while it does."""
    valid_until = notice_valid_until(profile, notice_on)
    if valid_until is not None and today > valid_until:
        return (
            f"the final notice of {notice_on.isoformat()} expired after {valid_until.isoformat()} "
            f"({profile.final_notice.valid_for_days} days in {profile.name})"
        )
    first = first_notice_day(profile, payment_due_on)
    if first is not None and notice_on < first:
        return (
            f"the final notice of {notice_on.isoformat()} came before {first.isoformat()}, "
            f"{profile.final_notice.min_days_after_due} days after the payment due date"
        )
    return None


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
