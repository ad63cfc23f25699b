"""Invariants of the earliest lawful moment, over the presets and an awkward profile whose hours sit
in the DST changes (01:30–02:45 New York time, every day).

The search horizon is the default 400 days; "now" ranges over 2026–2028.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.disconnection.lawful import (
    CutBlocked,
    LawfulMoment,
    NoticesSent,
    cut_verdict,
    earliest_lawful_moment,
)
from domain.disconnection.profile import PRESETS, JurisdictionProfile, Weekday
from domain.disconnection.protections import DisputeUnderReview, Protection, holds_at
from domain.disconnection.window import at_local, holiday_name, window_refusal

NIGHT_OWL = PRESETS["US-NY"].model_copy(
    update={
        "key": "night-owl",
        "cut_weekdays": frozenset(Weekday),
        "cut_hours_start": time(1, 30),
        "cut_hours_end": time(2, 45),
        "forbidden_periods": (),
    }
)
PROFILES = [*PRESETS.values(), NIGHT_OWL]

FAST = settings(max_examples=60, deadline=None)


@st.composite
def situations(draw: st.DrawFn) -> tuple[JurisdictionProfile, datetime, NoticesSent, tuple[Protection, ...]]:
    profile = draw(st.sampled_from(PROFILES))
    now = draw(st.datetimes(datetime(2026, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)))
    notice_on = now.astimezone(profile.zone).date() - timedelta(days=draw(st.integers(0, 45)))
    due = notice_on - timedelta(days=draw(st.integers(20, 70)))
    first = at_local(profile, notice_on, time(10)) + timedelta(days=draw(st.integers(0, 20)))
    attempts = (first, first + timedelta(days=1))
    protections: list[Protection] = []
    for _ in range(draw(st.integers(0, 2))):
        start = now + timedelta(hours=draw(st.integers(-500, 1500)))
        protections.append(
            DisputeUnderReview(starts_at=start, ends_at=start + timedelta(hours=draw(st.integers(1, 900))))
        )
    notices = NoticesSent(final_notice_on=notice_on, contact_attempts=attempts, payment_due_on=due)
    return profile, now, notices, tuple(protections)


def _floor(profile: JurisdictionProfile, notices: NoticesSent) -> datetime:
    """The notice and contact floors, worked out independently of the code under test."""
    assert notices.final_notice_on is not None
    day = notices.final_notice_on
    if profile.final_notice.business_days:
        count = 0
        while count < profile.final_notice.days:
            day += timedelta(days=1)
            count += day.weekday() < 5 and holiday_name(profile, day) is None
    else:
        day += timedelta(days=profile.final_notice.days)
    floor = at_local(profile, day, time(0))
    if profile.contact_attempt is not None:
        completing = notices.contact_attempts[profile.contact_attempt.attempts - 1]
        floor = max(floor, completing.astimezone(UTC) + profile.contact_attempt.lead)
    return floor


@FAST
@given(situations())
def test_never_forbidden_never_early(
    situation: tuple[JurisdictionProfile, datetime, NoticesSent, tuple[Protection, ...]],
) -> None:
    profile, now, notices, protections = situation
    result = earliest_lawful_moment(profile, now=now, notices=notices, protections=protections)
    if isinstance(result, CutBlocked):
        return
    moment = result.at
    assert moment >= now
    assert moment >= _floor(profile, notices)
    assert window_refusal(profile, moment) is None
    assert holds_at(profile, protections, at=moment) == ()
    assert cut_verdict(profile, at=moment, notices=notices, protections=protections).lawful


@FAST
@given(situations(), st.floats(0, 1))
def test_nothing_lawful_before_it(
    situation: tuple[JurisdictionProfile, datetime, NoticesSent, tuple[Protection, ...]], fraction: float
) -> None:
    profile, now, notices, protections = situation
    result = earliest_lawful_moment(profile, now=now, notices=notices, protections=protections)
    if isinstance(result, CutBlocked) or result.at == now:
        assert cut_verdict(profile, at=now, notices=notices, protections=protections).lawful is (
            isinstance(result, LawfulMoment)
        )
        return
    between = now + (result.at - now) * fraction
    if between < result.at:
        assert not cut_verdict(profile, at=between, notices=notices, protections=protections).lawful


@FAST
@given(situations(), st.integers(0, 60 * 24 * 40))
def test_monotone_in_now(
    situation: tuple[JurisdictionProfile, datetime, NoticesSent, tuple[Protection, ...]], minutes: int
) -> None:
    profile, now, notices, protections = situation
    earlier = earliest_lawful_moment(profile, now=now, notices=notices, protections=protections)
    later = earliest_lawful_moment(
        profile, now=now + timedelta(minutes=minutes), notices=notices, protections=protections
    )
    if isinstance(earlier, CutBlocked):
        assert isinstance(later, CutBlocked)  # blocked is "never": nothing later can be sooner
    elif isinstance(later, LawfulMoment):
        assert later.at >= earlier.at
