"""The business calendar an admin edits, and the :class:`BusinessCalendar` it resolves to.

:class:`CalendarSettings` is what is stored (one system setting): the utility's time zone, its
working windows per weekday (several a day allowed), the country / region whose public holidays
close the office (the ``holidays`` library) and the closures the admin adds (a date and a label).
:func:`resolved_calendar` turns it into the :class:`BusinessCalendar` the SLA maths counts in, its
holidays resolved for the years given, so a request can carry it into the workflow sandbox (which
cannot load the ``holidays`` library).

Pure: no I/O, no clock.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from domain.business_time import BusinessCalendar, WorkWindow, with_public_holidays
from domain.disconnection.profile import TimeZoneName, Weekday

WeekdayKey = Annotated[
    Weekday,
    WithJsonSchema(
        {"type": "string", "enum": [str(d.value) for d in Weekday], "description": "0 = Monday … 6 = Sunday"}
    ),
]
"""A weekday as an object key: JSON keys are strings ("0" is Monday), validated as the weekday."""

__all__ = [
    "CalendarSettings",
    "Closure",
    "Holiday",
    "closed_days",
    "country_names",
    "resolved_calendar",
    "supported_countries",
]

ClosureLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
MAX_CLOSURES = 500
MAX_WINDOWS_PER_DAY = 6


@cache
def supported_countries() -> dict[str, tuple[str, ...]]:
    """Every country the ``holidays`` library knows (ISO 3166-1 alpha-2) and its subdivision codes."""
    import holidays

    supported = holidays.list_supported_countries(include_aliases=False)
    return {code: tuple(subdivisions) for code, subdivisions in sorted(supported.items())}


@cache
def country_names() -> dict[str, str]:
    """A readable name per supported country code ('US' → 'United States'), for pick lists."""
    import re

    from holidays import registry

    names = {}
    for entity in registry.COUNTRIES.values():
        class_name, code = entity[0], entity[1]
        names[code] = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", class_name)
    return {code: names.get(code, code) for code in supported_countries()}


class Closure(BaseModel):
    """A day the utility is closed besides the public holidays (a company day, a move)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    label: ClosureLabel


class Holiday(BaseModel):
    """A closed day of the resolved calendar, and why: a public holiday's name or a closure's label."""

    model_config = ConfigDict(frozen=True)

    date: date
    name: str
    public: bool = Field(description="A public holiday (true) or a closure an admin added (false)")


class CalendarSettings(BaseModel):
    """The business calendar as an admin defines it (stored as one system setting).

    Refuses an unknown time zone, overlapping windows on a day, a week without any working window,
    a country or subdivision the ``holidays`` library does not know, a subdivision without its
    country, and two closures on one date.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "time_zone": "America/Los_Angeles",
                    "hours": {
                        "0": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
                        "1": [{"start": "08:00", "end": "17:00"}],
                        "2": [{"start": "08:00", "end": "17:00"}],
                        "3": [{"start": "08:00", "end": "17:00"}],
                        "4": [{"start": "08:00", "end": "16:00"}],
                    },
                    "holidays_country": "US",
                    "holidays_subdivision": "CA",
                    "closures": [{"date": "2026-12-24", "label": "Christmas Eve"}],
                }
            ]
        },
    )

    time_zone: TimeZoneName = Field(
        "UTC", description="IANA time zone the working windows are wall-clock times in"
    )
    hours: dict[WeekdayKey, tuple[WorkWindow, ...]] = Field(
        default_factory=lambda: dict(BusinessCalendar().hours),  # Monday to Friday, 08:00-17:00
        description="Working windows per weekday (0 = Monday … 6 = Sunday); a day left out is closed. "
        "Several windows a day are allowed (e.g. a lunch break); they must not overlap. "
        "An end of 00:00 means midnight.",
    )
    holidays_country: str | None = Field(
        None, description="ISO 3166-1 alpha-2 code whose public holidays close the office (null: none)"
    )
    holidays_subdivision: str | None = Field(
        None, description="The country's state / region code for its regional holidays (e.g. CA)"
    )
    closures: tuple[Closure, ...] = Field(
        (), max_length=MAX_CLOSURES, description="Days closed besides the public holidays"
    )

    @field_validator("hours")
    @classmethod
    def _working_week(
        cls, value: dict[Weekday, tuple[WorkWindow, ...]]
    ) -> dict[Weekday, tuple[WorkWindow, ...]]:
        crowded = [day.name.title() for day, windows in value.items() if len(windows) > MAX_WINDOWS_PER_DAY]
        if crowded:
            raise ValueError(f"{', '.join(crowded)}: at most {MAX_WINDOWS_PER_DAY} working windows a day")
        try:  # the calendar's own rule: windows of one day never overlap
            checked = BusinessCalendar(hours=value).hours
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        if not any(checked.values()):
            raise ValueError("the week needs at least one working window")
        return {day: windows for day, windows in sorted(checked.items()) if windows}

    @field_validator("holidays_country", "holidays_subdivision")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        value = value.strip().upper() if value is not None else None
        return value or None

    @field_validator("holidays_country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None and value not in supported_countries():
            raise ValueError(
                f"unknown holidays country {value!r}; use an ISO 3166-1 alpha-2 code the holidays "
                "library supports, e.g. US, CA, GB, DE"
            )
        return value

    @field_validator("closures")
    @classmethod
    def _one_closure_a_day(cls, value: tuple[Closure, ...]) -> tuple[Closure, ...]:
        days = [closure.date for closure in value]
        repeated = sorted({day for day in days if days.count(day) > 1})
        if repeated:
            raise ValueError(f"one closure per date; repeated: {', '.join(d.isoformat() for d in repeated)}")
        return tuple(sorted(value, key=lambda closure: closure.date))

    @field_validator("holidays_subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if "holidays_country" not in info.data:
            return value  # the country was refused already: its error says enough
        country = info.data["holidays_country"]
        if country is None:
            raise ValueError("a subdivision needs holidays_country as well")
        known = supported_countries().get(country, ())
        if value not in known:
            choices = ", ".join(known) if known else "none: the country's holidays apply nationwide"
            raise ValueError(f"unknown holidays subdivision {value!r} of {country}; choose one of: {choices}")
        return value


def resolved_calendar(settings: CalendarSettings, years: range) -> BusinessCalendar:
    """The calendar SLA targets in business hours count in: the settings' zone and windows, closed on
    the closures and on the public holidays of ``years`` (none when no country is set)."""
    calendar = BusinessCalendar(
        time_zone=settings.time_zone,
        hours=settings.hours,
        closed_days=frozenset(closure.date for closure in settings.closures),
    )
    if settings.holidays_country is None:
        return calendar
    return with_public_holidays(calendar, settings.holidays_country, settings.holidays_subdivision, years)


def closed_days(settings: CalendarSettings, year: int) -> list[Holiday]:
    """Every closed day of ``year`` in date order: the public holidays, then the admin's closures."""
    closed: dict[date, Holiday] = {}
    if settings.holidays_country is not None:
        import holidays

        days = holidays.country_holidays(
            settings.holidays_country, subdiv=settings.holidays_subdivision, years=year
        )
        closed = {day: Holiday(date=day, name=name, public=True) for day, name in days.items()}
    for closure in settings.closures:
        if closure.date.year == year:
            closed.setdefault(closure.date, Holiday(date=closure.date, name=closure.label, public=False))
    return sorted(closed.values(), key=lambda holiday: holiday.date)
