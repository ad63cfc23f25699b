"""Invariants of the notice schedule (domain/disconnection/notices.py), over the presets and an awkward
profile whose contact hours lie wholly inside New York's spring-forward gap (02:00–02:30).

Each property is checked against a small reference worked out here, not by the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.disconnection.notices import (
    Stage,
    next_contact_attempt,
    notice_day,
    notice_period_ends,
    stage_at,
)
from domain.disconnection.profile import PRESETS, ContactAttemptRule, JurisdictionProfile
from domain.disconnection.window import at_local, holiday_name

# Contact hours inside the hour New York skips each March (2026-03-08, 2027-03-14, 2028-03-12).
IN_THE_GAP = PRESETS["US-NY"].model_copy(
    update={
        "key": "in-the-gap",
        "contact_attempt": ContactAttemptRule(
            lead=timedelta(hours=24), attempts=2, hours_start=time(2), hours_end=time(2, 30)
        ),
    }
)
PRESET_PROFILES = list(PRESETS.values())

FAST = settings(max_examples=80, deadline=None)
MOMENTS = st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC))
DAYS = st.dates(date(2026, 1, 1), date(2028, 12, 31))
_ORDER = list(Stage)


def _business_days_between(profile: JurisdictionProfile, first: date, last: date) -> int:
    """Business days in (first, last]: Monday to Friday, not a public or utility holiday."""
    count, day = 0, first
    while day < last:
        day += timedelta(days=1)
        count += day.weekday() < 5 and holiday_name(profile, day) is None
    return count


@FAST
@given(st.sampled_from(PRESET_PROFILES), DAYS)
def test_the_notice_period_never_ends_before_the_notice_day_plus_its_days(
    profile: JurisdictionProfile, notice_on: date
) -> None:
    rule = profile.final_notice
    ends = notice_period_ends(profile, notice_on)

    local = ends.astimezone(profile.zone)
    assert local.time() == time(0)  # it ends at a local midnight
    assert local.date() == notice_day(profile, notice_on)
    assert local.date() >= notice_on + timedelta(days=rule.days)
    if rule.business_days:
        # exactly the rule's count of business days, the last of them the day itself
        assert _business_days_between(profile, notice_on, local.date()) == rule.days
        assert local.date().weekday() < 5 and holiday_name(profile, local.date()) is None
    else:
        assert local.date() == notice_on + timedelta(days=rule.days)


@FAST
@given(st.sampled_from(PRESET_PROFILES), DAYS, st.integers(1, 40))
def test_a_later_notice_never_ends_its_period_sooner(
    profile: JurisdictionProfile, notice_on: date, later_by: int
) -> None:
    earlier = notice_period_ends(profile, notice_on)
    later = notice_period_ends(profile, notice_on + timedelta(days=later_by))

    assert later >= earlier


SPRING_FORWARD = [date(2026, 3, 8), date(2027, 3, 14), date(2028, 3, 12)]
FALL_BACK = [date(2026, 11, 1), date(2027, 11, 7), date(2028, 11, 5)]


@st.composite
def near_clock_changes(draw: st.DrawFn) -> datetime:
    """A moment within two days of a US clock change (where a random moment seldom lands)."""
    day = draw(st.sampled_from(SPRING_FORWARD + FALL_BACK))
    return datetime.combine(day, time(7), UTC) + timedelta(minutes=draw(st.integers(-2 * 1440, 2 * 1440)))


@st.composite
def contact_situations(
    draw: st.DrawFn, profiles: list[JurisdictionProfile], moments: st.SearchStrategy[datetime] = MOMENTS
) -> tuple[JurisdictionProfile, datetime, list[datetime]]:
    """A profile, ``not_before`` and earlier attempts, some on the same local day as ``not_before``
    or the days right after it (the days the search must skip)."""
    profile = draw(st.sampled_from(profiles))
    not_before = draw(moments)
    rule = profile.contact_attempt
    assert rule is not None
    used = draw(st.integers(0, rule.attempts - 1))
    attempts = [
        not_before + timedelta(hours=draw(st.integers(-72, 72)), minutes=draw(st.integers(0, 59)))
        for _ in range(used)
    ]
    return profile, not_before, attempts


def _reference_next(profile: JurisdictionProfile, not_before: datetime, attempts: list[datetime]) -> datetime:
    """The first moment at or after ``not_before`` inside contact hours on an unused local day,
    found day by day from the wall-clock bounds of each day's hours."""
    rule = profile.contact_attempt
    assert rule is not None
    used = {a.astimezone(profile.zone).date() for a in attempts}
    day = not_before.astimezone(profile.zone).date()
    for _ in range(400):
        if day not in used:
            opens = max(not_before, at_local(profile, day, rule.hours_start))
            local = opens.astimezone(profile.zone)
            if local.date() == day and rule.hours_start <= local.time() < rule.hours_end:
                return opens
        day += timedelta(days=1)
    raise AssertionError("no contact moment within 400 days")


def _check_next_contact(profile: JurisdictionProfile, not_before: datetime, attempts: list[datetime]) -> None:
    rule = profile.contact_attempt
    assert rule is not None
    found = next_contact_attempt(profile, not_before=not_before, attempts=attempts)

    assert found is not None  # fewer attempts than required were drawn
    local = found.astimezone(profile.zone)
    assert found >= not_before
    assert rule.hours_start <= local.time() < rule.hours_end, f"{local} outside contact hours"
    assert local.date() not in {a.astimezone(profile.zone).date() for a in attempts}
    assert found == _reference_next(profile, not_before, attempts)  # and nothing sooner qualifies


@FAST
@given(contact_situations(PRESET_PROFILES, MOMENTS | near_clock_changes()))
def test_the_next_contact_attempt_is_the_first_lawful_moment_on_a_new_day(
    situation: tuple[JurisdictionProfile, datetime, list[datetime]],
) -> None:
    _check_next_contact(*situation)


@FAST
@given(contact_situations([IN_THE_GAP], near_clock_changes()))
def test_the_next_contact_attempt_respects_hours_the_clocks_skip(
    situation: tuple[JurisdictionProfile, datetime, list[datetime]],
) -> None:
    _check_next_contact(*situation)


def test_contact_hours_inside_the_spring_forward_gap_move_to_the_next_day() -> None:
    # 2027-03-14: New York skips 02:00–03:00, so that day has no 02:00–02:30 at all.
    not_before = at_local(IN_THE_GAP, date(2027, 3, 14), time(0, 30))

    found = next_contact_attempt(IN_THE_GAP, not_before=not_before, attempts=[])

    assert found is not None
    assert found.astimezone(IN_THE_GAP.zone).replace(tzinfo=None) == datetime(2027, 3, 15, 2, 0)


@FAST
@given(st.sampled_from(PRESET_PROFILES), MOMENTS, st.lists(MOMENTS, min_size=0, max_size=3))
def test_no_attempt_is_due_once_enough_days_were_used(
    profile: JurisdictionProfile, not_before: datetime, attempts: list[datetime]
) -> None:
    rule = profile.contact_attempt
    assert rule is not None
    days = {a.astimezone(profile.zone).date() for a in attempts}

    found = next_contact_attempt(profile, not_before=not_before, attempts=attempts)

    assert (found is None) is (len(days) >= rule.attempts)


def test_a_profile_without_contact_attempts_never_asks_for_one() -> None:
    profile = PRESETS["US-TX-electric"].model_copy(update={"contact_attempt": None})

    assert next_contact_attempt(profile, not_before=datetime(2027, 5, 4, 12, tzinfo=UTC), attempts=[]) is None


@st.composite
def stage_situations(draw: st.DrawFn) -> tuple[datetime, datetime, int, int, datetime | None]:
    period_ends = draw(MOMENTS)
    required = draw(st.integers(0, 3))
    made = draw(st.integers(0, 3))
    earliest = draw(st.none() | st.builds(lambda h: period_ends + timedelta(hours=h), st.integers(-48, 900)))
    now = period_ends + timedelta(hours=draw(st.integers(-400, 1200)))
    return now, period_ends, made, required, earliest


Situation = tuple[datetime, datetime, int, int, datetime | None]


def _stage(situation: Situation, *, later: timedelta = timedelta(0), more_attempts: int = 0) -> Stage:
    now, period_ends, made, required, earliest = situation
    return stage_at(
        now + later,
        period_ends=period_ends,
        attempts_made=made + more_attempts,
        attempts_required=required,
        earliest=earliest,
    )


@FAST
@given(stage_situations(), st.integers(0, 60 * 24 * 60))
def test_the_stage_never_goes_back_as_time_passes(situation: Situation, minutes: int) -> None:
    before, after = _stage(situation), _stage(situation, later=timedelta(minutes=minutes))

    assert _ORDER.index(after) >= _ORDER.index(before)


@FAST
@given(stage_situations(), st.integers(0, 3))
def test_the_stage_never_goes_back_as_attempts_are_made(situation: Situation, more: int) -> None:
    before, after = _stage(situation), _stage(situation, more_attempts=more)

    assert _ORDER.index(after) >= _ORDER.index(before)


@FAST
@given(stage_situations())
def test_ready_only_when_every_step_is_done_and_the_moment_has_come(situation: Situation) -> None:
    now, period_ends, made, required, earliest = situation

    stage = _stage(situation)

    expected = (
        Stage.FINAL_NOTICE_PERIOD
        if now < period_ends
        else Stage.CONTACT_ATTEMPTS
        if made < required
        else Stage.AWAITING_LAWFUL_MOMENT
        if earliest is None or now < earliest
        else Stage.READY_FOR_FIELD_WORK
    )
    assert stage is expected
