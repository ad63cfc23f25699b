"""An admin applies a new SLA policy to the open requests (issue 17, point 2): each workflow
recomputes its due times from its creation and every pause so far — a hold taken before the
policy paused holds counts once the new policy does — and applying it again changes nothing.
A real app, database, Temporal dev server and worker."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from tests.api.conftest import Stack


async def _detail(stack: Stack, rid: str) -> dict[str, Any]:
    response = await stack.client.get(f"/api/v1/requests/{rid}", headers=stack.as_("csr"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _due(detail: dict[str, Any], target: str) -> datetime:
    [clock] = [c for c in detail["sla"] if c["target"] == target]
    return datetime.fromisoformat(clock["due_at"])


def _at(detail: dict[str, Any], kind: str) -> datetime:
    [event] = [e for e in detail["timeline"] if e["kind"] == kind]
    return datetime.fromisoformat(event["occurred_at"])


async def _apply(stack: Stack, role: str = "admin") -> Any:
    return await stack.client.post("/api/v1/admin/sla/apply-to-open", headers=stack.as_(role))


async def test_a_new_policy_reaches_open_requests_keeping_the_time_already_held(stack: Stack) -> None:
    created = await stack.client.post(
        "/api/v1/requests", json={"consumer_id": stack.inactive.id, "reason": "Seasonal return"},
        headers=stack.as_("csr"),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    rid = created.json()["request_id"]
    csr = stack.as_("csr")
    for path, body in (("acknowledge", None), ("hold", {"reason": "Awaiting payment"})):
        done = await stack.client.post(f"/api/v1/requests/{rid}/{path}", json=body, headers=csr)
        assert done.status_code == 200, done.text
    await asyncio.sleep(2)  # held under the old policy, which does not pause the resolution clock
    resumed = await stack.client.post(f"/api/v1/requests/{rid}/resume", headers=csr)
    assert resumed.status_code == 200, resumed.text
    before = await _detail(stack, rid)
    opened = datetime.fromisoformat(before["created_at"])
    assert _due(before, "resolution") == opened + timedelta(hours=24)  # the hold did not count

    policy = (await stack.client.get("/api/v1/admin/sla", headers=stack.as_("admin"))).json()
    new = {k: policy[k] for k in policy if k not in ("updated_by", "updated_at")} | {
        "resolution_minutes": 600, "pause_resolution_on_hold": True,
    }  # fmt: skip
    saved = await stack.client.put("/api/v1/admin/sla", json=new, headers=stack.as_("admin"))
    assert saved.status_code == 200, saved.text
    assert _due(await _detail(stack, rid), "resolution") == _due(before, "resolution")  # saved, not applied

    assert (await _apply(stack, "csr")).status_code == 403
    applied = await _apply(stack)
    assert applied.status_code == 200, applied.text
    assert applied.json() == {"open_requests": 1, "told": 1, "not_reached": []}

    held = _at(before, "resumed") - _at(before, "put_on_hold")
    assert held >= timedelta(seconds=2)
    expected = opened + timedelta(minutes=600) + held
    after = before
    for _ in range(300):  # the signal is handled asynchronously: wait for the row's new due time
        after = await _detail(stack, rid)
        if _due(after, "resolution") != _due(before, "resolution"):
            break
        await asyncio.sleep(0.1)
    assert abs(_due(after, "resolution") - expected) < timedelta(seconds=1), (
        _due(after, "resolution"),
        expected,
    )
    assert _due(after, "acknowledgement") == _due(before, "acknowledgement")  # met: kept

    again = await _apply(stack)  # the same policy again: nothing to recompute, nothing recorded
    assert again.json()["told"] == 1
    # An update after the signal runs after it (the workflow handles them in order, one at a time).
    noted = await stack.client.post(
        f"/api/v1/requests/{rid}/notes",
        json={"text": "Checked the SLA", "visibility": "internal"},
        headers=csr,
    )
    assert noted.status_code == 200, noted.text
    final = await _detail(stack, rid)
    assert [e["kind"] for e in final["timeline"]].count("sla_policy_changed") == 1
    assert _due(final, "resolution") == _due(after, "resolution")


async def test_with_no_open_request_there_is_nothing_to_tell(stack: Stack) -> None:
    applied = await _apply(stack)
    assert applied.status_code == 200 and applied.json() == {"open_requests": 0, "told": 0, "not_reached": []}
