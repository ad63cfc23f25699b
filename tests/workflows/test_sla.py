"""SLA clocks on durable timers: warnings, breaches at their exact time, escalation, hold policy.

Time-skipping server: start the workflow, then `env.sleep` to just before / at each instant.
Actions go in as signals here: the test server stops skipping time once a client has awaited an
update (see DESIGN.md, Known pitfalls); updates are covered by test_lifecycle.py.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from db.models import Communication
from domain.request.types import (
    Channel,
    CloseReason,
    ContactOutcome,
    Direction,
    Priority,
    RequestStatus,
    SlaState,
    SlaTarget,
)
from tests.workflows.conftest import World
from workflows.actions import Acknowledge, Close, LogContact, PutOnHold, Resume, SendResponse
from workflows.request import RequestWorkflow
from workflows.schemas import SlaSettings

SECOND = timedelta(seconds=1)


async def _clock(handle: object, target: SlaTarget) -> tuple[SlaState, int]:
    state = await handle.query(RequestWorkflow.state)  # type: ignore[attr-defined]
    clock = next(c for c in state.sla if c.target is target)
    return clock.state, state.escalation_level


async def _expect(handle: object, target: SlaTarget, state: SlaState, level: int) -> None:
    """The clock's state and the escalation level, once the workflow has processed the timer.

    A query computes states from the clock at once; the escalation's activity lands a moment later.
    """
    seen = await _clock(handle, target)
    for _ in range(200):
        if seen == (state, level):
            return
        await asyncio.sleep(0.05)
        seen = await _clock(handle, target)
    assert seen == (state, level)


async def _act(world: World, handle: object, action: str, payload: object) -> None:
    """Send an action as a signal and wait until its timeline event is written."""
    before = len(await world.events(handle.id))  # type: ignore[attr-defined]
    await handle.signal(action, payload)  # type: ignore[attr-defined]
    for _ in range(200):
        if len(await world.events(handle.id)) > before:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"signal {action} was not processed")


async def _sleep_to(world: World, start, offset: timedelta) -> None:  # type: ignore[no-untyped-def]
    """Sleep until `offset` after the request's creation (server time)."""
    now = await world.env.get_current_time()
    remaining = start + offset - now
    if remaining > timedelta(0):
        await world.env.sleep(remaining)


async def test_acknowledgement_warns_at_75_percent_and_breaches_at_its_exact_time(timed_world: World) -> None:
    world = timed_world
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created)

    await _sleep_to(world, created, timedelta(minutes=90) - SECOND)
    await _expect(handle, SlaTarget.ACKNOWLEDGEMENT, SlaState.ON_TRACK, 0)

    await _sleep_to(world, created, timedelta(minutes=90) + SECOND)
    await _expect(handle, SlaTarget.ACKNOWLEDGEMENT, SlaState.AT_RISK, 0)

    await _sleep_to(world, created, timedelta(minutes=120) - SECOND)
    await _expect(handle, SlaTarget.ACKNOWLEDGEMENT, SlaState.AT_RISK, 0)

    await _sleep_to(world, created, timedelta(minutes=120) + SECOND)
    await _expect(handle, SlaTarget.ACKNOWLEDGEMENT, SlaState.BREACHED, 1)

    row = await world.row(handle.id)
    assert row.escalation_level == 1
    assert row.priority is Priority.HIGH  # raised one step from Medium
    assert row.ack_state is SlaState.BREACHED and row.sla_status is SlaState.BREACHED
    assert (await world.events(handle.id))[1:] == ["sla_at_risk", "escalated"]
    async with world.sessionmaker() as session:
        notices = (
            await session.scalars(
                select(Communication).where(
                    Communication.request_id == handle.id, Communication.channel == Channel.SYSTEM
                )
            )
        ).all()
    assert len(notices) == 1 and "level 1" in (notices[0].subject or "")


async def test_acknowledging_in_time_meets_the_target_and_nothing_escalates_for_it(
    timed_world: World,
) -> None:
    world = timed_world
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created)

    await _act(world, handle, "acknowledge", Acknowledge(actor="csr"))
    await _act(
        world,
        handle,
        "log_contact",
        LogContact(
            actor="csr",
            channel=Channel.PHONE,
            direction=Direction.TO_CUSTOMER,
            outcome=ContactOutcome.REACHED,
            notes="We are on it",
        ),
    )
    await _sleep_to(world, created, timedelta(hours=5))

    state = await handle.query(RequestWorkflow.state)
    by_target = {c.target: c.state for c in state.sla}
    assert by_target[SlaTarget.ACKNOWLEDGEMENT] is SlaState.MET
    assert by_target[SlaTarget.RESPONSE] is SlaState.MET
    assert by_target[SlaTarget.RESOLUTION] is SlaState.ON_TRACK
    assert state.escalation_level == 0
    assert "escalated" not in await world.events(handle.id)
    row = await world.row(handle.id)
    assert row.response_state is SlaState.MET and row.first_response_at is not None


async def test_unresolved_request_escalates_again_after_its_resolution_breach(timed_world: World) -> None:
    world = timed_world
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created, sla=SlaSettings(re_escalate_minutes=180))
    await _act(world, handle, "acknowledge", Acknowledge(actor="csr"))
    await _act(
        world, handle, "send_response", SendResponse(actor="csr", channel=Channel.SMS, message="Scheduled")
    )

    await _sleep_to(world, created, timedelta(hours=24) + SECOND)
    await _expect(handle, SlaTarget.RESOLUTION, SlaState.BREACHED, 1)

    await _sleep_to(world, created, timedelta(hours=27) - SECOND)
    assert (await handle.query(RequestWorkflow.state)).escalation_level == 1

    await _sleep_to(world, created, timedelta(hours=27) + SECOND)
    await _expect(handle, SlaTarget.RESOLUTION, SlaState.BREACHED, 2)
    state = await handle.query(RequestWorkflow.state)
    assert state.priority is Priority.CRITICAL  # Medium → High → Critical
    assert (await world.row(handle.id)).escalation_level == 2

    await _sleep_to(world, created, timedelta(hours=60))
    assert (await handle.query(RequestWorkflow.state)).escalation_level == 2  # level 2 is the last


async def test_escalation_stops_the_moment_the_request_is_resolved(timed_world: World) -> None:
    world = timed_world
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created)

    await _act(world, handle, "close", Close(actor="csr", reason=CloseReason.DUPLICATE_REQUEST, notes=""))
    await handle.result()
    await _sleep_to(world, created, timedelta(hours=30))

    assert "escalated" not in await world.events(handle.id)
    assert (await world.row(handle.id)).escalation_level == 0


async def _hold_for_four_hours(world: World, pause: bool) -> tuple[object, object]:
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created, sla=SlaSettings(pause_resolution_on_hold=pause))
    await _act(world, handle, "acknowledge", Acknowledge(actor="csr"))
    await _act(
        world, handle, "send_response", SendResponse(actor="csr", channel=Channel.EMAIL, message="Hello")
    )
    await _sleep_to(world, created, timedelta(hours=1))
    await _act(world, handle, "put_on_hold", PutOnHold(actor="csr", reason="Awaiting documents"))
    await _sleep_to(world, created, timedelta(hours=5))
    await _act(world, handle, "resume", Resume(actor="csr"))
    return handle, created


async def test_hold_does_not_pause_the_resolution_clock_by_default(timed_world: World) -> None:
    world = timed_world
    handle, created = await _hold_for_four_hours(world, pause=False)

    state = await handle.query(RequestWorkflow.state)  # type: ignore[attr-defined]
    resolution = next(c for c in state.sla if c.target is SlaTarget.RESOLUTION)
    assert resolution.due_at == created + timedelta(hours=24)  # type: ignore[operator]

    await _sleep_to(world, created, timedelta(hours=24) + SECOND)  # type: ignore[arg-type]
    await _expect(handle, SlaTarget.RESOLUTION, SlaState.BREACHED, 1)


async def test_hold_extends_the_resolution_due_time_when_the_policy_pauses_it(timed_world: World) -> None:
    world = timed_world
    handle, created = await _hold_for_four_hours(world, pause=True)

    state = await handle.query(RequestWorkflow.state)  # type: ignore[attr-defined]
    resolution = next(c for c in state.sla if c.target is SlaTarget.RESOLUTION)
    # held ≈ 4 h (the two actions land a few milliseconds after their sleeps end)
    assert abs(resolution.due_at - (created + timedelta(hours=28))) < SECOND  # type: ignore[operator]
    assert (await world.row(handle.id)).resolution_due_at == resolution.due_at  # type: ignore[attr-defined]

    due_after = resolution.due_at - created  # type: ignore[operator]
    await _sleep_to(world, created, due_after - SECOND)  # type: ignore[arg-type]
    await _expect(handle, SlaTarget.RESOLUTION, SlaState.AT_RISK, 0)
    await _sleep_to(world, created, due_after + SECOND)  # type: ignore[arg-type]
    await _expect(handle, SlaTarget.RESOLUTION, SlaState.BREACHED, 1)
    assert (await handle.query(RequestWorkflow.state)).status is RequestStatus.IN_PROGRESS  # type: ignore[attr-defined]
