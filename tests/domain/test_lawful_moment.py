"""domain.disconnection.lawful: the earliest lawful moment, worked by hand from each preset.

Calendar facts used (checked against a calendar): 2026-04-17 is a Friday; Thanksgiving 2026 is
Thursday Nov 26 and PA also keeps the day after; July 4 2026 is a Saturday, observed Friday July 3;
DST starts Sunday 2026-03-08 and ends Sunday 2026-11-01; NY keeps Election Day (Tue 2026-11-03);
2027-01-04 is a Monday; 2027-04-01 a Thursday.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.disconnection.lawful import (
    CutBlocked,
    CutRefusalCode,
    LawfulMoment,
    NoticesSent,
    check_cut,
    cut_verdict,
    earliest_lawful_moment,
)
from domain.disconnection.profile import CALIFORNIA_WATER, NEW_YORK, PENNSYLVANIA, TEXAS_ELECTRIC
from domain.disconnection.protections import (
    DisputeUnderReview,
    LifeSupportEquipment,
    ProtectionKind,
    WeatherEmergency,
    WeatherHazard,
    issue_medical_certificate,
)
from domain.disconnection.window import HolidayCalendar, holiday_calendar
from domain.request.rules import TransitionRefused

ET = ZoneInfo("America/New_York")
CT = ZoneInfo("America/Chicago")
PT = ZoneInfo("America/Los_Angeles")


def et(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ET)


def pa_notices(notice_on: date) -> NoticesSent:
    """A PA final notice and its two contact attempts on the next two days at 10:00."""
    return NoticesSent(
        final_notice_on=notice_on,
        contact_attempts=(
            datetime.combine(notice_on + timedelta(days=1), datetime.min.time(), ET) + timedelta(hours=10),
            datetime.combine(notice_on + timedelta(days=2), datetime.min.time(), ET) + timedelta(hours=10),
        ),
    )


def at(result: LawfulMoment | CutBlocked) -> datetime:
    assert isinstance(result, LawfulMoment), result
    return result.at


# ---- Pennsylvania -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice_on", "now", "expected"),
    [
        # a Friday → the next Monday at opening
        (date(2026, 4, 1), et(2026, 4, 17, 10), et(2026, 4, 20, 8)),
        # a lawful Thursday morning is lawful at once
        (date(2026, 4, 1), et(2026, 4, 16, 10, 30), et(2026, 4, 16, 10, 30)),
        # the eve of Thanksgiving, Thanksgiving, the day after (a PA holiday), the weekend → Monday
        (date(2026, 11, 13), et(2026, 11, 25, 9), et(2026, 11, 30, 8)),
        # Thursday July 2 is the eve of July 4 observed on Friday July 3 → Monday July 6
        (date(2026, 6, 15), et(2026, 7, 2, 9), et(2026, 7, 6, 8)),
        # the notice period (10 days from Tue Apr 7) ends on Friday Apr 17 → Monday
        (date(2026, 4, 7), et(2026, 4, 8, 9), et(2026, 4, 20, 8)),
    ],
)
def test_pennsylvania(notice_on: date, now: datetime, expected: datetime) -> None:
    assert at(earliest_lawful_moment(PENNSYLVANIA, now=now, notices=pa_notices(notice_on))) == expected


def test_pennsylvania_winter_moratorium() -> None:
    notices = pa_notices(date(2026, 11, 13))
    # The moratorium outlasts the notice, which is valid 60 days: a new notice is needed in spring.
    blocked = earliest_lawful_moment(PENNSYLVANIA, now=et(2026, 12, 2, 10), notices=notices)
    assert isinstance(blocked, CutBlocked)
    assert blocked.code == CutRefusalCode.NOTICE_EXPIRED
    assert "only until 2027-01-12" in blocked.message
    assert blocked.hold is not None and blocked.hold.kind is ProtectionKind.SEASONAL_MORATORIUM
    assert blocked.message.endswith("Meanwhile: " + blocked.hold.message)
    verdict = cut_verdict(PENNSYLVANIA, at=et(2026, 12, 2, 10), notices=notices)
    assert [p.code for p in verdict.problems] == [CutRefusalCode.PROTECTED]
    assert verdict.problems[0].message.startswith("Winter moratorium (Dec 1 – Mar 31) blocks")
    # Without the validity limit the cut waits for the first lawful moment after March 31.
    lasting = PENNSYLVANIA.model_copy(
        update={"final_notice": PENNSYLVANIA.final_notice.model_copy(update={"valid_for_days": None})}
    )
    assert at(earliest_lawful_moment(lasting, now=et(2026, 12, 2, 10), notices=notices)) == et(2027, 4, 1, 8)


def test_pennsylvania_needs_two_contact_attempts_on_separate_days() -> None:
    one_day = NoticesSent(
        final_notice_on=date(2026, 4, 1),
        contact_attempts=(et(2026, 4, 2, 10), et(2026, 4, 2, 15), et(2026, 4, 3, 22)),  # 22:00: after hours
    )
    blocked = earliest_lawful_moment(PENNSYLVANIA, now=et(2026, 4, 16, 10), notices=one_day)
    assert isinstance(blocked, CutBlocked)
    assert blocked.code == CutRefusalCode.CONTACT_ATTEMPT_REQUIRED
    assert "2 contact attempt(s) on 2 separate days between 07:00 and 21:00" in blocked.message
    assert blocked.message.endswith("1 recorded.")
    # the second day's attempt completes it; the cut may follow 3 days later (Thu Apr 16 10:00)
    late = NoticesSent(
        final_notice_on=date(2026, 4, 1), contact_attempts=(et(2026, 4, 2, 10), et(2026, 4, 13, 10))
    )
    assert at(earliest_lawful_moment(PENNSYLVANIA, now=et(2026, 4, 14, 9), notices=late)) == et(
        2026, 4, 16, 10
    )


def test_pennsylvania_chained_protections() -> None:
    certificate = issue_medical_certificate(PENNSYLVANIA, starts_at=et(2026, 5, 4, 10))
    notices = pa_notices(date(2026, 4, 20))
    # the certificate ends on Wednesday June 3 at 10:00
    assert at(
        earliest_lawful_moment(
            PENNSYLVANIA, now=et(2026, 5, 5, 9), notices=notices, protections=[certificate]
        )
    ) == et(2026, 6, 3, 10)
    # a dispute opened before it expires carries the block on to Monday June 8
    dispute = DisputeUnderReview(starts_at=et(2026, 6, 1, 9), ends_at=et(2026, 6, 8))
    assert at(
        earliest_lawful_moment(
            PENNSYLVANIA, now=et(2026, 5, 5, 9), notices=notices, protections=[certificate, dispute]
        )
    ) == et(2026, 6, 8, 8)


# ---- New York -----------------------------------------------------------------------------------

NY_APRIL = NoticesSent(
    payment_due_on=date(2026, 3, 1), final_notice_on=date(2026, 3, 25), contact_attempts=(et(2026, 4, 6, 10),)
)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (et(2026, 4, 14, 16, 5), et(2026, 4, 15, 8)),  # after 4 p.m. → next morning
        (et(2026, 4, 14, 16), et(2026, 4, 15, 8)),  # 4 p.m. itself is closed
        (et(2026, 4, 14, 15, 59), et(2026, 4, 14, 15, 59)),
        (et(2026, 4, 16, 16, 30), et(2026, 4, 20, 8)),  # Thursday after hours → Monday (no Friday)
        (et(2026, 4, 14, 6), et(2026, 4, 14, 8)),  # before opening
    ],
)
def test_new_york_hours(now: datetime, expected: datetime) -> None:
    assert at(earliest_lawful_moment(NEW_YORK, now=now, notices=NY_APRIL)) == expected


def test_new_york_christmas_and_new_year_fortnight() -> None:
    notices = NoticesSent(
        payment_due_on=date(2026, 11, 1),
        final_notice_on=date(2026, 11, 25),
        contact_attempts=(et(2026, 12, 7, 10),),
    )
    assert at(earliest_lawful_moment(NEW_YORK, now=et(2026, 12, 17, 16, 30), notices=notices)) == et(
        2027, 1, 4, 8
    )
    verdict = cut_verdict(NEW_YORK, at=et(2026, 12, 21, 10), notices=notices)
    assert [p.code for p in verdict.problems] == ["forbidden_period"]
    assert "Christmas and New Year fortnight" in verdict.problems[0].message


def test_new_york_notice_period_running_into_a_weekend() -> None:
    # 15 days from Friday April 3 is Saturday April 18 → Monday April 20
    notices = NoticesSent(
        payment_due_on=date(2026, 3, 1),
        final_notice_on=date(2026, 4, 3),
        contact_attempts=(et(2026, 4, 14, 10),),
    )
    assert at(earliest_lawful_moment(NEW_YORK, now=et(2026, 4, 10, 9), notices=notices)) == et(2026, 4, 20, 8)


@pytest.mark.parametrize(
    ("notices", "code"),
    [
        (NoticesSent(final_notice_on=date(2026, 3, 25)), CutRefusalCode.PAYMENT_DUE_DATE_REQUIRED),
        (NoticesSent(payment_due_on=date(2026, 3, 1)), CutRefusalCode.NOTICE_REQUIRED),
        # issued 14 days after the due date; 20 are required
        (
            NoticesSent(payment_due_on=date(2026, 3, 1), final_notice_on=date(2026, 3, 15)),
            CutRefusalCode.NOTICE_TOO_EARLY,
        ),
        (
            NoticesSent(payment_due_on=date(2026, 3, 1), final_notice_on=date(2026, 3, 25)),
            CutRefusalCode.CONTACT_ATTEMPT_REQUIRED,
        ),
    ],
)
def test_new_york_missing_steps_block(notices: NoticesSent, code: CutRefusalCode) -> None:
    blocked = earliest_lawful_moment(NEW_YORK, now=et(2026, 4, 14, 10), notices=notices)
    assert isinstance(blocked, CutBlocked)
    assert blocked.code == code


def test_new_york_dst_change_weeks() -> None:
    notices = NoticesSent(
        payment_due_on=date(2026, 1, 15),
        final_notice_on=date(2026, 2, 10),
        contact_attempts=(et(2026, 3, 6, 9),),
    )
    # 72 elapsed hours from Friday 09:00 EST is Monday 10:00 EDT (not 09:00: an hour was skipped)
    result = at(earliest_lawful_moment(NEW_YORK, now=et(2026, 3, 6, 9), notices=notices))
    assert result == et(2026, 3, 9, 10) and result.astimezone(UTC) == datetime(2026, 3, 9, 14, tzinfo=UTC)
    # opening is 8 a.m. local whatever the offset: 12:00 UTC after the change
    early = notices.model_copy(update={"contact_attempts": (et(2026, 3, 2, 9),)})
    result = at(earliest_lawful_moment(NEW_YORK, now=et(2026, 3, 6, 17), notices=early))
    assert result.astimezone(UTC) == datetime(2026, 3, 9, 12, tzinfo=UTC)
    # autumn: clocks go back on Sunday Nov 1; Monday Nov 2 is Election Day's eve → Wednesday 08:00 EST
    autumn = NoticesSent(
        payment_due_on=date(2026, 9, 1),
        final_notice_on=date(2026, 10, 1),
        contact_attempts=(et(2026, 10, 19, 9),),
    )
    result = at(earliest_lawful_moment(NEW_YORK, now=et(2026, 10, 29, 17), notices=autumn))
    assert result.astimezone(UTC) == datetime(2026, 11, 4, 13, tzinfo=UTC)


# ---- Texas (electric) ---------------------------------------------------------------------------

TX_JULY = NoticesSent(
    final_notice_on=date(2026, 7, 1), contact_attempts=(datetime(2026, 7, 13, 9, tzinfo=CT),)
)
HEAT = WeatherEmergency(
    starts_at=datetime(2026, 7, 15, tzinfo=CT),
    ends_at=datetime(2026, 7, 20, tzinfo=CT),
    hazard=WeatherHazard.HEAT,
    service_area="Harris County",
)


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        ("Harris County", datetime(2026, 7, 20, 8, tzinfo=CT)),
        ("Travis County", datetime(2026, 7, 16, 9, tzinfo=CT)),
    ],
)
def test_texas_heat_emergency_in_its_area(area: str, expected: datetime) -> None:
    now = datetime(2026, 7, 16, 9, tzinfo=CT)
    result = earliest_lawful_moment(
        TEXAS_ELECTRIC, now=now, notices=TX_JULY, protections=[HEAT], service_area=area
    )
    assert at(result) == expected


def test_a_protection_without_end_blocks_indefinitely() -> None:
    life_support = LifeSupportEquipment(starts_at=datetime(2026, 1, 1, tzinfo=CT))
    blocked = earliest_lawful_moment(
        TEXAS_ELECTRIC, now=datetime(2026, 7, 16, 9, tzinfo=CT), notices=TX_JULY, protections=[life_support]
    )
    assert isinstance(blocked, CutBlocked)
    assert blocked.code == CutRefusalCode.PROTECTED
    assert blocked.hold is not None and blocked.hold.kind is ProtectionKind.LIFE_SUPPORT
    assert "with no end date" in blocked.message


# ---- California (water) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        # 7 business days from Thu July 2, skipping the observed July 4 on Friday July 3 → Tue July 14
        (date(2026, 5, 1), datetime(2026, 7, 14, 8, tzinfo=PT)),
        # 60 days past a June 1 due date is Friday July 31 (Fridays are allowed here)
        (date(2026, 6, 1), datetime(2026, 7, 31, 8, tzinfo=PT)),
    ],
)
def test_california_water(due: date, expected: datetime) -> None:
    notices = NoticesSent(
        payment_due_on=due,
        final_notice_on=date(2026, 7, 2),
        contact_attempts=(datetime(2026, 7, 10, 10, tzinfo=PT),),
    )
    assert (
        at(earliest_lawful_moment(CALIFORNIA_WATER, now=datetime(2026, 7, 6, 9, tzinfo=PT), notices=notices))
        == expected
    )


# ---- reasons, the check, inputs -----------------------------------------------------------------


def test_a_consumers_own_request_is_not_governed() -> None:
    now = et(2026, 4, 17, 22)  # a Friday night, no notice
    assert at(earliest_lawful_moment(PENNSYLVANIA, now=now, reason="Moving out")) == now
    assert cut_verdict(PENNSYLVANIA, at=now, reason="Moving out").lawful


def test_check_cut_names_every_problem_and_the_earliest_moment() -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_cut(NEW_YORK, at=et(2026, 4, 17, 17), notices=NY_APRIL)
    assert refused.value.code == "forbidden_weekday"
    assert [p.code for p in refused.value.problems] == ["forbidden_weekday", "earliest_lawful_moment"]
    assert refused.value.message.endswith("Earliest lawful moment: Monday 2026-04-20 08:00 EDT.")
    check_cut(NEW_YORK, at=et(2026, 4, 20, 8), notices=NY_APRIL)  # lawful: no refusal


def test_the_verdict_lists_notice_contact_and_window_together() -> None:
    notices = NoticesSent(
        payment_due_on=date(2026, 3, 1),
        final_notice_on=date(2026, 4, 10),
        contact_attempts=(et(2026, 4, 17, 10),),
    )
    verdict = cut_verdict(NEW_YORK, at=et(2026, 4, 18, 10), notices=notices)
    assert [p.code for p in verdict.problems] == [
        "final_notice_period_running",
        "contact_lead_time_running",
        "forbidden_weekday",
    ]
    assert at(verdict.earliest) == et(2026, 4, 27, 8)  # Apr 25 is a Saturday → Monday Apr 27


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        earliest_lawful_moment(NEW_YORK, now=datetime(2026, 4, 14, 10), notices=NY_APRIL)


def test_a_holiday_calendar_as_data_gives_the_same_answers() -> None:
    # what a workflow passes in (its sandbox forbids the library's own file reads)
    calendar = holiday_calendar(PENNSYLVANIA, 2026, 2027)
    assert calendar.name(date(2026, 11, 26)) == "Thanksgiving Day"
    for notice_on, now in [(date(2026, 11, 13), et(2026, 11, 25, 9)), (date(2026, 6, 15), et(2026, 7, 2, 9))]:
        notices = pa_notices(notice_on)
        assert earliest_lawful_moment(PENNSYLVANIA, now=now, notices=notices, calendar=calendar) == (
            earliest_lawful_moment(PENNSYLVANIA, now=now, notices=notices)
        )
    restored = HolidayCalendar.model_validate_json(calendar.model_dump_json())
    assert restored == calendar
    with pytest.raises(ValueError, match="covers 2026–2027, not 2028-01-03"):
        restored.name(date(2028, 1, 3))
