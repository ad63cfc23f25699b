"""A non-payment disconnection on the time-skipping server and a real database: the final notice,
the notice period and the contact attempts on durable timers, in order; holds from protections
and weather emergencies recorded while it waits, released by their expiry; the cut re-checked
against the lawful window at the moment the final readings arrive.

Actions go in as signals (the test server stops skipping time once a client awaits an update),
except the final readings at the very end.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.models import Communication, ConsumerProtection, RequestEvent, WeatherEmergencyDeclaration
from domain.disconnection.lawful import LawfulMoment, NoticesSent, earliest_lawful_moment
from domain.disconnection.profile import NEW_YORK, PENNSYLVANIA, JurisdictionProfile
from domain.disconnection.protections import ProtectionKind, WeatherHazard
from domain.disconnection.window import day_refusal, holiday_calendar
from domain.request.types import Channel, RequestStatus
from tests.workflows.conftest import World
from tests.workflows.lawful import state_of, until, use_profile
from workflows.actions import FinalReadingBody, RecordFinalReadings
from workflows.request import RequestWorkflow
from workflows.schemas import NoticeStage, ProtectionsChanged, RequestState

NON_PAYMENT = "Non-payment"
# Winter (Dec–Mar) is a moratorium in the Pennsylvania preset: these tests run any time of year.
PA_ALL_YEAR = PENNSYLVANIA.model_copy(update={"moratoria": ()})


async def _stage(handle: Any, stage: NoticeStage) -> None:
    async def reached() -> bool:
        notices = (await state_of(handle)).notices
        return notices is not None and notices.stage is stage

    await until(reached, f"stage {stage}")


async def _status(handle: Any, status: RequestStatus) -> None:
    async def reached() -> bool:
        return (await state_of(handle)).status is status

    await until(reached, f"status {status}")


async def _started(world: World) -> Any:
    assert world.active_consumer is not None
    handle = await world.start(consumer=world.active_consumer, reason=NON_PAYMENT)
    await handle.signal("acknowledge", {"actor": "csr"})
    await _stage(handle, NoticeStage.FINAL_NOTICE_PERIOD)
    return handle


async def _ready(world: World, handle: Any) -> RequestState:
    """Skip through the notice period, the contact attempts and the lead time."""
    for _ in range(12):
        state = await state_of(handle)
        assert state.notices is not None
        if state.notices.stage is NoticeStage.READY_FOR_FIELD_WORK:
            return state
        now = await world.env.get_current_time()
        step = timedelta(hours=6)
        if state.notices.earliest_lawful_moment is not None:
            step = max(state.notices.earliest_lawful_moment - now, timedelta(minutes=1)) + timedelta(
                minutes=1
            )
        await world.env.sleep(min(step, timedelta(days=11)))
        await asyncio.sleep(0.2)
    raise AssertionError("never ready for field work")


async def _events(world: World, request_id: str) -> list[RequestEvent]:
    async with world.sessionmaker() as session:
        rows = await session.scalars(
            select(RequestEvent).where(RequestEvent.request_id == request_id).order_by(RequestEvent.id)
        )
        return list(rows.all())


async def test_final_notice_then_period_then_contact_attempts_then_ready(own_timed_world: World) -> None:
    await use_profile(own_timed_world, PA_ALL_YEAR)
    handle = await _started(own_timed_world)
    began = await own_timed_world.env.get_current_time()

    state = await _ready(own_timed_world, handle)

    notices = state.notices
    assert notices is not None and notices.final_notice is not None
    assert notices.final_notice.channel is Channel.EMAIL  # the consumer has an e-mail address
    assert len(notices.contact_attempts) == 2
    first, second = notices.contact_attempts
    zone = PA_ALL_YEAR.zone
    assert first.local_day != second.local_day  # separate local days
    assert first.at >= began + timedelta(days=9)  # only once the notice period has run
    for attempt in (first, second):
        assert time(7) <= attempt.at.astimezone(zone).time() < time(21)
    assert notices.earliest_lawful_moment is not None
    assert notices.earliest_lawful_moment >= second.at + timedelta(hours=72)
    kinds = [e.kind for e in await _events(own_timed_world, handle.id)]
    steps = [k for k in kinds if k in ("final_notice_sent", "contact_attempt", "ready_for_field_work")]
    assert steps == ["final_notice_sent", "contact_attempt", "contact_attempt", "ready_for_field_work"]
    row = await own_timed_world.row(handle.id)
    assert row.disconnection_stage == NoticeStage.READY_FOR_FIELD_WORK.value
    assert row.notices is not None and len(row.notices["contact_attempts"]) == 2
    async with own_timed_world.sessionmaker() as session:
        sent = (
            await session.scalars(select(Communication.channel).where(Communication.request_id == handle.id))
        ).all()
    assert list(sent).count(Channel.SMS) == 2 and Channel.EMAIL in sent


async def test_a_moving_out_disconnection_has_no_notice_steps(own_timed_world: World) -> None:
    assert own_timed_world.active_consumer is not None
    handle = await own_timed_world.start(consumer=own_timed_world.active_consumer)
    await handle.signal("acknowledge", {"actor": "csr"})
    await _status(handle, RequestStatus.IN_PROGRESS)

    assert (await state_of(handle)).notices is None
    assert "final_notice_sent" not in await own_timed_world.events(handle.id)


@pytest.mark.parametrize("kind", [ProtectionKind.MEDICAL_CERTIFICATE, ProtectionKind.DISPUTE_UNDER_REVIEW])
async def test_a_protection_recorded_while_waiting_holds_and_its_expiry_resumes(
    own_timed_world: World, kind: ProtectionKind
) -> None:
    await use_profile(own_timed_world, PA_ALL_YEAR)
    handle = await _started(own_timed_world)
    now = await own_timed_world.env.get_current_time()
    assert own_timed_world.active_consumer is not None
    async with own_timed_world.sessionmaker() as session:
        session.add(
            ConsumerProtection(
                consumer_id=own_timed_world.active_consumer.id, kind=kind, starts_at=now,
                ends_at=now + timedelta(days=5), renewals=0, recorded_by="csr", recorded_at=now,
            )
        )  # fmt: skip
        await session.commit()
    await handle.signal(RequestWorkflow.protections_changed, ProtectionsChanged(what="recorded", by="csr"))

    await _status(handle, RequestStatus.ON_HOLD)
    held = [e for e in await _events(own_timed_world, handle.id) if e.kind == "put_on_hold"]
    assert held[-1].actor == "system"
    label = "Medical certificate" if kind is ProtectionKind.MEDICAL_CERTIFICATE else "Dispute under review"
    assert label in held[-1].detail and "until" in held[-1].detail
    notices = (await state_of(handle)).notices
    assert notices is not None and [h.kind for h in notices.holds] == [kind]

    await own_timed_world.env.sleep(timedelta(days=5, minutes=1))
    await _status(handle, RequestStatus.IN_PROGRESS)
    resumed = [e for e in await _events(own_timed_world, handle.id) if e.kind == "resumed"]
    assert resumed[-1].actor == "system" and "hold lifted" in resumed[-1].detail


async def test_a_weather_emergency_declared_while_waiting_holds_it(own_timed_world: World) -> None:
    await use_profile(own_timed_world, PA_ALL_YEAR)
    handle = await _started(own_timed_world)
    now = await own_timed_world.env.get_current_time()
    async with own_timed_world.sessionmaker() as session:
        session.add(
            WeatherEmergencyDeclaration(
                hazard=WeatherHazard.COLD, starts_at=now, ends_at=now + timedelta(days=2),
                service_area="Springfield", declared_by="admin", declared_at=now,
            )
        )  # fmt: skip
        await session.commit()
    await handle.signal(RequestWorkflow.protections_changed, ProtectionsChanged(what="declared", by="admin"))

    await _status(handle, RequestStatus.ON_HOLD)
    held = [e for e in await _events(own_timed_world, handle.id) if e.kind == "put_on_hold"]
    assert "Cold weather emergency in Springfield" in held[-1].detail

    await own_timed_world.env.sleep(timedelta(days=2, minutes=1))
    await _status(handle, RequestStatus.IN_PROGRESS)


async def test_the_winter_moratorium_holds_a_pennsylvania_request_in_winter(own_timed_world: World) -> None:
    handle = await _started(own_timed_world)  # the default profile: Pennsylvania, with its moratorium
    now = await own_timed_world.env.get_current_time()
    in_winter = now.astimezone(PENNSYLVANIA.zone).month in (12, 1, 2, 3)

    notices = (await state_of(handle)).notices
    assert notices is not None
    kinds = [h.kind for h in notices.holds]
    assert (ProtectionKind.SEASONAL_MORATORIUM in kinds) is in_winter
    if in_winter:
        await _status(handle, RequestStatus.ON_HOLD)


def _next_local(
    profile: JurisdictionProfile, after: datetime, weekday: int, at: time, *, open_day: bool = False
) -> datetime:
    """The next ``weekday`` at ``at`` local time after ``after``; ``open_day``: one the window allows."""
    local = after.astimezone(profile.zone)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7 or 7)
    calendar = holiday_calendar(profile, day.year, day.year + 1)
    while open_day and day_refusal(profile, day, calendar) is not None:
        day += timedelta(days=7)
    return datetime.combine(day, at, profile.zone)


async def _refused_cut(world: World, handle: Any, profile: JurisdictionProfile, when: datetime) -> str:
    now = await world.env.get_current_time()
    await world.env.sleep(when - now)
    assert world.meters["in_service"] is not None
    readings = [FinalReadingBody(meter_number=world.meters["in_service"].meter_number,
                                 reading=Decimal("640"), reading_date=when.astimezone(profile.zone).date())]  # fmt: skip
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            RequestWorkflow.record_final_readings, RecordFinalReadings(actor="csr", readings=readings)
        )
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "TransitionRefused"
    return cause.message


def _expected_next(profile: JurisdictionProfile, state: RequestState, at: datetime) -> str:
    notices = state.notices
    assert notices is not None and notices.final_notice is not None
    found = earliest_lawful_moment(
        profile,
        now=at,
        notices=NoticesSent(
            final_notice_on=notices.final_notice.local_day,
            contact_attempts=tuple(a.at for a in notices.contact_attempts),
        ),
        calendar=holiday_calendar(profile, at.year, at.year + 1),
    )
    assert isinstance(found, LawfulMoment)
    return f"Earliest lawful moment: {found.at:%A %Y-%m-%d %H:%M %Z}."


async def test_a_friday_cut_is_refused_with_the_next_lawful_moment(own_timed_world: World) -> None:
    await use_profile(own_timed_world, PA_ALL_YEAR)
    handle = await _started(own_timed_world)
    state = await _ready(own_timed_world, handle)
    friday = _next_local(PA_ALL_YEAR, await own_timed_world.env.get_current_time(), 4, time(10))

    message = await _refused_cut(own_timed_world, handle, PA_ALL_YEAR, friday)

    assert "is not a disconnection day" in message and "Friday" in message
    assert _expected_next(PA_ALL_YEAR, state, friday) in message
    assert "Earliest lawful moment: Friday" not in message


async def test_an_after_hours_cut_is_refused_in_new_york(own_timed_world: World) -> None:
    profile = NEW_YORK.model_copy(update={"forbidden_periods": (), "final_notice": NEW_YORK.final_notice.model_copy(
        update={"min_days_after_due": 0})})  # fmt: skip
    await use_profile(own_timed_world, profile)
    handle = await _started(own_timed_world)
    state = await _ready(own_timed_world, handle)
    evening = _next_local(profile, await own_timed_world.env.get_current_time(), 1, time(18), open_day=True)

    message = await _refused_cut(own_timed_world, handle, profile, evening)

    assert "outside disconnection hours (08:00–16:00 local time)" in message
    assert _expected_next(profile, state, evening) in message
