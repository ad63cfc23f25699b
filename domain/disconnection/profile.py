"""Jurisdiction profiles: the rules of a lawful cut as data, every number a setting.

A profile is frozen; an admin edits one by saving a changed copy (``profile.model_copy(update=...)``
or a new model from JSON). The presets follow ``shared/RULES.md``; where it gives no figure the
preset takes a conservative default (one that cuts later rather than sooner), marked "default"
in the comments below.

Day ranges (:class:`AnnualPeriod`) are inclusive at both ends and recur every year; one whose end
comes before its start runs over New Year (Dec 1 – Mar 31).
"""

from __future__ import annotations

import zoneinfo
from datetime import date, time, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from domain.disconnection.rules import DisconnectionReason

__all__ = [
    "CALIFORNIA_WATER",
    "DEFAULT_PROFILE",
    "NEW_YORK",
    "PENNSYLVANIA",
    "PRESETS",
    "TEXAS_ELECTRIC",
    "AnnualPeriod",
    "ContactAttemptRule",
    "JurisdictionProfile",
    "MedicalCertificateRule",
    "MonthDay",
    "NoticePeriod",
    "ReconnectionDeadlines",
    "ReconnectionFeeRule",
    "ReconnectionTrigger",
    "SeasonalDeadline",
    "TimeZoneName",
    "Weekday",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _wall_clock(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("give a local wall-clock time without an offset")
    return value


LocalTime = Annotated[
    time,
    AfterValidator(_wall_clock),
    WithJsonSchema(
        {
            "type": "string",
            "format": "partial-time",
            "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
            "description": "A local wall-clock time in the profile's time zone, `HH:MM[:SS]`, without an offset",
            "examples": ["08:00"],
        }
    ),
]
"""A time of day in the profile's zone (JSON Schema's ``format: time`` requires an offset)."""


def _known_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as America/New_York") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]

LONGEST = timedelta(days=365)
"""The longest lead or deadline a profile may set: a year is past any regulator's rule, and date
arithmetic on the largest timedelta overflows."""


def _whole_seconds(value: timedelta) -> timedelta:
    """RFC 3339 durations have no fractions of a second."""
    if value.microseconds:
        raise ValueError("give whole seconds")
    return value


def rfc_3339_duration(value: timedelta) -> str:
    """``P<days>D`` and ``T<h>H<m>M<s>S`` (each part only when not zero; ``P0D`` for nothing).

    The OpenAPI document promises ``format: duration``, RFC 3339's grammar, which lets no unit be
    skipped between two written ones: pydantic's own ``PT3H1S`` (no minutes) and ``P1Y1D`` (no
    months) are not durations there (found by the fuzzer). Days are never written as years or
    months, so the date part is always valid.
    """
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    date = f"{value.days}D" if value.days or not value.seconds else ""
    time_of_day = f"T{hours}H{minutes}M{seconds}S" if value.seconds else ""
    return f"P{date}{time_of_day}"


_WHOLE = AfterValidator(_whole_seconds)
_WRITTEN = PlainSerializer(rfc_3339_duration, return_type=str, when_used="json")
_SCHEMA = WithJsonSchema({"type": "string", "format": "duration", "examples": ["P3D", "PT72H"]})

Lead = Annotated[timedelta, Field(ge=timedelta(0), le=LONGEST), _WHOLE, _WRITTEN, _SCHEMA]
"""How long something waits after another: zero up to ``LONGEST``, in whole seconds."""

Within = Annotated[timedelta, Field(gt=timedelta(0), le=LONGEST), _WHOLE, _WRITTEN, _SCHEMA]
"""A deadline's span: more than zero, at most ``LONGEST``, in whole seconds."""
"""An IANA time zone name the running Python knows (``America/New_York``, ``UTC``)."""


class Weekday(IntEnum):
    """Python's numbering (``date.weekday()``): Monday is 0."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


MONDAY_TO_THURSDAY = frozenset({Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY})
MONDAY_TO_FRIDAY = MONDAY_TO_THURSDAY | {Weekday.FRIDAY}


class MonthDay(BaseModel):
    """A day of the year (month 1–12, day 1–31); Feb 29 falls on Feb 28 in other years."""

    model_config = _FROZEN

    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)

    @model_validator(mode="after")
    def _exists(self) -> Self:
        date(2000, self.month, self.day)  # a leap year: raises for Apr 31, Feb 30
        return self

    def in_year(self, year: int) -> date:
        """This day in ``year`` (Feb 29 becomes Feb 28 outside leap years)."""
        try:
            return date(year, self.month, self.day)
        except ValueError:
            return date(year, self.month, self.day - 1)

    def __str__(self) -> str:
        return f"{date(2000, self.month, 1):%b} {self.day}"


class AnnualPeriod(BaseModel):
    """A named range of days recurring every year, both ends inclusive (may run over New Year)."""

    model_config = _FROZEN

    label: str
    start: MonthDay
    end: MonthDay

    def occurrence(self, day: date) -> tuple[date, date] | None:
        """The first and last day of the occurrence containing ``day``, or None outside it."""
        for year in (day.year - 1, day.year):
            first = self.start.in_year(year)
            last = self.end.in_year(year if self.end_year_offset == 0 else year + 1)
            if first <= day <= last:
                return first, last
        return None

    @property
    def end_year_offset(self) -> int:
        """1 when the period runs over New Year, else 0."""
        return 1 if (self.end.month, self.end.day) < (self.start.month, self.start.day) else 0

    def __str__(self) -> str:
        return f"{self.label} ({self.start} – {self.end})"


class NoticePeriod(BaseModel):
    """The written final notice before a non-payment cut.

    The cut may fall on the ``days``-th calendar (or business) day after the notice's date, no
    earlier. ``valid_for_days``: a notice older than this no longer supports a cut (a new one is
    needed). ``min_days_after_due``: the notice may be issued only this many days after the payment
    due date.
    """

    model_config = _FROZEN

    days: int = Field(ge=0)
    business_days: bool = False
    valid_for_days: int | None = Field(default=None, ge=1)
    min_days_after_due: int = Field(default=0, ge=0)
    # the notice must go by post (a letter); else e-mail, or SMS, and a letter when neither is on file
    by_letter: bool = False


class ContactAttemptRule(BaseModel):
    """The contact attempt (phone or visit) required before a cut.

    ``attempts`` on that many separate local days, each between ``hours_start`` and ``hours_end``
    and on or after the final notice's day; the cut may follow ``lead`` after the attempt that
    completes the requirement.
    """

    model_config = _FROZEN

    lead: Lead
    attempts: int = Field(default=1, ge=1)
    hours_start: LocalTime = time(7)
    hours_end: LocalTime = time(21)

    @model_validator(mode="after")
    def _hours(self) -> Self:
        if self.hours_start >= self.hours_end:
            raise ValueError("contact attempt hours must start before they end")
        return self


class MedicalCertificateRule(BaseModel):
    """How long a medical certificate postpones a cut, and how often it may be renewed."""

    model_config = _FROZEN

    days: int = Field(default=30, ge=1)
    max_renewals: int = Field(default=2, ge=0)


class ReconnectionFeeRule(BaseModel):
    """What a reconnection costs (tariff-defined, cost-based): ``business_hours`` on ``weekdays``
    from ``hours_start`` to ``hours_end`` local time, ``after_hours`` outside them and ``urgent`` for
    an urgent (Critical) job, when set; never more than ``cap`` (a low-income or regulator cap)."""

    model_config = _FROZEN

    business_hours: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    after_hours: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    urgent: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    weekdays: frozenset[Weekday] = frozenset(Weekday(d) for d in range(5))
    hours_start: LocalTime = time(8)
    hours_end: LocalTime = time(17)
    cap: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)

    @model_validator(mode="after")
    def _hours(self) -> Self:
        if self.hours_start >= self.hours_end:
            raise ValueError("business hours must start before they end")
        return self


class ReconnectionTrigger(StrEnum):
    """What starts the reconnection clock after a cut."""

    PAYMENT = "payment"  # payment of the amount due, a signed payment plan or a guarantee
    ERRONEOUS_CUT = "erroneous_cut"
    MEDICAL_CERTIFICATE = "medical_certificate"


class SeasonalDeadline(BaseModel):
    """A reconnection deadline, optionally only during ``season``."""

    model_config = _FROZEN

    within: Within
    season: AnnualPeriod | None = None


class ReconnectionDeadlines(BaseModel):
    """Deadlines per trigger: the first entry whose season holds wins (an entry without one always holds).

    ``digging``: the deadline instead when street or sidewalk digging is needed (None: no exception).
    """

    model_config = _FROZEN

    after_payment: tuple[SeasonalDeadline, ...]
    after_erroneous_cut: tuple[SeasonalDeadline, ...]
    after_medical_certificate: tuple[SeasonalDeadline, ...]
    digging: Within | None = None

    @field_validator("after_payment", "after_erroneous_cut", "after_medical_certificate")
    @classmethod
    def _has_fallback(cls, value: tuple[SeasonalDeadline, ...]) -> tuple[SeasonalDeadline, ...]:
        if not value or value[-1].season is not None:
            raise ValueError("the last reconnection deadline must hold all year (no season)")
        return value

    def for_trigger(self, trigger: ReconnectionTrigger) -> tuple[SeasonalDeadline, ...]:
        return {
            ReconnectionTrigger.PAYMENT: self.after_payment,
            ReconnectionTrigger.ERRONEOUS_CUT: self.after_erroneous_cut,
            ReconnectionTrigger.MEDICAL_CERTIFICATE: self.after_medical_certificate,
        }[ReconnectionTrigger(trigger)]


class JurisdictionProfile(BaseModel):
    """Where, when and after what a non-payment cut is lawful, and how fast service comes back.

    The window: a cut may happen on ``cut_weekdays`` from ``cut_hours_start`` (inclusive) to
    ``cut_hours_end`` (exclusive), local time in ``time_zone``, never on a public holiday of
    ``holiday_country`` / ``holiday_subdivision`` (the ``holidays`` library) or an
    ``extra_holidays`` day, nor on the day before one when ``no_cut_before_holiday``, nor inside a
    ``forbidden_periods`` range. ``moratoria`` block non-payment cuts like a protection does.
    ``rules_apply_to``: the reasons these rules govern (a consumer's own request is not a termination).
    """

    model_config = _FROZEN

    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    time_zone: TimeZoneName
    cut_weekdays: frozenset[Weekday] = Field(min_length=1)
    cut_hours_start: LocalTime
    cut_hours_end: LocalTime
    holiday_country: str | None = "US"
    holiday_subdivision: str | None = None
    extra_holidays: frozenset[date] = frozenset()
    no_cut_before_holiday: bool = True
    forbidden_periods: tuple[AnnualPeriod, ...] = ()
    final_notice: NoticePeriod
    contact_attempt: ContactAttemptRule | None = None
    min_days_delinquent: int = Field(default=0, ge=0)
    # the least arrears a non-payment disconnection is pursued for: a payment that leaves less
    # cancels a pending one (and dunning starts none below it)
    min_arrears: Decimal = Field(default=Decimal("0.01"), ge=0, max_digits=12, decimal_places=2)
    moratoria: tuple[AnnualPeriod, ...] = ()
    # nightly dunning starts a non-payment disconnection once the arrears are this many days past
    # their due date (and min_days_delinquent, if later); stored profiles without it get 30
    dunning_after_days: int = Field(default=30, ge=0)
    medical_certificate: MedicalCertificateRule = MedicalCertificateRule()
    reconnection: ReconnectionDeadlines
    reconnection_fee: ReconnectionFeeRule | None = None  # None: reconnection is free
    rules_apply_to: frozenset[DisconnectionReason] = frozenset({DisconnectionReason.NON_PAYMENT})

    @model_validator(mode="after")
    def _hours(self) -> Self:
        if self.cut_hours_start >= self.cut_hours_end:
            raise ValueError("the cut window must start before it ends")
        return self

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


def _md(month: int, day: int) -> MonthDay:
    return MonthDay(month=month, day=day)


_DEC_TO_MAR = AnnualPeriod(label="Winter", start=_md(12, 1), end=_md(3, 31))
_DAY = timedelta(hours=24)
_ALL_YEAR_24H = (SeasonalDeadline(within=_DAY),)

# 66 Pa.C.S. Ch. 14; 52 Pa. Code Ch. 56.
PENNSYLVANIA = JurisdictionProfile(
    key="US-PA",
    name="Pennsylvania (electric and gas)",
    time_zone="America/New_York",
    cut_weekdays=MONDAY_TO_THURSDAY,  # no Friday since the 2019 rulemaking
    cut_hours_start=time(8),  # default: RULES.md names no hours
    cut_hours_end=time(16),  # default
    holiday_subdivision="PA",
    final_notice=NoticePeriod(days=10, valid_for_days=60),
    contact_attempt=ContactAttemptRule(
        lead=timedelta(days=3), attempts=2, hours_start=time(7), hours_end=time(21)
    ),  # §1406(b)
    # Dec 1 – Mar 31 needs Commission approval for some cuts (§56.100): modelled as a moratorium.
    moratoria=(AnnualPeriod(label="Winter moratorium", start=_md(12, 1), end=_md(3, 31)),),
    medical_certificate=MedicalCertificateRule(days=30, max_renewals=2),  # §56.114
    reconnection=ReconnectionDeadlines(  # §56.191, §1407(b)
        after_payment=(
            SeasonalDeadline(within=_DAY, season=_DEC_TO_MAR),
            SeasonalDeadline(within=timedelta(days=3)),
        ),
        after_erroneous_cut=_ALL_YEAR_24H,
        after_medical_certificate=_ALL_YEAR_24H,
        digging=timedelta(days=7),
    ),
)

# Home Energy Fair Practices Act; Public Service Law §§32, 35.
NEW_YORK = JurisdictionProfile(
    key="US-NY",
    name="New York (electric and gas)",
    time_zone="America/New_York",
    cut_weekdays=MONDAY_TO_THURSDAY,
    cut_hours_start=time(8),
    cut_hours_end=time(16),
    holiday_subdivision="NY",
    # "the two weeks around Christmas and New Year": exact dates are a default (wider, not narrower).
    forbidden_periods=(
        AnnualPeriod(label="Christmas and New Year fortnight", start=_md(12, 18), end=_md(1, 2)),
    ),
    final_notice=NoticePeriod(days=15, min_days_after_due=20),
    contact_attempt=ContactAttemptRule(lead=timedelta(hours=72)),  # default: 72 h, one attempt
    medical_certificate=MedicalCertificateRule(days=30, max_renewals=2),  # renewals: default
    reconnection=ReconnectionDeadlines(  # §35: 24 h after each trigger
        after_payment=_ALL_YEAR_24H,
        after_erroneous_cut=_ALL_YEAR_24H,
        after_medical_certificate=_ALL_YEAR_24H,
    ),
)

# 16 TAC §25.483 (retail electric). Cold and heat: admin-declared weather emergencies.
TEXAS_ELECTRIC = JurisdictionProfile(
    key="US-TX-electric",
    name="Texas (retail electric)",
    time_zone="America/Chicago",
    cut_weekdays=MONDAY_TO_THURSDAY,  # default: no cut on the day before a weekend
    cut_hours_start=time(8),  # default
    cut_hours_end=time(16),  # default
    holiday_subdivision="TX",
    final_notice=NoticePeriod(days=10),  # default: the 10 days RULES.md gives for water (§24.167)
    contact_attempt=ContactAttemptRule(lead=timedelta(hours=72)),  # default
    medical_certificate=MedicalCertificateRule(days=30, max_renewals=2),  # default
    reconnection=ReconnectionDeadlines(  # default: 24 h
        after_payment=_ALL_YEAR_24H,
        after_erroneous_cut=_ALL_YEAR_24H,
        after_medical_certificate=_ALL_YEAR_24H,
    ),
)

# SB 998, Health & Safety Code §116900 and following.
CALIFORNIA_WATER = JurisdictionProfile(
    key="US-CA-water",
    name="California (water, SB 998)",
    time_zone="America/Los_Angeles",
    cut_weekdays=MONDAY_TO_FRIDAY,  # default: business days
    cut_hours_start=time(8),  # default
    cut_hours_end=time(16),  # default
    holiday_subdivision="CA",
    final_notice=NoticePeriod(days=7, business_days=True),
    contact_attempt=ContactAttemptRule(lead=timedelta(hours=48)),  # default
    min_days_delinquent=60,
    medical_certificate=MedicalCertificateRule(days=30, max_renewals=2),  # default
    reconnection=ReconnectionDeadlines(  # default: 24 h
        after_payment=_ALL_YEAR_24H,
        after_erroneous_cut=_ALL_YEAR_24H,
        after_medical_certificate=_ALL_YEAR_24H,
    ),
    # §116914's low-income caps as commonly cited: $50 in business hours, $150 after hours (not
    # confirmed in RULES.md: settings to check against the tariff)
    reconnection_fee=ReconnectionFeeRule(
        business_hours=Decimal("50.00"), after_hours=Decimal("150.00"), cap=Decimal("150.00")
    ),
)

PRESETS: dict[str, JurisdictionProfile] = {
    p.key: p for p in (PENNSYLVANIA, NEW_YORK, TEXAS_ELECTRIC, CALIFORNIA_WATER)
}
DEFAULT_PROFILE = PENNSYLVANIA
