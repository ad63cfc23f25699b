"""Follow-ups ("remind me": a durable timer that tells the assignee and lands on the timeline,
cancelled when the request is resolved first) and escalation by hand, on the time-skipping server.

Actions go in as signals (the test server stops skipping time once a client has awaited an update).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select, update
from temporalio.client import WorkflowHandle

from db.models import FollowUp as FollowUpRow
from db.models import Notification, ServiceRequest
from domain.business_time import BusinessCalendar, WorkWindow
from domain.disconnection.profile import Weekday
from domain.request.types import CloseReason, Priority
from domain.users import Role
from tests import factories
from tests.workflows.conftest import Mailbox, World
from tests.workflows.test_sla import _act
from workflows.actions import Close, Escalate, FollowUp
from workflows.request import RequestWorkflow
from workflows.schemas import SlaSettings

SECOND = timedelta(seconds=1)


async def _rows(world: World, request_id: str) -> list[FollowUpRow]:
    async with world.sessionmaker() as session:
        return list(
            (await session.scalars(select(FollowUpRow).where(FollowUpRow.request_id == request_id))).all()
        )


async def _inbox(world: World, user_id: int) -> list[Notification]:
    async with world.sessionmaker() as session:
        return list(
            (await session.scalars(select(Notification).where(Notification.user_id == user_id))).all()
        )


async def _settled(world: World, done: Callable[[], Awaitable[object]]) -> None:
    """Let the workflow's activities finish: up to 10 s of 50 ms steps until ``done()`` is truthy."""
    for _ in range(200):
        if await done():
            return
        await world.env.sleep(timedelta(milliseconds=50))


async def _has_event(world: World, request_id: str, kind: str) -> bool:
    return kind in await world.events(request_id)


async def _level(handle: WorkflowHandle[Any, Any], level: int) -> bool:
    return (await handle.query(RequestWorkflow.state)).escalation_level == level


async def test_a_follow_up_fires_at_its_time_and_tells_the_assignee(timed_world: World) -> None:
    world = timed_world
    async with world.sessionmaker() as session:
        ann = await factories.user(session, "ann", Role.CSR)
        await session.commit()
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created)
    async with world.sessionmaker() as session:
        await session.execute(
            update(ServiceRequest).where(ServiceRequest.request_id == handle.id).values(assigned_to=ann.id)
        )
        await session.commit()
    due = created + timedelta(minutes=30)
    await _act(world, handle, "follow_up", FollowUp(actor="bob", at=due, note="Call back about the meter"))

    [row] = await _rows(world, handle.id)
    assert (row.state, row.due_at, row.set_by) == ("pending", due, "bob")
    state = await handle.query(RequestWorkflow.state)
    assert [(f.due_at, f.state) for f in state.follow_ups] == [(due, "pending")]

    await world.env.sleep(due - await world.env.get_current_time() - SECOND)
    assert "follow_up_due" not in await world.events(handle.id)
    assert await _inbox(world, ann.id) == []

    await world.env.sleep(2 * SECOND)
    await _settled(world, lambda: _has_event(world, handle.id, "follow_up_due"))
    assert (await world.events(handle.id)).count("follow_up_due") == 1
    [row] = await _rows(world, handle.id)
    assert row.state == "done" and row.fired_at is not None and row.fired_at >= due
    [told] = await _inbox(world, ann.id)
    assert told.kind == "follow_up" and told.request_id == handle.id
    assert "Call back about the meter" in told.body and "set by bob" in told.body
    assert (await handle.query(RequestWorkflow.state)).follow_ups[0].state == "done"

    await world.env.sleep(timedelta(hours=1))  # fired once: nothing more
    assert (await world.events(handle.id)).count("follow_up_due") == 1


async def test_an_unassigned_requests_follow_up_tells_whoever_set_it(timed_world: World) -> None:
    world = timed_world
    async with world.sessionmaker() as session:
        bob = await factories.user(session, "bob", Role.CSR)
        await session.commit()
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created)
    await _act(world, handle, "follow_up", FollowUp(actor="bob", at=created + timedelta(minutes=10)))
    await world.env.sleep(timedelta(minutes=11))
    await _settled(world, lambda: _inbox(world, bob.id))
    [told] = await _inbox(world, bob.id)
    assert told.kind == "follow_up"


async def test_resolving_first_cancels_the_follow_up(timed_world: World) -> None:
    world = timed_world
    async with world.sessionmaker() as session:
        ann = await factories.user(session, "ann", Role.CSR)
        await session.commit()
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created)
    await _act(world, handle, "follow_up", FollowUp(actor="ann", at=created + timedelta(hours=1)))
    await _act(world, handle, "close", Close(actor="ann", reason=CloseReason.DUPLICATE_REQUEST, notes=""))
    await handle.result()
    await world.env.sleep(timedelta(hours=2))

    events = await world.events(handle.id)
    assert "follow_up_cancelled" in events and "follow_up_due" not in events
    [row] = await _rows(world, handle.id)
    assert row.state == "cancelled" and row.fired_at is None
    assert await _inbox(world, ann.id) == []


async def test_a_follow_up_in_business_hours_lands_inside_the_calendar(timed_world: World) -> None:
    """ "In 2 business hours" on the request's captured calendar: counted only inside its window."""
    world = timed_world
    created = await world.env.get_current_time()
    local_hour = created.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    # One three-hour window every day, opening 3 hours after the hour the request was created in;
    # a window that would cross midnight opens at 02:00 the next day instead (today's has passed).
    opens = local_hour + timedelta(hours=3)
    if opens.hour >= 21:
        opens = (opens + timedelta(days=1)).replace(hour=2)
    window = WorkWindow(start=opens.time(), end=(opens + timedelta(hours=3)).time())
    calendar = BusinessCalendar(time_zone="UTC", hours={d: (window,) for d in Weekday})
    handle = await world.start(created_at=created, sla=SlaSettings(calendar=calendar))
    await _act(world, handle, "follow_up", FollowUp(actor="ann", in_business_hours=2))

    [row] = await _rows(world, handle.id)
    assert row.due_at == opens + timedelta(hours=2)  # counted from the window's opening


async def test_a_csr_escalates_by_hand_with_a_reason(timed_mail_world: World, mailbox: Mailbox) -> None:
    world = timed_mail_world
    async with world.sessionmaker() as session:
        supervisor = await factories.user(session, "cy", Role.SUPERVISOR)
        await session.commit()
    handle = await world.start(created_at=await world.env.get_current_time())

    await _act(world, handle, "escalate", Escalate(actor="ann", reason="Life support equipment at home"))

    state = await handle.query(RequestWorkflow.state)
    assert (state.escalation_level, state.priority) == (1, Priority.HIGH)
    row = await world.row(handle.id)
    assert (row.escalation_level, row.priority) == (1, Priority.HIGH)
    [told] = await _inbox(world, supervisor.id)
    assert told.kind == "escalation" and told.level == 1
    assert "asked by ann: Life support equipment at home" in told.body
    [message] = await mailbox.wait_for(1)
    assert message["Subject"] == f"Escalation level 1: {handle.id}"
    assert message["X-Envelope-To"] == supervisor.email

    # The SLA breach that follows goes one level further up: the chain's next people.
    await world.env.sleep(timedelta(hours=2, seconds=5))
    await _settled(world, lambda: _level(handle, 2))
    assert (await handle.query(RequestWorkflow.state)).escalation_level == 2
