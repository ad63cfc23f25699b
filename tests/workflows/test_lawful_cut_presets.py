"""The cut checked against each preset at the moment the final readings arrive (time-skipping server,
real database): on the day before a public holiday it is refused, naming the preset's next lawful
moment; at a lawful moment it goes through and the consumer is Temporarily Disconnected.

Each test picks the first holiday eve at least three weeks ahead of the server's clock and starts the
request three weeks before it, so the notice steps are done by then whatever the date the suite runs.
Changes to the presets, each for one reason:

- Pennsylvania without its winter moratorium (Dec 1 – Mar 31), which would hold the request instead;
- New York without ``min_days_after_due`` and California without ``min_days_delinquent``: both count
  from a payment due date the workflow's facts do not carry, so the presets themselves never name a
  lawful moment (``test_new_york_and_california_need_a_payment_due_date_the_request_lacks``).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.models import Consumer, RequestEvent
from domain.consumers.types import ConsumerStatus
from domain.disconnection.lawful import LawfulMoment, NoticesSent, earliest_lawful_moment
from domain.disconnection.profile import (
    CALIFORNIA_WATER,
    NEW_YORK,
    PENNSYLVANIA,
    TEXAS_ELECTRIC,
    JurisdictionProfile,
)
from domain.disconnection.window import (
    HolidayCalendar,
    WindowRefusalCode,
    at_local,
    day_refusal,
    holiday_calendar,
    window_refusal,
)
from domain.request.types import RequestStatus
from tests.workflows.conftest import World
from tests.workflows.lawful import state_of, until, use_profile
from workflows.actions import FinalReadingBody, RecordFinalReadings
from workflows.request import RequestWorkflow
from workflows.schemas import NoticeStage, RequestState

NON_PAYMENT = "Non-payment"
LEAD = timedelta(days=21)  # longer than any preset's notice period, contact attempts and lead time
CUT_TIME = time(10)  # inside every preset's hours (08:00–16:00)

PA = PENNSYLVANIA.model_copy(update={"moratoria": ()})
NY = NEW_YORK.model_copy(
    update={"final_notice": NEW_YORK.final_notice.model_copy(update={"min_days_after_due": 0})}
)
TX = TEXAS_ELECTRIC
CA = CALIFORNIA_WATER.model_copy(update={"min_days_delinquent": 0})


def _calendar(profile: JurisdictionProfile, day: date) -> HolidayCalendar:
    return holiday_calendar(profile, day.year - 1, day.year + 2)


def _holiday_eve(profile: JurisdictionProfile, on_or_after: date) -> date:
    """The first day the window refuses only for being the day before a holiday."""
    calendar = _calendar(profile, on_or_after)
    for offset in range(366):
        day = on_or_after + timedelta(days=offset)
        refused = day_refusal(profile, day, calendar)
        if refused is not None and refused.code is WindowRefusalCode.HOLIDAY_EVE:
            return day
    raise AssertionError(f"no holiday eve in a year from {on_or_after} in {profile.name}")


def _next_open(profile: JurisdictionProfile, after: date) -> datetime:
    """The opening of the first day after ``after`` the window allows: with every notice step done,
    the next lawful moment."""
    calendar = _calendar(profile, after)
    day = after + timedelta(days=1)
    while day_refusal(profile, day, calendar) is not None:
        day += timedelta(days=1)
    return at_local(profile, day, profile.cut_hours_start)


def _eve_message(profile: JurisdictionProfile, eve: date) -> str:
    holiday = _calendar(profile, eve).name(eve + timedelta(days=1))
    return f"{eve.isoformat()} is the day before a holiday ({holiday}); no disconnection then."


def _earliest(moment: datetime) -> str:
    return f"Earliest lawful moment: {moment:%A %Y-%m-%d %H:%M %Z}."


async def _start(world: World) -> Any:
    """A non-payment disconnection, acknowledged, its final notice sent."""
    assert world.active_consumer is not None
    handle = await world.start(consumer=world.active_consumer, reason=NON_PAYMENT)
    await handle.signal("acknowledge", {"actor": "csr"})

    async def noticed() -> bool:
        notices = (await state_of(handle)).notices
        return notices is not None and notices.final_notice is not None

    await until(noticed, "final notice sent")
    return handle


async def _sleep_until(world: World, moment: datetime) -> None:
    now = await world.env.get_current_time()
    if moment > now:
        await world.env.sleep(moment - now)


async def _cut(world: World, handle: Any, profile: JurisdictionProfile) -> Any:
    """Record the final reading now, as the CSR in the field would: the update's answer."""
    now = await world.env.get_current_time()
    readings = [
        FinalReadingBody(
            meter_number=world.meters["in_service"].meter_number,
            reading=Decimal("640"),
            reading_date=now.astimezone(profile.zone).date(),
        )
    ]
    return await handle.execute_update(
        RequestWorkflow.record_final_readings, RecordFinalReadings(actor="csr", readings=readings)
    )


async def _refused_cut(world: World, handle: Any, profile: JurisdictionProfile) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await _cut(world, handle, profile)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "TransitionRefused"
    return cause.message


async def _waiting_for_the_eve(world: World, profile: JurisdictionProfile) -> tuple[Any, date, datetime]:
    """A request started ``LEAD`` before the first holiday eve ``LEAD`` away, and the clock moved to
    ``CUT_TIME`` on that eve: the request, the eve and the moment."""
    now = await world.env.get_current_time()
    eve = _holiday_eve(profile, now.astimezone(profile.zone).date() + LEAD)
    await _sleep_until(world, at_local(profile, eve - LEAD, time(9)))
    handle = await _start(world)
    cut_at = at_local(profile, eve, CUT_TIME)
    await _sleep_until(world, cut_at)
    await asyncio.sleep(0.2)  # let the last timer's workflow task finish
    return handle, eve, cut_at


def _attempts_done(profile: JurisdictionProfile, state: RequestState) -> NoticesSent:
    """The notice steps the request took, checked complete: the facts of its cut."""
    notices = state.notices
    assert notices is not None and notices.final_notice is not None
    rule = profile.contact_attempt
    assert rule is not None and len(notices.contact_attempts) == rule.attempts
    return NoticesSent(
        final_notice_on=notices.final_notice.local_day,
        contact_attempts=tuple(a.at for a in notices.contact_attempts),
    )


@pytest.mark.parametrize("profile", [PA, NY, TX, CA], ids=["PA", "NY", "TX", "CA"])
async def test_a_cut_on_the_day_before_a_holiday_is_refused_naming_the_next_lawful_moment(
    own_timed_world: World, profile: JurisdictionProfile
) -> None:
    await use_profile(own_timed_world, profile)
    handle, eve, cut_at = await _waiting_for_the_eve(own_timed_world, profile)
    state = await state_of(handle)
    notices = _attempts_done(profile, state)
    assert state.notices is not None and state.notices.stage is not NoticeStage.FINAL_NOTICE_PERIOD

    message = await _refused_cut(own_timed_world, handle, profile)

    expected = _next_open(profile, eve)
    assert message == f"{_eve_message(profile, eve)} {_earliest(expected)}"  # the eve is the only problem
    # the domain's own search, over the steps the request took, agrees
    found = earliest_lawful_moment(profile, now=cut_at, notices=notices, calendar=_calendar(profile, eve))
    assert isinstance(found, LawfulMoment) and found.at == expected
    after = await state_of(handle)
    assert after.status is RequestStatus.IN_PROGRESS  # refused: nothing changed


@pytest.mark.parametrize("preset", [NEW_YORK, CALIFORNIA_WATER], ids=["NY", "CA"])
async def test_new_york_and_california_need_a_payment_due_date_the_request_lacks(
    own_timed_world: World, preset: JurisdictionProfile
) -> None:
    await use_profile(own_timed_world, preset)
    handle, eve, cut_at = await _waiting_for_the_eve(own_timed_world, preset)
    state = await state_of(handle)
    notices = _attempts_done(preset, state)

    message = await _refused_cut(own_timed_world, handle, preset)

    due = f"{preset.name} counts the notice and delinquency from the payment due date; record it first."
    assert message == f"{due} {_eve_message(preset, eve)} No lawful moment yet: {due}"
    # the request waits for a moment it can never compute: it never gets ready for field work
    assert state.notices is not None
    assert state.notices.stage is NoticeStage.AWAITING_LAWFUL_MOMENT
    assert state.notices.earliest_lawful_moment is None and state.notices.blocked == due
    # with a due date long past, the preset itself would name the same next lawful moment
    with_due = notices.model_copy(update={"payment_due_on": eve - timedelta(days=120)})
    found = earliest_lawful_moment(preset, now=cut_at, notices=with_due, calendar=_calendar(preset, eve))
    assert isinstance(found, LawfulMoment) and found.at == _next_open(preset, eve)


async def _ready(world: World, handle: Any) -> RequestState:
    """Skip to the moment the request says it is ready for field work."""
    for _ in range(12):
        state = await state_of(handle)
        assert state.notices is not None
        if state.notices.stage is NoticeStage.READY_FOR_FIELD_WORK:
            return state
        now = await world.env.get_current_time()
        step = timedelta(hours=6)
        if state.notices.earliest_lawful_moment is not None:
            step = max(state.notices.earliest_lawful_moment - now, timedelta(0)) + timedelta(minutes=1)
        await world.env.sleep(min(step, timedelta(days=11)))
        await asyncio.sleep(0.2)
    raise AssertionError("never ready for field work")


@pytest.mark.parametrize("profile", [TX, PA], ids=["TX", "PA"])
async def test_a_cut_at_a_lawful_moment_completes_the_request(
    own_timed_world: World, profile: JurisdictionProfile
) -> None:
    await use_profile(own_timed_world, profile)
    handle = await _start(own_timed_world)
    state = await _ready(own_timed_world, handle)
    _attempts_done(profile, state)
    now = await own_timed_world.env.get_current_time()
    assert state.notices is not None and state.notices.earliest_lawful_moment is not None
    assert state.notices.earliest_lawful_moment <= now
    assert window_refusal(profile, now, _calendar(profile, now.date())) is None  # inside the window

    done = await _cut(own_timed_world, handle, profile)

    assert done.state.status is RequestStatus.COMPLETED
    assert (await state_of(handle)).status is RequestStatus.COMPLETED
    assert own_timed_world.active_consumer is not None
    async with own_timed_world.sessionmaker() as session:
        consumer = await session.get(Consumer, own_timed_world.active_consumer.id)
        completed = await session.scalar(
            select(RequestEvent).where(RequestEvent.request_id == handle.id, RequestEvent.kind == "completed")
        )
    assert consumer is not None and consumer.status is ConsumerStatus.TEMPORARILY_DISCONNECTED
    assert consumer.locked_by_request is None
    assert completed is not None and completed.detail.startswith("Temporarily disconnected (Non-payment)")
