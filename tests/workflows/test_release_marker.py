"""The release markers: a request begun on this release records one patch marker, and one upsert of
Temporal's TemporalChangeVersion, for every patch its code holds, in its first workflow task; its
first action records none. What the patches brought is on all the same: the database work runs as
local activities, the timer is kept, the search attributes are upserted only when they change, and
select-plan and activate are one local activity each. Runs begun before a marker keep answering by
their own markers (here continued by this code; recorded ones: the replay test)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType

from activities.mail import Mailer
from activities.request import RequestActivities
from domain.request.types import CloseReason
from settings import Settings
from tests.workflows.conftest import World
from worker import build_worker
from workflows import request as request_module
from workflows import search_attributes as sa
from workflows.actions import Acknowledge, Activate, Close, MeterChoiceBody, PutOnHold, Resume, SelectPlan
from workflows.request import (
    ACTIVATION_CHECKED_WHERE_WRITTEN,
    KEPT_TIMER,
    LOCAL_ACTIVITIES,
    PLAN_CHECKED_WHERE_WRITTEN,
    RELEASE_2026_12,
    RELEASE_2026_12_B,
    RELEASES,
    RESPONSE_DELIVERED,
    ROW_BEFORE_ACTIONS,
    START_ATTRIBUTES,
    RequestWorkflow,
)

UPSERT = EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES


def _marked(events: list[Any], marker: str, detail: str, field: str) -> list[str]:
    """``field`` of each ``marker`` the history recorded, in order, read from its ``detail``."""
    return [
        json.loads(e.marker_recorded_event_attributes.details[detail].payloads[0].data)[field]
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == marker
    ]


def _patch_ids(events: list[Any]) -> list[str]:
    return _marked(events, "core_patch", "patch-data", "id")


def _local_activities(events: list[Any]) -> list[str]:
    """The local activities a history ran, in order, by their activity type."""
    return _marked(events, "core_local_activity", "data", "activity_type")


def _upserted(event: Any) -> set[str]:
    return set(event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)


async def _first_task_done(handle: Any) -> int:
    """The last event ID once the run's first workflow task (its 'created' projection) completed."""
    for _ in range(200):
        events = (await handle.fetch_history()).events
        if any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in events):
            return int(events[-1].event_id)
        await asyncio.sleep(0.05)
    raise AssertionError("the first workflow task never completed")


async def _lifecycle(handle: Any) -> None:
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(
        RequestWorkflow.put_on_hold, PutOnHold(actor="csr", reason="Awaiting payment")
    )
    await handle.execute_update(RequestWorkflow.resume, Resume(actor="csr"))
    await handle.execute_update(
        RequestWorkflow.close, Close(actor="csr", reason=CloseReason.ISSUE_RESOLVED, notes="")
    )
    await handle.result()


async def test_a_new_request_records_one_patch_marker_for_all_its_patches(world: World) -> None:
    handle = await world.start()
    await _lifecycle(handle)

    events = list((await handle.fetch_history()).events)
    assert RELEASES[0][0] == RELEASE_2026_12_B  # the newest release
    assert _patch_ids(events) == [RELEASE_2026_12_B]
    assert not {KEPT_TIMER, LOCAL_ACTIVITIES, ROW_BEFORE_ACTIONS, RESPONSE_DELIVERED} & set(
        _patch_ids(events)
    )
    versions = [e for e in events if e.event_type == UPSERT and "TemporalChangeVersion" in _upserted(e)]
    assert len(versions) == 1
    # What the patches brought: no database activity task (local activities), no timer restarted
    # for a deadline that did not move (kept timer).
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    assert scheduled <= {"send_email", "send_sms"}
    assert [e.event_type for e in events].count(EventType.EVENT_TYPE_MARKER_RECORDED) > 5  # the projections
    assert await world.events(handle.id) == ["created", "acknowledged", "put_on_hold", "resumed", "closed"]


async def test_the_first_action_records_no_patch_marker(world: World) -> None:
    handle = await world.start()
    before = await _first_task_done(handle)

    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    events = [e for e in (await handle.fetch_history()).events if e.event_id > before]
    assert _patch_ids(events) == []  # before the release marker: row-before-actions, and its upsert
    (upsert,) = [e for e in events if e.event_type == UPSERT]
    assert _upserted(upsert) == {"RequestStatus"}


async def test_a_request_begun_before_the_marker_keeps_answering_by_its_own_markers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run begun by the code before the marker, continued by this code after a deploy: it replays
    its first task, answers no to the release marker, and records the patches it reaches later one
    by one (row-before-actions at its first action), as the code before it would have."""
    queue = f"rel-{uuid.uuid4().hex[:12]}"  # request IDs carry it: 32 characters at most
    activities = RequestActivities(world.sessionmaker, Mailer("", 25, "desk@utility.example"), "s@example")
    settings = Settings(worker_sandboxed=False)  # the workflow reads this module's _since, swapped below
    # The code before: each patch it knew asked by itself; start-attributes-published came later.
    monkeypatch.setattr(
        request_module, "_since", lambda patch: patch != START_ATTRIBUTES and workflow.patched(patch)
    )
    async with build_worker(world.env.client, settings, activities, task_queue=queue):
        handle = await dataclasses.replace(world, task_queue=queue).start()
        await _first_task_done(handle)
    assert _patch_ids(list((await handle.fetch_history()).events)) == [LOCAL_ACTIVITIES, KEPT_TIMER]
    monkeypatch.undo()

    async with build_worker(world.env.client, settings, activities, task_queue=queue):  # this code
        await _lifecycle(handle)

    events = list((await handle.fetch_history()).events)
    assert _patch_ids(events) == [LOCAL_ACTIVITIES, KEPT_TIMER, ROW_BEFORE_ACTIONS]
    assert await world.events(handle.id) == ["created", "acknowledged", "put_on_hold", "resumed", "closed"]


async def test_the_search_attributes_a_request_started_with_are_not_upserted_again(world: World) -> None:
    """Started as the API starts it, with its six search attributes: its first workflow task
    upserts none of them again; the first action upserts the status alone."""
    handle = await world.start(with_search_attributes=True)
    before = await _first_task_done(handle)
    first = [e for e in (await handle.fetch_history()).events if e.event_type == UPSERT]
    assert [_upserted(e) for e in first] == [{"TemporalChangeVersion"}]

    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    later = [
        e for e in (await handle.fetch_history()).events if e.event_id > before and e.event_type == UPSERT
    ]
    assert [_upserted(e) for e in later] == [{"RequestStatus"}]
    shown = (await handle.describe()).typed_search_attributes
    assert shown.get(sa.REQUEST_STATUS) == "In Progress"
    assert shown.get(sa.REQUEST_TYPE) == "Reconnection" and shown.get(sa.ESCALATION_LEVEL) == 0


def _meters(world: World) -> list[MeterChoiceBody]:
    return [
        MeterChoiceBody(
            utility=m.utility, meter_number=m.meter_number, reading=Decimal("150"), reading_date=date.today()
        )
        for m in (world.meters["elec"], world.meters["water"])
    ]


async def _plan_and_activate(handle: Any, world: World) -> None:
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))
    await handle.execute_update(RequestWorkflow.activate, Activate(actor="csr", meters=_meters(world)))


async def test_select_plan_and_activate_are_one_local_activity_each(world: World) -> None:
    """Each checks its rules in the transaction that writes it: no lookup before (checked-where-written)."""
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    await _plan_and_activate(handle, world)

    events = list((await handle.fetch_history()).events)
    assert _local_activities(events) == ["record_created", "project", "select_plan", "complete"]
    assert _patch_ids(events) == [RELEASE_2026_12_B]
    assert await world.events(handle.id) == [
        "created",
        "acknowledged",
        "plan_selected",
        "completed",
    ]


async def test_a_request_begun_on_the_release_before_checks_its_activation_where_it_writes_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Begun (and its plan selected) by the code of release-2026-12, then continued by this code: its
    plan's selection replays without plan-checked-where-written, and it records
    activation-checked-where-written by itself at its activation, which runs as one local activity."""
    queue = f"rel-{uuid.uuid4().hex[:12]}"
    activities = RequestActivities(world.sessionmaker, Mailer("", 25, "desk@utility.example"), "s@example")
    settings = Settings(worker_sandboxed=False)
    monkeypatch.setattr(  # the code of release-2026-12: one marker for its patches, no later one
        request_module,
        "_since",
        lambda patch: (
            patch not in (PLAN_CHECKED_WHERE_WRITTEN, ACTIVATION_CHECKED_WHERE_WRITTEN)
            and (workflow.patched(RELEASE_2026_12) or workflow.patched(patch))
        ),
    )
    async with build_worker(world.env.client, settings, activities, task_queue=queue):
        handle = await dataclasses.replace(world, task_queue=queue).start()
        await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
        await handle.execute_update(
            RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id)
        )
    monkeypatch.undo()

    async with build_worker(world.env.client, settings, activities, task_queue=queue):  # this code
        await handle.execute_update(RequestWorkflow.activate, Activate(actor="csr", meters=_meters(world)))

    events = list((await handle.fetch_history()).events)
    assert _patch_ids(events) == [RELEASE_2026_12, ACTIVATION_CHECKED_WHERE_WRITTEN]
    assert _local_activities(events) == ["record_created", "project", "check_plan", "project", "complete"]
    assert await world.events(handle.id) == [
        "created",
        "acknowledged",
        "plan_selected",
        "completed",
    ]
