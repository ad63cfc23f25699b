"""The earliest lawful moment for a disconnection, and the check at the moment of the cut.

Pure and deterministic: callers pass ``now`` (timezone-aware; in a workflow ``workflow.now()``).
Days and hours are judged in the profile's local time, DST included.

For a reason the profile's rules govern (non-payment by default) a cut is lawful at ``t`` when:

1. a final notice was sent, issued no sooner than ``min_days_after_due`` after the payment due
   date, and ``t`` falls on or after the ``final_notice.days``-th (calendar or business) day after
   it — and, when the notice expires (``valid_for_days``), on or before its last valid day;
2. the account is ``min_days_delinquent`` days past due on ``t``'s day;
3. the required contact attempts were made and ``contact_attempt.lead`` has passed since the one
   that completed them;
4. no protection or seasonal moratorium is in force at ``t``;
5. ``t`` lies inside the lawful window (:mod:`domain.disconnection.window`).

Public holidays come from ``calendar`` (a :class:`~domain.disconnection.window.HolidayCalendar`)
when given — always inside a Temporal workflow — else from the ``holidays`` library.

Any other reason may be carried out at once. The search is bounded: it gives up (code
``no_lawful_moment``) after scanning ``horizon`` (400 days by default) of window and moratorium
without finding a lawful moment — only a profile that allows (almost) no day hits that. Jumps
over recorded protections do not count against the horizon.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.disconnection.profile import JurisdictionProfile, ReconnectionTrigger
from domain.disconnection.protections import Hold, Protection, ProtectionKind, holds_at
from domain.disconnection.rules import DisconnectionReason, parse_reason
from domain.disconnection.window import (
    HolidayCalendar,
    add_business_days,
    at_local,
    next_window_candidate,
    window_refusal,
)
from domain.request.rules import RefusalReason, TransitionRefused

__all__ = [
    "DEFAULT_HORIZON",
    "RECONNECTION_TRIGGERS",
    "CutBlocked",
    "CutRefusalCode",
    "CutVerdict",
    "LawfulMoment",
    "NoticesSent",
    "RegulatedTarget",
    "check_cut",
    "cut_verdict",
    "earliest_lawful_moment",
    "reconnection_deadline",
    "reconnection_target",
]

DEFAULT_HORIZON = timedelta(days=400)
_MIDNIGHT = datetime.min.time()


class CutRefusalCode(StrEnum):
    """Why a cut is not lawful (besides the window's own codes, see ``WindowRefusalCode``)."""

    NOTICE_REQUIRED = "final_notice_required"
    NOTICE_TOO_EARLY = "final_notice_too_early"
    NOTICE_PERIOD_RUNNING = "final_notice_period_running"
    NOTICE_EXPIRED = "final_notice_expired"
    PAYMENT_DUE_DATE_REQUIRED = "payment_due_date_required"
    NOT_DELINQUENT_LONG_ENOUGH = "not_delinquent_long_enough"
    CONTACT_ATTEMPT_REQUIRED = "contact_attempt_required"
    CONTACT_LEAD_TIME = "contact_lead_time_running"
    PROTECTED = "protected"
    NO_LAWFUL_MOMENT = "no_lawful_moment"


class NoticesSent(BaseModel):
    """The facts of the notice steps: the final notice's date, the contact attempts, the due date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    final_notice_on: date | None = None
    contact_attempts: tuple[AwareDatetime, ...] = ()
    payment_due_on: date | None = None


@dataclass(frozen=True, slots=True)
class LawfulMoment:
    """The earliest moment the cut is lawful, in the profile's time zone."""

    at: datetime


@dataclass(frozen=True, slots=True)
class CutBlocked:
    """No lawful moment can be computed: a step is missing, or a protection has no end.

    ``hold`` names the protection when one blocks indefinitely.
    """

    code: str
    message: str
    hold: Hold | None = None


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class _Floors:
    """What the notice steps require of the cut: earliest day, earliest moment, last valid day."""

    earliest_day: date | None
    notice_day: date | None
    contact_floor: datetime | None
    contact_lead: timedelta
    last_valid_day: date | None
    delinquent_day: date | None


def _floors(
    profile: JurisdictionProfile, notices: NoticesSent, calendar: HolidayCalendar | None
) -> _Floors | CutBlocked:
    rule = profile.final_notice
    needs_due = rule.min_days_after_due > 0 or profile.min_days_delinquent > 0
    if needs_due and notices.payment_due_on is None:
        return CutBlocked(
            CutRefusalCode.PAYMENT_DUE_DATE_REQUIRED,
            f"{profile.name} counts the notice and delinquency from the payment due date; record it first.",
        )
    notice_on = notices.final_notice_on
    if notice_on is None:
        return CutBlocked(
            CutRefusalCode.NOTICE_REQUIRED,
            f"A final notice is required before a non-payment disconnection in {profile.name}; send one first.",
        )
    due = notices.payment_due_on
    if due is not None and rule.min_days_after_due:
        allowed_from = due + timedelta(days=rule.min_days_after_due)
        if notice_on < allowed_from:
            return CutBlocked(
                CutRefusalCode.NOTICE_TOO_EARLY,
                f"The final notice of {notice_on.isoformat()} was sent too early: in {profile.name} it may "
                f"be issued only from {allowed_from.isoformat()}, {rule.min_days_after_due} days after "
                "the payment due date. Send a new one.",
            )
    if rule.business_days:
        notice_day = add_business_days(profile, notice_on, rule.days, calendar)
    else:
        notice_day = notice_on + timedelta(days=rule.days)
    last_valid = None if rule.valid_for_days is None else notice_on + timedelta(days=rule.valid_for_days)
    delinquent_day = None
    if due is not None and profile.min_days_delinquent:
        delinquent_day = due + timedelta(days=profile.min_days_delinquent)
    earliest_day = max(d for d in (notice_day, delinquent_day) if d is not None)

    contact_floor = None
    contact_lead = timedelta(0)
    contact = profile.contact_attempt
    if contact is not None:
        days: dict[date, datetime] = {}
        for attempt in sorted(notices.contact_attempts):
            _require_aware(attempt, "contact attempt")
            local = attempt.astimezone(profile.zone)
            if local.date() >= notice_on and contact.hours_start <= local.time() < contact.hours_end:
                days.setdefault(local.date(), attempt)
        if len(days) < contact.attempts:
            separate = f" on {contact.attempts} separate days" if contact.attempts > 1 else ""
            return CutBlocked(
                CutRefusalCode.CONTACT_ATTEMPT_REQUIRED,
                f"{profile.name} requires {contact.attempts} contact attempt(s){separate} between "
                f"{contact.hours_start:%H:%M} and {contact.hours_end:%H:%M}, after the final notice and "
                f"at least {_duration(contact.lead)} before the cut; {len(days)} recorded.",
            )
        contact_lead = contact.lead
        # Elapsed time, not wall-clock: 72 h across a DST change is still 72 h.
        contact_floor = sorted(days.values())[contact.attempts - 1].astimezone(UTC) + contact.lead
    return _Floors(earliest_day, notice_day, contact_floor, contact_lead, last_valid, delinquent_day)


def _duration(value: timedelta) -> str:
    hours = value.total_seconds() / 3600
    if hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours:g} hours"


def _expired(
    profile: JurisdictionProfile, floors: _Floors, notices: NoticesSent, held_by: Hold | None = None
) -> CutBlocked:
    assert floors.last_valid_day is not None and notices.final_notice_on is not None
    held = "" if held_by is None else f" Meanwhile: {held_by.message}"
    return CutBlocked(
        CutRefusalCode.NOTICE_EXPIRED,
        f"The final notice of {notices.final_notice_on.isoformat()} supports a disconnection only until "
        f"{floors.last_valid_day.isoformat()} in {profile.name}; send a new final notice.{held}",
        held_by,
    )


def earliest_lawful_moment(
    profile: JurisdictionProfile,
    *,
    now: datetime,
    reason: DisconnectionReason | str = DisconnectionReason.NON_PAYMENT,
    notices: NoticesSent | None = None,
    protections: Iterable[Protection] = (),
    service_area: str | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
    calendar: HolidayCalendar | None = None,
) -> LawfulMoment | CutBlocked:
    """The earliest moment at or after ``now`` a cut for ``reason`` is lawful, or why there is none.

    Never inside a forbidden day, hour or period, a protection or a moratorium; never before the
    notice period, the delinquency period and the contact lead time have run. :class:`CutBlocked`
    when a notice step is missing, the notice has expired, a protection has no end, or nothing
    lawful turns up within ``horizon``. A reason the rules do not govern is lawful at ``now``.
    """
    _require_aware(now, "now")
    if parse_reason(reason) not in profile.rules_apply_to:
        return LawfulMoment(now.astimezone(profile.zone))
    notices = notices or NoticesSent()
    floors = _floors(profile, notices, calendar)
    if isinstance(floors, CutBlocked):
        return floors
    protections = tuple(protections)
    candidate = now
    if floors.earliest_day is not None:
        candidate = max(candidate, at_local(profile, floors.earliest_day, _MIDNIGHT))
    if floors.contact_floor is not None:
        candidate = max(candidate, floors.contact_floor)
    scanned = timedelta(0)
    held_by: Hold | None = None  # the protection that last pushed the cut later, for the CSR
    while True:
        if (
            floors.last_valid_day is not None
            and candidate.astimezone(profile.zone).date() > floors.last_valid_day
        ):
            return _expired(profile, floors, notices, held_by)
        if scanned > horizon:
            return CutBlocked(
                CutRefusalCode.NO_LAWFUL_MOMENT,
                f"No lawful moment for a disconnection in the {horizon.days} days searched; check the "
                f"profile {profile.name}.",
            )
        holds = holds_at(profile, protections, at=candidate, reason=reason, service_area=service_area)
        if holds:
            endless = next((h for h in holds if h.until is None), None)
            if endless is not None:
                return CutBlocked(CutRefusalCode.PROTECTED, endless.message, endless)
            held_by = max(holds, key=lambda h: h.until or candidate)
            lifted = held_by.until
            assert lifted is not None
            if any(h.kind is ProtectionKind.SEASONAL_MORATORIUM for h in holds):
                scanned += lifted - candidate
            candidate = lifted
            continue
        if window_refusal(profile, candidate, calendar) is None:
            return LawfulMoment(candidate.astimezone(profile.zone))
        following = next_window_candidate(profile, candidate, calendar)
        scanned += following - candidate
        candidate = following


@dataclass(frozen=True, slots=True)
class CutVerdict:
    """Whether a cut is lawful at ``at``: every problem with it, and the earliest lawful moment."""

    at: datetime
    problems: tuple[RefusalReason, ...]
    earliest: LawfulMoment | CutBlocked

    @property
    def lawful(self) -> bool:
        return not self.problems


def _when(moment: datetime, profile: JurisdictionProfile) -> str:
    return f"{moment.astimezone(profile.zone):%A %Y-%m-%d %H:%M %Z}"


def cut_verdict(
    profile: JurisdictionProfile,
    *,
    at: datetime,
    reason: DisconnectionReason | str = DisconnectionReason.NON_PAYMENT,
    notices: NoticesSent | None = None,
    protections: Iterable[Protection] = (),
    service_area: str | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
    calendar: HolidayCalendar | None = None,
) -> CutVerdict:
    """Every reason a cut at ``at`` would be unlawful (none: lawful), with the earliest lawful moment.

    Lawful exactly when :func:`earliest_lawful_moment` with ``now=at`` answers ``at`` itself.
    """
    _require_aware(at, "at")
    protections = tuple(protections)
    notices = notices or NoticesSent()
    earliest = earliest_lawful_moment(
        profile,
        now=at,
        reason=reason,
        notices=notices,
        protections=protections,
        service_area=service_area,
        horizon=horizon,
        calendar=calendar,
    )
    if parse_reason(reason) not in profile.rules_apply_to:
        return CutVerdict(at, (), earliest)
    problems: list[RefusalReason] = []
    floors = _floors(profile, notices, calendar)
    if isinstance(floors, CutBlocked):
        problems.append(RefusalReason(floors.code, floors.message))
    else:
        day = at.astimezone(profile.zone).date()
        if floors.notice_day is not None and day < floors.notice_day:
            problems.append(
                RefusalReason(
                    CutRefusalCode.NOTICE_PERIOD_RUNNING,
                    f"The final notice period runs until {floors.notice_day.isoformat()}; "
                    "no disconnection before that day.",
                )
            )
        if floors.last_valid_day is not None and day > floors.last_valid_day:
            expired = _expired(profile, floors, notices)
            problems.append(RefusalReason(expired.code, expired.message))
        if floors.delinquent_day is not None and day < floors.delinquent_day:
            problems.append(
                RefusalReason(
                    CutRefusalCode.NOT_DELINQUENT_LONG_ENOUGH,
                    f"The account must be {profile.min_days_delinquent} days past due before a "
                    f"disconnection: not before {floors.delinquent_day.isoformat()}.",
                )
            )
        if floors.contact_floor is not None and at < floors.contact_floor:
            problems.append(
                RefusalReason(
                    CutRefusalCode.CONTACT_LEAD_TIME,
                    f"The contact attempt must precede the cut by {_duration(floors.contact_lead)}: "
                    f"not before {_when(floors.contact_floor, profile)}.",
                )
            )
    for hold in holds_at(profile, protections, at=at, reason=reason, service_area=service_area):
        problems.append(RefusalReason(CutRefusalCode.PROTECTED, hold.message))
    refused = window_refusal(profile, at, calendar)
    if refused is not None:
        problems.append(RefusalReason(refused.code, refused.message))
    return CutVerdict(at, tuple(problems), earliest)


def check_cut(
    profile: JurisdictionProfile,
    *,
    at: datetime,
    reason: DisconnectionReason | str = DisconnectionReason.NON_PAYMENT,
    notices: NoticesSent | None = None,
    protections: Iterable[Protection] = (),
    service_area: str | None = None,
    calendar: HolidayCalendar | None = None,
) -> None:
    """Raise :class:`TransitionRefused` (every problem, then the earliest lawful moment) unless lawful at ``at``."""
    verdict = cut_verdict(
        profile,
        at=at,
        reason=reason,
        notices=notices,
        protections=protections,
        service_area=service_area,
        calendar=calendar,
    )
    if verdict.lawful:
        return
    earliest = verdict.earliest
    if isinstance(earliest, LawfulMoment):
        tail = f"Earliest lawful moment: {_when(earliest.at, profile)}."
    else:
        tail = f"No lawful moment yet: {earliest.message}"
    problems = [*verdict.problems, RefusalReason("earliest_lawful_moment", tail)]
    raise TransitionRefused.from_problems(problems)


def reconnection_deadline(
    profile: JurisdictionProfile, *, trigger: ReconnectionTrigger, at: datetime, digging: bool = False
) -> datetime:
    """When service must be back, for a ``trigger`` (payment, erroneous cut, certificate) at ``at``.

    Deadlines are elapsed time (24 h across a DST change is 24 h). The season is judged on
    ``at``'s local day; ``digging`` (street or sidewalk works) uses the
    profile's digging deadline when it has one.
    """
    _require_aware(at, "at")
    deadlines = profile.reconnection
    if digging and deadlines.digging is not None:
        return (at.astimezone(UTC) + deadlines.digging).astimezone(profile.zone)
    day = at.astimezone(profile.zone).date()
    for deadline in deadlines.for_trigger(trigger):
        if deadline.season is None or deadline.season.occurrence(day) is not None:
            return (at.astimezone(UTC) + deadline.within).astimezone(profile.zone)
    raise AssertionError("unreachable: the last deadline holds all year")  # pragma: no cover


# The reconnection reasons that start a regulated deadline, and the trigger each one is.
RECONNECTION_TRIGGERS: dict[str, ReconnectionTrigger] = {
    "Outstanding balance cleared": ReconnectionTrigger.PAYMENT,
    "Disconnected in error": ReconnectionTrigger.ERRONEOUS_CUT,
    "Medical certificate": ReconnectionTrigger.MEDICAL_CERTIFICATE,
}
_AFTER = {
    ReconnectionTrigger.PAYMENT: "after payment",
    ReconnectionTrigger.ERRONEOUS_CUT: "after an erroneous cut",
    ReconnectionTrigger.MEDICAL_CERTIFICATE: "on a medical certificate",
}


@dataclass(frozen=True, slots=True)
class RegulatedTarget:
    """A reconnection's resolution target set by the regulator rather than the standard SLA."""

    due_at: datetime
    basis: str  # shown on the request: whose rule, how long, after what


def reconnection_target(profile: JurisdictionProfile, *, reason: str, at: datetime) -> RegulatedTarget | None:
    """The regulated resolution target of a reconnection for ``reason`` requested at ``at``; None
    when the reason starts no deadline (the standard target applies). Calendar time, always."""
    trigger = RECONNECTION_TRIGGERS.get(reason)
    if trigger is None:
        return None
    due = reconnection_deadline(profile, trigger=trigger, at=at)
    within = _duration(due.astimezone(UTC) - at.astimezone(UTC))
    return RegulatedTarget(
        due_at=due,
        basis=f"Regulated deadline: service back within {within} {_AFTER[trigger]} ({profile.name})",
    )
