"""Bulk work (POST /api/v1/requests/bulk): one action on many requests, each through its own
workflow update with its own role check, reported per request (done / refused / failed); a
retried call acts once per request; filters resolve to the requests they find, capped."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from api.requests import bulk
from db.models import Communication, RequestEvent, ServiceRequest
from domain.consumers.types import ConsumerStatus
from tests import factories
from tests.api.conftest import ApiFactory, Stack, auth

BULK = "/api/v1/requests/bulk"


async def _open_requests(stack: Stack, n: int) -> list[str]:
    """``n`` new Pending reconnections, one per new Inactive consumer (oldest first)."""
    async with stack.sessionmaker() as session:
        consumers = [await factories.consumer(session, status=ConsumerStatus.INACTIVE) for _ in range(n)]
        await session.commit()
    ids = []
    for consumer in consumers:
        created = await stack.client.post(
            "/api/v1/requests", json={"consumer_id": consumer.id, "reason": "Other"}, headers=stack.as_("csr")
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["request_id"])
    return ids


async def _events(stack: Stack, request_id: str, kind: str) -> int:
    async with stack.sessionmaker() as session:
        query = select(func.count()).select_from(RequestEvent)
        where = (RequestEvent.request_id == request_id, RequestEvent.kind == kind)
        return int(await session.scalar(query.where(*where)) or 0)


def _by_id(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {r["request_id"]: r for r in response.json()["results"]}


async def test_bulk_acknowledge_reports_each_requests_outcome(stack: Stack) -> None:
    first, second, third = await _open_requests(stack, 3)
    ack = await stack.client.post(f"/api/v1/requests/{first}/acknowledge", headers=stack.as_("csr"))
    assert ack.status_code == 200

    response = await stack.client.post(
        BULK, json={"action": "acknowledge", "request_ids": [first, second, third, "RC-2026-999999", second]},
        headers=stack.as_("csr"),
    )  # fmt: skip

    answer = response.json()
    assert [r["request_id"] for r in answer["results"]] == [
        first,
        second,
        third,
        "RC-2026-999999",
    ]  # in order, once
    assert (answer["action"], answer["total"], answer["done"], answer["refused"], answer["failed"]) == (
        "acknowledge", 4, 2, 2, 0,
    )  # fmt: skip
    outcome = _by_id(response)
    assert outcome[second]["status"] == outcome[third]["status"] == "done"
    assert outcome[second]["message"] and outcome[second]["problem"] is None
    assert outcome[first]["status"] == "refused" and outcome[first]["problem"] == "/problems/action-refused"
    assert "In Progress" in outcome[first]["message"] or "acknowledg" in outcome[first]["message"].lower()
    assert outcome["RC-2026-999999"] == {
        "request_id": "RC-2026-999999", "status": "refused", "message": "No request RC-2026-999999.",
        "problem": "/problems/not-found",
    }  # fmt: skip
    for request_id in (first, second, third):
        assert await _events(stack, request_id, "acknowledged") == 1
        detail = await stack.client.get(f"/api/v1/requests/{request_id}", headers=stack.as_("csr"))
        assert detail.json()["status"] == "In Progress"


async def test_a_retried_bulk_call_acts_once_per_request(stack: Stack) -> None:
    ids = await _open_requests(stack, 3)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    call = {"action": "add_note", "body": {"text": "Crew delayed by storm"}, "request_ids": ids}

    first = await stack.client.post(BULK, json=call, headers={**stack.as_("csr"), **key})
    retries = await asyncio.gather(
        *(stack.client.post(BULK, json=call, headers={**stack.as_("csr"), **key}) for _ in range(2))
    )
    # the same selection sent again in parts (as the web UI sends it) is the same call
    part = await stack.client.post(
        BULK, json={**call, "request_ids": ids[1:]}, headers={**stack.as_("csr"), **key}
    )

    assert first.json()["done"] == 3
    for again in (*retries, part):
        assert {r["status"] for r in again.json()["results"]} == {"done"}
        assert all(_by_id(again)[rid]["message"] == _by_id(first)[rid]["message"] for rid in _by_id(again))
    for request_id in ids:
        assert await _events(stack, request_id, "note_added") == 1

    reused = await stack.client.post(
        BULK, json={**call, "body": {"text": "Another note"}}, headers={**stack.as_("csr"), **key}
    )
    assert {r["status"] for r in reused.json()["results"]} == {"refused"}
    assert {r["problem"] for r in reused.json()["results"]} == {"/problems/idempotency-key-reused"}
    fresh = await stack.client.post(
        BULK, json=call, headers={**stack.as_("csr"), "Idempotency-Key": uuid.uuid4().hex}
    )
    assert fresh.json()["done"] == 3  # a new key is a new action
    async with stack.sessionmaker() as session:
        notes = await session.scalar(
            select(func.count()).select_from(Communication).where(Communication.request_id.in_(ids))
        )
    assert notes == 6


async def test_supervisor_only_actions_are_refused_per_request_for_a_csr(stack: Stack) -> None:
    ids = await _open_requests(stack, 2)
    raise_them = {"action": "set_priority", "body": {"priority": "Critical"}, "request_ids": ids}

    as_csr = await stack.client.post(BULK, json=raise_them, headers=stack.as_("csr"))
    as_supervisor = await stack.client.post(BULK, json=raise_them, headers=stack.as_("supervisor"))
    assign = await stack.client.post(
        BULK, json={"action": "assign", "body": {"user_id": stack.staff["csr"].id}, "request_ids": ids},
        headers=stack.as_("supervisor"),
    )  # fmt: skip

    assert as_csr.status_code == 200 and as_csr.json()["refused"] == 2
    assert {r["problem"] for r in as_csr.json()["results"]} == {"/problems/forbidden"}
    assert {r["message"] for r in as_csr.json()["results"]} == {
        "Your role (csr) may not set priority this request."
    }
    assert as_supervisor.json()["done"] == 2 and assign.json()["done"] == 2
    async with stack.sessionmaker() as session:
        rows = (await session.scalars(select(ServiceRequest).where(ServiceRequest.request_id.in_(ids)))).all()
    assert {(r.priority.value, r.assigned_to) for r in rows} == {("Critical", stack.staff["csr"].id)}

    nobody = await stack.client.post(
        BULK, json={"action": "assign", "body": {"user_id": 999_999}, "request_ids": ids},
        headers=stack.as_("supervisor"),
    )  # fmt: skip
    assert nobody.status_code == 422 and nobody.headers["content-type"] == "application/problem+json"
    assert nobody.json()["errors"] == [{"field": "user_id", "message": "unknown or inactive user"}]


async def test_filters_select_the_requests_the_list_finds_up_to_the_cap(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _open_requests(stack, 3)
    await stack.client.post(f"/api/v1/requests/{ids[0]}/acknowledge", headers=stack.as_("csr"))
    pending = {"status": ["Pending"], "type": "Reconnection"}

    listed = await stack.client.get("/api/v1/requests", params=pending, headers=stack.as_("csr"))
    response = await stack.client.post(
        BULK, json={"action": "close", "body": {"reason": "Duplicate request", "notes": "Bulk"}, "filters": pending},
        headers=stack.as_("supervisor"),
    )  # fmt: skip

    assert [r["request_id"] for r in response.json()["results"]] == [
        r["request_id"] for r in listed.json()["items"]
    ]
    assert set(_by_id(response)) == {ids[1], ids[2]} and response.json()["done"] == 2
    assert await _events(stack, ids[0], "closed") == 0

    monkeypatch.setattr(bulk, "BULK_MAX", 1)
    too_many = await stack.client.post(
        BULK, json={"action": "acknowledge", "filters": {"type": "Reconnection"}},
        headers=stack.as_("csr"),
    )  # fmt: skip
    assert too_many.status_code == 422 and too_many.headers["content-type"] == "application/problem+json"
    assert too_many.json()["detail"].startswith(
        "3 requests match these filters; a bulk action takes at most 1."
    )
    none = await stack.client.post(BULK, json={"action": "acknowledge", "filters": {"q": "nobody-at-all"}},
                                   headers=stack.as_("csr"))  # fmt: skip
    assert none.json() == {
        "action": "acknowledge",
        "total": 0,
        "done": 0,
        "refused": 0,
        "failed": 0,
        "results": [],
    }


@pytest.mark.parametrize(
    "body",
    [
        {"action": "acknowledge"},  # neither selection
        {"action": "acknowledge", "request_ids": ["RC-1"], "filters": {}},  # both
        {"action": "acknowledge", "request_ids": []},
        {"action": "acknowledge", "request_ids": [f"RC-{n}" for n in range(501)]},
        {"action": "resume", "request_ids": ["RC-1"]},  # not a bulk action
        {"action": "set_priority", "request_ids": ["RC-1"]},  # its body missing
        {"action": "close", "body": {"reason": "Paid"}, "request_ids": ["RC-1"]},
        {"action": "acknowledge", "filters": {"colour": "red"}},
    ],
)
async def test_a_malformed_bulk_call_is_422_and_acts_on_nothing(
    api_client_for: ApiFactory, db_url: str, staff: dict[str, Any], body: dict[str, Any]
) -> None:
    async with api_client_for(database_url=db_url) as client:
        response = await client.post(BULK, json=body, headers=auth(staff["supervisor"]))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_temporal_down_fails_each_request_not_the_call(
    api_client_for: ApiFactory, db_url: str, sessionmaker: Any, staff: dict[str, Any]
) -> None:
    async with sessionmaker() as session:
        rows = [
            await factories.request_row(session, (await factories.consumer(session)).id) for _ in range(2)
        ]
        await session.commit()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = int(sock.getsockname()[1])

    async with api_client_for(
        database_url=db_url, temporal_address=f"127.0.0.1:{dead}", temporal_rpc_timeout_seconds=1
    ) as client:
        response = await client.post(
            BULK, json={"action": "acknowledge", "request_ids": [r.request_id for r in rows]},
            headers=auth(staff["csr"]),
        )  # fmt: skip

    assert response.status_code == 200, response.text
    assert response.json()["failed"] == 2
    assert {r["problem"] for r in response.json()["results"]} == {"/problems/dependency-unavailable"}
    assert all("unreachable" in r["message"] for r in response.json()["results"])
