"""The run loop's timer under the ``kept-timer`` patch: a change that leaves the next deadline where
it was costs no timer cancelled and restarted, and a change to nothing the Temporal UI shows costs
no search-attribute upsert; a change that moves the deadline still moves the timer, and the kept
timer still fires at its exact time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType

from domain.request.types import SlaState, SlaTarget
from tests.workflows.conftest import World
from tests.workflows.test_sla import SECOND, _act, _expect, _sleep_to
from workflows.actions import Acknowledge, AddNote
from workflows.request import RELEASE_2026_12, RequestWorkflow

TIMER_COMMANDS = {EventType.EVENT_TYPE_TIMER_STARTED, EventType.EVENT_TYPE_TIMER_CANCELED}


async def _events_after(handle: Any, since: int) -> list[Any]:
    history = await handle.fetch_history()
    return [e for e in history.events if e.event_id > since]


async def _last_event_id(handle: Any) -> int:
    return (await handle.fetch_history()).events[-1].event_id


async def test_a_note_leaves_the_timer_and_the_search_attributes_alone(world: World) -> None:
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.add_note, AddNote(actor="csr", text="Called, no answer"))
    before = await _last_event_id(handle)

    await handle.execute_update(RequestWorkflow.add_note, AddNote(actor="csr", text="Called back, no answer"))

    kinds = [e.event_type for e in await _events_after(handle, before)]
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED in kinds
    assert EventType.EVENT_TYPE_MARKER_RECORDED in kinds  # the note's projection ran
    assert not TIMER_COMMANDS & set(kinds)
    assert EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES not in kinds
    markers = [
        e.marker_recorded_event_attributes.details["patch-data"]
        for e in (await handle.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert any(RELEASE_2026_12.encode() in payload.payloads[0].data for payload in markers)  # kept-timer's


async def test_acknowledging_moves_the_timer_and_upserts_only_what_changed(world: World) -> None:
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.add_note, AddNote(actor="csr", text="Called, no answer"))
    before = await _last_event_id(handle)

    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    events = await _events_after(handle, before)
    kinds = [e.event_type for e in events]
    assert kinds.count(EventType.EVENT_TYPE_TIMER_CANCELED) == 1  # the acknowledgement's warning
    assert kinds.count(EventType.EVENT_TYPE_TIMER_STARTED) == 1  # the next target's
    (upsert,) = [e for e in events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]
    names = set(upsert.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
    assert names == {"RequestStatus"}  # type, account, priority, level and SLA status did not change


async def test_the_kept_timer_still_warns_and_breaches_at_the_exact_time(timed_world: World) -> None:
    """Notes taken while the acknowledgement runs leave its timer running: it still fires on time."""
    world = timed_world
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created)

    await _sleep_to(world, created, timedelta(minutes=30))
    await _act(world, handle, "add_note", AddNote(actor="csr", text="Left a voicemail"))
    await _sleep_to(world, created, timedelta(minutes=90) - SECOND)
    await _expect(handle, SlaTarget.ACKNOWLEDGEMENT, SlaState.ON_TRACK, 0)
    await _sleep_to(world, created, timedelta(minutes=90) + SECOND)
    await _expect(handle, SlaTarget.ACKNOWLEDGEMENT, SlaState.AT_RISK, 0)
    await _act(world, handle, "add_note", AddNote(actor="csr", text="Second voicemail"))
    await _sleep_to(world, created, timedelta(minutes=120) - SECOND)
    await _expect(handle, SlaTarget.ACKNOWLEDGEMENT, SlaState.AT_RISK, 0)
    await _sleep_to(world, created, timedelta(minutes=120) + SECOND)
    await _expect(handle, SlaTarget.ACKNOWLEDGEMENT, SlaState.BREACHED, 1)

    kinds = [e.event_type for e in (await handle.fetch_history()).events]
    assert EventType.EVENT_TYPE_TIMER_CANCELED not in kinds  # neither note touched the timer
    assert (await world.events(handle.id))[1:] == ["note_added", "sla_at_risk", "note_added", "escalated"]
