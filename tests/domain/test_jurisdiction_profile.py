"""domain.disconnection.profile: presets from RULES.md, validation, and reconnection deadlines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.disconnection.lawful import reconnection_deadline
from domain.disconnection.profile import (
    CALIFORNIA_WATER,
    DEFAULT_PROFILE,
    LONGEST,
    NEW_YORK,
    PENNSYLVANIA,
    PRESETS,
    TEXAS_ELECTRIC,
    AnnualPeriod,
    JurisdictionProfile,
    MonthDay,
    ReconnectionTrigger,
    Weekday,
    rfc_3339_duration,
)

NY_TZ = ZoneInfo("America/New_York")


def test_presets_carry_the_rules_figures() -> None:
    assert set(PRESETS) == {"US-PA", "US-NY", "US-TX-electric", "US-CA-water"}
    assert DEFAULT_PROFILE is PENNSYLVANIA
    assert Weekday.FRIDAY not in PENNSYLVANIA.cut_weekdays
    assert (PENNSYLVANIA.final_notice.days, PENNSYLVANIA.final_notice.valid_for_days) == (10, 60)
    assert PENNSYLVANIA.contact_attempt is not None
    assert (PENNSYLVANIA.contact_attempt.lead, PENNSYLVANIA.contact_attempt.attempts) == (
        timedelta(days=3),
        2,
    )
    assert (PENNSYLVANIA.medical_certificate.days, PENNSYLVANIA.medical_certificate.max_renewals) == (30, 2)
    assert (NEW_YORK.cut_hours_start, NEW_YORK.cut_hours_end) == (time(8), time(16))
    assert (NEW_YORK.final_notice.days, NEW_YORK.final_notice.min_days_after_due) == (15, 20)
    assert TEXAS_ELECTRIC.time_zone == "America/Chicago"
    assert CALIFORNIA_WATER.final_notice.business_days and CALIFORNIA_WATER.final_notice.days == 7
    assert CALIFORNIA_WATER.min_days_delinquent == 60


@pytest.mark.parametrize("profile", list(PRESETS.values()), ids=list(PRESETS))
def test_a_profile_survives_json(profile: JurisdictionProfile) -> None:
    assert JurisdictionProfile.model_validate_json(profile.model_dump_json()) == profile


def test_a_profile_is_frozen() -> None:
    with pytest.raises(ValidationError):
        PENNSYLVANIA.cut_hours_end = time(17)


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"cut_hours_start": time(16), "cut_hours_end": time(8)}, "must start before it ends"),
        ({"cut_weekdays": []}, "at least 1 item"),
    ],
)
def test_a_broken_profile_is_refused(update: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JurisdictionProfile.model_validate({**PENNSYLVANIA.model_dump(), **update})


def test_a_day_that_never_exists_is_refused() -> None:
    with pytest.raises(ValidationError, match="day is out of range"):
        MonthDay(month=4, day=31)


def test_a_period_over_new_year() -> None:
    winter = AnnualPeriod(label="Winter", start=MonthDay(month=12, day=1), end=MonthDay(month=3, day=31))
    assert winter.occurrence(datetime(2027, 2, 10).date()) == (
        datetime(2026, 12, 1).date(),
        datetime(2027, 3, 31).date(),
    )
    assert winter.occurrence(datetime(2027, 4, 1).date()) is None
    assert str(winter) == "Winter (Dec 1 – Mar 31)"


@pytest.mark.parametrize(
    ("trigger", "at", "digging", "expected"),
    [
        # PA: 24 h Dec–Mar, 3 days Apr–Nov after payment; 24 h after an erroneous cut; 7 days digging
        (
            ReconnectionTrigger.PAYMENT,
            datetime(2026, 12, 2, 10, tzinfo=NY_TZ),
            False,
            datetime(2026, 12, 3, 10, tzinfo=NY_TZ),
        ),
        (
            ReconnectionTrigger.PAYMENT,
            datetime(2026, 5, 4, 10, tzinfo=NY_TZ),
            False,
            datetime(2026, 5, 7, 10, tzinfo=NY_TZ),
        ),
        (
            ReconnectionTrigger.ERRONEOUS_CUT,
            datetime(2026, 5, 4, 10, tzinfo=NY_TZ),
            False,
            datetime(2026, 5, 5, 10, tzinfo=NY_TZ),
        ),
        (
            ReconnectionTrigger.PAYMENT,
            datetime(2026, 5, 4, 10, tzinfo=NY_TZ),
            True,
            datetime(2026, 5, 11, 10, tzinfo=NY_TZ),
        ),
        # 24 h across the spring DST change is 24 elapsed hours: 11:00 EDT
        (
            ReconnectionTrigger.MEDICAL_CERTIFICATE,
            datetime(2026, 3, 7, 10, tzinfo=NY_TZ),
            False,
            datetime(2026, 3, 8, 11, tzinfo=NY_TZ),
        ),
    ],
)
def test_pennsylvania_reconnection_deadlines(
    trigger: ReconnectionTrigger, at: datetime, digging: bool, expected: datetime
) -> None:
    deadline = reconnection_deadline(PENNSYLVANIA, trigger=trigger, at=at, digging=digging)
    assert deadline == expected
    assert deadline.tzinfo == NY_TZ


def test_a_deadline_needs_an_aware_moment() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        reconnection_deadline(NEW_YORK, trigger=ReconnectionTrigger.PAYMENT, at=datetime(2026, 5, 4))
    assert reconnection_deadline(
        NEW_YORK, trigger=ReconnectionTrigger.PAYMENT, at=datetime(2026, 5, 4, 14, tzinfo=UTC)
    ) == datetime(2026, 5, 5, 14, tzinfo=UTC)


DURATION = jsonschema_rs.validator_for({"type": "string", "format": "duration"}, validate_formats=True)


@settings(max_examples=200, deadline=None)
@given(
    lead=st.timedeltas(min_value=timedelta(0), max_value=LONGEST),
    within=st.timedeltas(min_value=timedelta(seconds=1), max_value=LONGEST),
)
def test_every_lead_and_deadline_a_profile_takes_is_written_as_an_rfc_3339_duration(
    lead: timedelta, within: timedelta
) -> None:
    """The API's OpenAPI document promises ``format: duration`` (RFC 3339) for these fields."""
    lead, within = (
        lead - timedelta(microseconds=lead.microseconds),
        within - timedelta(microseconds=within.microseconds),
    )
    profile = JurisdictionProfile.model_validate(
        {
            **PENNSYLVANIA.model_dump(),
            "contact_attempt": {**PENNSYLVANIA.model_dump()["contact_attempt"], "lead": lead},
            "reconnection": {**PENNSYLVANIA.model_dump()["reconnection"], "digging": within},
        }
    )
    written = json.loads(profile.model_dump_json())

    assert DURATION.is_valid(written["contact_attempt"]["lead"]), written["contact_attempt"]["lead"]
    assert DURATION.is_valid(written["reconnection"]["digging"]), written["reconnection"]["digging"]
    assert JurisdictionProfile.model_validate(written) == profile


@pytest.mark.parametrize(
    ("lead", "message"),
    [
        (LONGEST + timedelta(days=1), "less than or equal to 365 days"),
        (timedelta(seconds=-1), "greater than or equal to 0"),
        (timedelta(seconds=1.5), "whole seconds"),
    ],
)
def test_a_lead_over_a_year_or_in_part_seconds_is_refused(lead: timedelta, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JurisdictionProfile.model_validate(
            {
                **PENNSYLVANIA.model_dump(),
                "contact_attempt": {**PENNSYLVANIA.model_dump()["contact_attempt"], "lead": lead},
            }
        )


@pytest.mark.parametrize(
    ("span", "written"),
    [
        (timedelta(0), "P0D"),
        (timedelta(days=3), "P3D"),
        (timedelta(hours=3, seconds=1), "PT3H0M1S"),  # pydantic: PT3H1S, not RFC 3339
        (timedelta(days=365), "P365D"),  # pydantic: P1Y
        (timedelta(days=59, minutes=30), "P59DT0H30M0S"),
    ],
)
def test_durations_are_written_in_rfc_3339s_grammar(span: timedelta, written: str) -> None:
    assert rfc_3339_duration(span) == written and DURATION.is_valid(written)
