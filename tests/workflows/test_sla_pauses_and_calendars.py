"""Due times computed from data on the time-skipping server: business-hours targets on the
request's calendar, pause intervals that keep every paused second across a priority change and a
new policy (the GLPI case), and pauses counted in business time, not 24/7 (the Frappe case).

Actions go in as signals, as in test_sla.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

from domain.business_time import BusinessCalendar, WorkWindow
from domain.disconnection.profile import Weekday
from domain.request.types import Priority, SlaState, SlaTarget
from tests.workflows.conftest import World
from tests.workflows.test_sla import _act, _expect, _hold_for_four_hours
from workflows.actions import Acknowledge, PutOnHold, Resume, SetPriority
from workflows.request import RequestWorkflow
from workflows.schemas import SLA_POLICY_CHANGED, SlaPolicyChanged, SlaSettings

SECOND = timedelta(seconds=1)


def _near(a: datetime, b: datetime) -> bool:
    """Equal but for the milliseconds a signal lands after the sleep before it."""
    return abs(a - b) < SECOND


async def _due(handle: object, target: SlaTarget) -> datetime:
    state = await handle.query(RequestWorkflow.state)  # type: ignore[attr-defined]
    return next(c.due_at for c in state.sla if c.target is target)


async def _policy_changed(world: World, handle: object, settings: SlaSettings, **kw: object) -> None:
    before = len(await world.events(handle.id))  # type: ignore[attr-defined]
    await handle.signal(SLA_POLICY_CHANGED, SlaPolicyChanged(settings=settings, by="admin", **kw))  # type: ignore[attr-defined]
    for _ in range(200):
        if len(await world.events(handle.id)) > before:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the policy change was not processed")


def _office_calendar(created: datetime) -> tuple[BusinessCalendar, datetime]:
    """A calendar open 09:00–17:00 every day, in a fixed-offset zone where ``created`` is 08:xx
    local; and that day's 09:00 local (as an aware datetime)."""
    offset = ((8 - created.hour + 12) % 24) - 12  # the zone's hours ahead of UTC, in -12 … 11
    zone = "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # Etc/GMT-3 is UTC+3
    calendar = BusinessCalendar(
        time_zone=zone, hours={d: (WorkWindow(start=time(9), end=time(17)),) for d in Weekday}
    )
    local = created.astimezone(calendar.zone)
    assert local.hour == 8
    return calendar, local.replace(hour=9, minute=0, second=0, microsecond=0)


async def _sleep_until(world: World, moment: datetime) -> None:
    remaining = moment - await world.env.get_current_time()
    if remaining > timedelta(0):
        await world.env.sleep(remaining)


async def test_a_business_hours_target_is_due_inside_working_hours(timed_world: World) -> None:
    world = timed_world
    created = await world.env.get_current_time()
    calendar, nine = _office_calendar(created)
    sla = SlaSettings(resolution_minutes=600, resolution_business_hours=True, calendar=calendar)
    handle = await world.start(created_at=created, sla=sla)

    # 10 business hours from 08:xx: the 8 of today (09–17) and 2 tomorrow → tomorrow 11:00.
    due = await _due(handle, SlaTarget.RESOLUTION)
    assert due == nine + timedelta(days=1, hours=2)
    state = await handle.query(RequestWorkflow.state)
    resolution = next(c for c in state.sla if c.target is SlaTarget.RESOLUTION)
    assert resolution.at_risk_at == nine + timedelta(hours=7, minutes=30)  # 7.5 business hours: today 16:30
    assert (await world.row(handle.id)).resolution_due_at == due
    # The calendar-time targets are untouched: acknowledgement still 2 hours after creation.
    assert await _due(handle, SlaTarget.ACKNOWLEDGEMENT) == created + timedelta(hours=2)

    await _sleep_until(world, nine + timedelta(hours=7, minutes=30) - SECOND)
    await _expect(handle, SlaTarget.RESOLUTION, SlaState.ON_TRACK, 2)  # ack and response breached
    await _sleep_until(world, nine + timedelta(hours=7, minutes=30) + SECOND)
    await _expect(handle, SlaTarget.RESOLUTION, SlaState.AT_RISK, 2)
    await _sleep_until(world, due - SECOND)
    await _expect(handle, SlaTarget.RESOLUTION, SlaState.AT_RISK, 2)
    await _sleep_until(world, due + SECOND)
    await _expect(handle, SlaTarget.RESOLUTION, SlaState.BREACHED, 3)


async def test_a_pause_is_counted_in_business_time_not_around_the_clock(timed_world: World) -> None:
    """The Frappe case: a pause over the night adds the working time it covered, not its 24/7 length."""
    world = timed_world
    created = await world.env.get_current_time()
    calendar, nine = _office_calendar(created)
    sla = SlaSettings(
        resolution_minutes=180,
        resolution_business_hours=True,
        pause_resolution_on_hold=True,
        calendar=calendar,
    )
    handle = await world.start(created_at=created, sla=sla)
    assert await _due(handle, SlaTarget.RESOLUTION) == nine + timedelta(hours=3)
    await _act(world, handle, "acknowledge", Acknowledge(actor="csr"))

    await _sleep_until(world, nine + timedelta(hours=1))  # one business hour counted
    await _act(world, handle, "put_on_hold", PutOnHold(actor="csr", reason="Awaiting the consumer"))
    await _sleep_until(world, nine + timedelta(hours=7))  # 16:00: six business hours paused
    await _act(world, handle, "resume", Resume(actor="csr"))

    # Two business hours were left: 16:00–17:00 today and 09:00–10:00 tomorrow (shifting the due
    # time by the pause's length would give 18:00 today, after closing).
    due = await _due(handle, SlaTarget.RESOLUTION)
    assert _near(due, nine + timedelta(days=1, hours=1))
    assert (await world.row(handle.id)).resolution_due_at == due

    # A pause wholly outside working hours (17:30 → 08:30 tomorrow) moves nothing (a 24/7 count
    # would add fifteen hours).
    await _sleep_until(world, nine + timedelta(hours=8, minutes=30))
    await _act(world, handle, "put_on_hold", PutOnHold(actor="csr", reason="Night"))
    await _sleep_until(world, nine + timedelta(days=1, minutes=-30))
    await _act(world, handle, "resume", Resume(actor="csr"))
    assert _near(await _due(handle, SlaTarget.RESOLUTION), due)


async def test_paused_time_survives_a_priority_change_and_a_new_policy(timed_world: World) -> None:
    """The GLPI case: four hours on hold, then the priority changes and the admin applies a new
    policy; every paused second still counts, and a later pause adds to it."""
    world = timed_world
    handle, created = await _hold_for_four_hours(world, pause=True)
    assert _near(await _due(handle, SlaTarget.RESOLUTION), created + timedelta(hours=28))  # type: ignore[operator]

    await _act(world, handle, "set_priority", SetPriority(actor="sup", priority=Priority.CRITICAL))
    assert _near(await _due(handle, SlaTarget.RESOLUTION), created + timedelta(hours=28))  # type: ignore[operator]

    await _policy_changed(
        world, handle, SlaSettings(resolution_minutes=30 * 60, pause_resolution_on_hold=True)
    )
    due = await _due(handle, SlaTarget.RESOLUTION)
    assert _near(due, created + timedelta(hours=34))  # type: ignore[operator]  # 30 h target + 4 h paused
    row = await world.row(handle.id)
    assert row.resolution_due_at == due
    assert "sla_policy_changed" in await world.events(handle.id)
    # The acknowledgement was met under the old policy: it stays met.
    state = await handle.query(RequestWorkflow.state)
    assert next(c for c in state.sla if c.target is SlaTarget.ACKNOWLEDGEMENT).state is SlaState.MET

    await _sleep_until(world, created + timedelta(hours=6))  # type: ignore[operator]
    await _act(world, handle, "put_on_hold", PutOnHold(actor="csr", reason="Again"))
    await _sleep_until(world, created + timedelta(hours=7))  # type: ignore[operator]
    await _act(world, handle, "resume", Resume(actor="csr"))
    assert _near(await _due(handle, SlaTarget.RESOLUTION), created + timedelta(hours=35))  # type: ignore[operator]


async def test_a_new_policy_keeps_a_regulated_resolution_deadline(timed_world: World) -> None:
    world = timed_world
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created, sla=SlaSettings(resolution_minutes=48 * 60))
    await _policy_changed(
        world, handle, SlaSettings(ack_minutes=60, resolution_minutes=8 * 60), keep_resolution=True
    )
    assert await _due(handle, SlaTarget.RESOLUTION) == created + timedelta(hours=48)
    assert await _due(handle, SlaTarget.ACKNOWLEDGEMENT) == created + timedelta(hours=1)
