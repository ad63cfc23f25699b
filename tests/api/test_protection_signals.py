"""A protection recorded or ended through the API reaches the consumer's waiting non-payment
disconnection at once (real app, database, Temporal dev server and worker): the API signals the
request after its commit, and the request goes On Hold, then back In Progress, while its next timer
(the end of the final notice period) is still days away."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType

from domain.disconnection.profile import TEXAS_ELECTRIC
from tests.api.conftest import Stack
from workflows.schemas import PROTECTIONS_CHANGED

# All year without a moratorium (the default Pennsylvania profile holds every request Dec–Mar).
PROFILE = TEXAS_ELECTRIC
PROMPTLY = 10.0  # seconds: no timer of the request fires in this time


async def _detail(stack: Stack, rid: str) -> dict[str, Any]:
    response = await stack.client.get(f"/api/v1/requests/{rid}", headers=stack.as_("csr"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _status_becomes(stack: Stack, rid: str, status: str) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + PROMPTLY
    while True:
        detail = await _detail(stack, rid)
        if detail["status"] == status:
            return detail
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{rid} still {detail['status']} after {PROMPTLY}s, not {status}")
        await asyncio.sleep(0.1)


async def _waiting_disconnection(stack: Stack) -> str:
    """A non-payment disconnection of the Active consumer, acknowledged, its final notice sent."""
    adopted = await stack.client.post(
        "/api/v1/admin/disconnection-profile/adopt-preset",
        json={"key": PROFILE.key},
        headers=stack.as_("admin"),
    )
    assert adopted.status_code == 200, adopted.text
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.active.id, "reason": "Non-payment"},
        headers=stack.as_("csr"),
    )
    assert created.status_code == 201, created.text
    rid: str = created.json()["request_id"]
    acknowledged = await stack.client.post(f"/api/v1/requests/{rid}/acknowledge", headers=stack.as_("csr"))
    assert acknowledged.status_code == 200, acknowledged.text
    deadline = asyncio.get_running_loop().time() + PROMPTLY
    while (notices := (await _detail(stack, rid))["notices"]) is None or notices["final_notice"] is None:
        assert asyncio.get_running_loop().time() < deadline, "no final notice"
        await asyncio.sleep(0.1)
    return rid


async def test_recording_a_protection_holds_the_waiting_request_and_ending_it_resumes(
    stack: Stack, dev_client: Any, task_queue: str
) -> None:
    rid = await _waiting_disconnection(stack)
    waiting = await _detail(stack, rid)
    assert waiting["status"] == "In Progress"
    assert waiting["notices"]["stage"] == "final_notice_period" and waiting["notices"]["holds"] == []
    # its next timer: the end of the notice period, days away
    assert date.fromisoformat(waiting["notices"]["notice_period_ends_on"]) > datetime.now(UTC).date()
    base = f"/api/v1/consumers/{stack.active.id}/protections"

    recorded = await stack.client.post(
        base, json={"kind": "dispute_under_review", "note": "Bill disputed"}, headers=stack.as_("csr")
    )

    assert recorded.status_code == 201, recorded.text
    held = await _status_becomes(stack, rid, "On Hold")
    [hold] = held["notices"]["holds"]
    assert hold["kind"] == "dispute_under_review" and hold["until"] is None
    put_on_hold = [e for e in held["timeline"] if e["kind"] == "put_on_hold"]
    assert [e["actor"] for e in put_on_hold] == ["system"]
    assert "Dispute under review" in put_on_hold[0]["detail"]

    ended = await stack.client.post(
        f"{base}/{recorded.json()['id']}/end", json={"reason": "Dispute resolved"}, headers=stack.as_("csr")
    )

    assert ended.status_code == 200, ended.text
    resumed = await _status_becomes(stack, rid, "In Progress")
    assert resumed["notices"]["holds"] == []
    assert resumed["notices"]["stage"] == "final_notice_period"  # the notice period still runs
    assert [(e["kind"], e["actor"]) for e in resumed["timeline"] if e["kind"] == "resumed"] == [
        ("resumed", "system")
    ]
    # what woke the request was the API's signal, twice; no timer of it has fired
    handle = dev_client.get_workflow_handle(f"{task_queue}/{rid}")
    events = [event async for event in handle.fetch_history_events()]
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert signals.count(PROTECTIONS_CHANGED) == 2
    assert not [e for e in events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED]
