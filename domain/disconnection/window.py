"""The profile's calendar: holidays, business days and the lawful window for a cut.

Local dates and times are the profile's (``profile.time_zone``), DST included: a moment is
converted to local time before its day and hour are judged. Public holidays come from a
:class:`HolidayCalendar` when one is passed (inside a Temporal workflow, always), else from the
``holidays`` library (observed days included, e.g. July 3 when July 4 is a Saturday); the
profile's ``extra_holidays`` are added either way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

import holidays
from pydantic import BaseModel, ConfigDict

from domain.disconnection.profile import JurisdictionProfile

__all__ = [
    "HolidayCalendar",
    "WindowRefusal",
    "WindowRefusalCode",
    "add_business_days",
    "at_local",
    "day_refusal",
    "holiday_calendar",
    "holiday_name",
    "is_business_day",
    "next_window_candidate",
    "window_refusal",
]

_ONE_DAY = timedelta(days=1)


class HolidayCalendar(BaseModel):
    """Public holidays of a profile's country and region for ``first_year`` to ``last_year``, as data.

    Built by :func:`holiday_calendar` where I/O is allowed (an activity, the API) and passed to the
    functions here — inside a Temporal workflow, whose sandbox forbids what the ``holidays``
    library does to load its translations. Asking about a day outside its years raises.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_year: int
    last_year: int
    days: dict[date, str]

    def name(self, day: date) -> str | None:
        if not self.first_year <= day.year <= self.last_year:
            raise ValueError(
                f"the holiday calendar covers {self.first_year}–{self.last_year}, not {day.isoformat()}"
            )
        return self.days.get(day)


@functools.lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    # English names whatever the machine's locale, so messages do not vary by host.
    return dict(holidays.country_holidays(country, subdiv=subdivision, years=year, language="en_US"))


def holiday_calendar(profile: JurisdictionProfile, first_year: int, last_year: int) -> HolidayCalendar:
    """The profile's public holidays from the ``holidays`` library (reads its data files: no workflow)."""
    days: dict[date, str] = {}
    if profile.holiday_country is not None:
        for year in range(first_year, last_year + 1):
            days.update(_public_holidays(profile.holiday_country, profile.holiday_subdivision, year))
    return HolidayCalendar(first_year=first_year, last_year=last_year, days=days)


def holiday_name(
    profile: JurisdictionProfile, day: date, calendar: HolidayCalendar | None = None
) -> str | None:
    """The holiday's name when ``day`` is a public holiday or an admin-added one, else None.

    Public holidays come from ``calendar`` when given, else from the ``holidays`` library.
    """
    if day in profile.extra_holidays:
        return "Utility holiday"
    if calendar is not None:
        return calendar.name(day)
    if profile.holiday_country is None:
        return None
    return _public_holidays(profile.holiday_country, profile.holiday_subdivision, day.year).get(day)


def is_business_day(profile: JurisdictionProfile, day: date, calendar: HolidayCalendar | None = None) -> bool:
    """Monday to Friday and not a holiday."""
    return day.weekday() < 5 and holiday_name(profile, day, calendar) is None


def add_business_days(
    profile: JurisdictionProfile, day: date, count: int, calendar: HolidayCalendar | None = None
) -> date:
    """The ``count``-th business day after ``day`` (``day`` itself when ``count`` is 0)."""
    while count > 0:
        day += _ONE_DAY
        if is_business_day(profile, day, calendar):
            count -= 1
    return day


def at_local(profile: JurisdictionProfile, day: date, at: time, *, fold: int = 0) -> datetime:
    """The moment ``day`` at wall-clock ``at`` in the profile's zone.

    A wall time repeated when clocks go back is its first occurrence (``fold=1``: its second); one
    skipped when they go forward becomes the first moment after the gap (the transition itself).
    """
    zone = profile.zone
    wall = datetime.combine(day, at).replace(fold=fold)
    moment = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    if moment.replace(tzinfo=None, fold=0) == wall.replace(fold=0):
        return moment
    # Skipped by DST: bisect (whole seconds) for the first instant whose wall time reaches ``wall``.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(moment.timestamp())
    while high - low > 1:
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, zone)


class WindowRefusalCode(StrEnum):
    FORBIDDEN_WEEKDAY = "forbidden_weekday"
    HOLIDAY = "holiday"
    HOLIDAY_EVE = "holiday_eve"
    FORBIDDEN_PERIOD = "forbidden_period"
    OUTSIDE_HOURS = "outside_hours"


@dataclass(frozen=True, slots=True)
class WindowRefusal:
    """Why a moment is outside the lawful window, in words a CSR can read."""

    code: WindowRefusalCode
    message: str


def _hours(profile: JurisdictionProfile) -> str:
    return f"{profile.cut_hours_start:%H:%M}–{profile.cut_hours_end:%H:%M}"


def day_refusal(
    profile: JurisdictionProfile, day: date, calendar: HolidayCalendar | None = None
) -> WindowRefusal | None:
    """Why no cut may happen at all on local ``day``, or None when the day is allowed."""
    if day.weekday() not in profile.cut_weekdays:
        allowed = ", ".join(f"{date(2024, 1, 1 + d):%A}" for d in sorted(profile.cut_weekdays))
        return WindowRefusal(
            WindowRefusalCode.FORBIDDEN_WEEKDAY,
            f"{day:%A} {day.isoformat()} is not a disconnection day in {profile.name} (only {allowed}).",
        )
    name = holiday_name(profile, day, calendar)
    if name is not None:
        return WindowRefusal(WindowRefusalCode.HOLIDAY, f"{day.isoformat()} is a holiday ({name}).")
    if profile.no_cut_before_holiday:
        eve_of = holiday_name(profile, day + _ONE_DAY, calendar)
        if eve_of is not None:
            return WindowRefusal(
                WindowRefusalCode.HOLIDAY_EVE,
                f"{day.isoformat()} is the day before a holiday ({eve_of}); no disconnection then.",
            )
    for period in profile.forbidden_periods:
        if period.occurrence(day) is not None:
            return WindowRefusal(
                WindowRefusalCode.FORBIDDEN_PERIOD,
                f"{day.isoformat()} falls in {period}; no disconnection then.",
            )
    return None


def window_refusal(
    profile: JurisdictionProfile, moment: datetime, calendar: HolidayCalendar | None = None
) -> WindowRefusal | None:
    """Why ``moment`` (timezone-aware) is outside the lawful window, or None when it is inside."""
    local = moment.astimezone(profile.zone)
    refused = day_refusal(profile, local.date(), calendar)
    if refused is not None:
        return refused
    if not profile.cut_hours_start <= local.time() < profile.cut_hours_end:
        return WindowRefusal(
            WindowRefusalCode.OUTSIDE_HOURS,
            f"{local:%H:%M} is outside disconnection hours ({_hours(profile)} local time).",
        )
    return None


def next_window_candidate(
    profile: JurisdictionProfile, moment: datetime, calendar: HolidayCalendar | None = None
) -> datetime:
    """The next opening strictly after ``moment``, once the window has refused ``moment``.

    No lawful moment lies between the two: the days skipped are forbidden, the hours closed.
    """
    local = moment.astimezone(profile.zone)
    day = local.date()
    if day_refusal(profile, day, calendar) is None and local.time() < profile.cut_hours_start:
        for fold in (0, 1):  # the opening may come round twice when clocks go back
            opening = at_local(profile, day, profile.cut_hours_start, fold=fold)
            if opening > moment:
                return opening
    return at_local(profile, day + _ONE_DAY, profile.cut_hours_start)
