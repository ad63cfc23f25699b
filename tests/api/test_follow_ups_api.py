"""Follow-ups and escalation by hand over HTTP (issue 17, points 3 and 4): a real app, database,
Temporal dev server and worker. The reminder fires on the workflow's durable timer in real time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.conftest import Stack


async def _request(stack: Stack) -> str:
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": "Seasonal return"},
        headers=stack.as_("csr"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["request_id"])


async def _detail(stack: Stack, rid: str) -> dict[str, Any]:
    response = await stack.client.get(f"/api/v1/requests/{rid}", headers=stack.as_("csr"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _due(stack: Stack, role: str, **params: str) -> Any:
    return await stack.client.get("/api/v1/requests/follow-ups", params=params, headers=stack.as_(role))


async def test_a_follow_up_is_listed_as_due_then_fires_into_the_setters_inbox(stack: Stack) -> None:
    rid = await _request(stack)
    at = datetime.now(UTC) + timedelta(seconds=3)
    set_ = await stack.client.post(
        f"/api/v1/requests/{rid}/follow-ups",
        json={"at": at.isoformat(), "note": "Call back about the meter"},
        headers=stack.as_("csr"),
    )
    assert set_.status_code == 200, set_.text
    [pending] = (await _detail(stack, rid))["follow_ups"]
    assert pending["state"] == "pending" and pending["set_by"] == "csr"
    assert abs(datetime.fromisoformat(pending["due_at"]) - at) < timedelta(milliseconds=1)

    # Due by the end of today (UTC here) for the CSR who set it on an unassigned request; not the
    # supervisor's own list; everyone's for the supervisor; the CSR may not ask for everyone's.
    mine = await _due(stack, "csr", until=(at + timedelta(minutes=1)).isoformat())
    assert mine.status_code == 200, mine.text
    assert [(f["request_id"], f["note"]) for f in mine.json()] == [(rid, "Call back about the meter")]
    assert (await _due(stack, "supervisor")).json() == []
    assert [f["request_id"] for f in (await _due(stack, "supervisor", scope="all")).json()] == [rid]
    forbidden = await _due(stack, "csr", scope="all")
    assert forbidden.status_code == 403 and forbidden.headers["content-type"] == "application/problem+json"
    assert (await _due(stack, "csr", until=(at - timedelta(minutes=1)).isoformat())).json() == []

    fired: list[dict[str, Any]] = []
    for _ in range(150):
        inbox = await stack.client.get("/api/v1/notifications", headers=stack.as_("csr"))
        fired = [n for n in inbox.json()["items"] if n["kind"] == "follow_up"]
        if fired:
            break
        await asyncio.sleep(0.1)
    [told] = fired
    assert told["request_id"] == rid and "Call back about the meter" in told["body"]
    detail = await _detail(stack, rid)
    assert [f["state"] for f in detail["follow_ups"]] == ["done"]
    assert [e["kind"] for e in detail["timeline"]].count("follow_up_due") == 1
    assert (await _due(stack, "csr")).json() == []  # fired: no longer due


async def test_a_follow_up_needs_one_future_moment_with_an_offset(stack: Stack) -> None:
    rid = await _request(stack)
    now = datetime.now(UTC)
    cases: list[tuple[dict[str, Any], str]] = [  # the body's shape, then the workflow's own check
        ({"note": "nothing"}, "at"),
        ({"at": (now + timedelta(hours=1)).isoformat(), "in_business_hours": 2}, "at"),
        ({"in_business_hours": 0}, "in_business_hours"),
        ({"at": (now - timedelta(minutes=5)).isoformat()}, "in the future"),
        ({"at": (now + timedelta(hours=1)).replace(tzinfo=None).isoformat()}, "offset"),
        ({"at": (now + timedelta(days=400)).isoformat()}, "a year"),
    ]
    for body, said in cases:
        refused = await stack.client.post(
            f"/api/v1/requests/{rid}/follow-ups", json=body, headers=stack.as_("csr")
        )
        assert refused.status_code == 422, (body, refused.text)
        assert said in refused.text, (body, refused.text)
    assert (await _detail(stack, rid))["follow_ups"] == []  # nothing half-written


async def test_a_csr_escalates_by_hand_with_a_reason_and_it_lands_on_the_timeline(stack: Stack) -> None:
    rid = await _request(stack)
    empty = await stack.client.post(
        f"/api/v1/requests/{rid}/escalate", json={"reason": ""}, headers=stack.as_("csr")
    )
    assert empty.status_code == 422
    headers = {**stack.as_("csr"), "Idempotency-Key": "escalate-once-1"}
    body = {"reason": "Consumer on life support equipment"}
    first = await stack.client.post(f"/api/v1/requests/{rid}/escalate", json=body, headers=headers)
    again = await stack.client.post(f"/api/v1/requests/{rid}/escalate", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    detail = await _detail(stack, rid)
    assert detail["escalation_level"] == 1  # the retry with the same key escalated once
    [line] = [e for e in detail["timeline"] if e["kind"] == "escalated"]
    assert "life support" in line["detail"] and line["actor"] == "csr"
    supervisor = await stack.client.get("/api/v1/notifications", headers=stack.as_("supervisor"))
    assert any(n["request_id"] == rid and n["level"] == 1 for n in supervisor.json()["items"])
