"""Complaints on a consumer (issue 18, point 2) over the real app and database: opened, resolved
and reopened, and what they do to the health score (Complaint Resolution, −5 per open one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from db.models import AuditEntry
from domain.consumers.types import ConsumerStatus
from tests import factories
from tests.api.conftest import ApiFactory, auth


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, documents_dir=tmp_path / "documents") as client:
        yield client


@pytest.fixture
async def consumer(sessionmaker: Any) -> Any:
    async with sessionmaker() as session:
        row = await factories.consumer(session, status=ConsumerStatus.ACTIVE)
        await session.commit()
        return row


async def _health(client: httpx.AsyncClient, consumer: Any, headers: dict[str, str]) -> dict[str, Any]:
    overview = await client.get(f"/api/v1/consumers/{consumer.id}/overview", headers=headers)
    assert overview.status_code == 200, overview.text
    health: dict[str, Any] = overview.json()["health"]
    return health


async def test_open_complaints_cost_the_health_score_until_resolved(
    client: httpx.AsyncClient, staff: dict[str, Any], consumer: Any, sessionmaker: Any
) -> None:
    csr = auth(staff["csr"])
    before = await _health(client, consumer, csr)
    assert Decimal(before["components"]["complaint_resolution"]) == 100  # no complaints: 100
    url = f"/api/v1/consumers/{consumer.account_number}/complaints"

    opened = [
        await client.post(
            url, json={"category": "Billing", "description": f"Charged twice ({n})"}, headers=csr
        )
        for n in (1, 2)
    ]
    assert [o.status_code for o in opened] == [201, 201]
    assert opened[0].json()["status"] == "Open" and opened[0].json()["opened_by"] == "csr"
    open_two = await _health(client, consumer, csr)
    assert open_two["penalties"]["unresolved_complaints"] == 10  # 5 each
    assert Decimal(open_two["components"]["complaint_resolution"]) == 0
    assert open_two["score"] < before["score"]

    first = opened[0].json()["id"]
    no_notes = await client.patch(f"{url}/{first}", json={"status": "Resolved"}, headers=csr)
    assert no_notes.status_code == 422 and no_notes.json()["errors"][0]["field"] == "resolution_notes"
    resolved = await client.patch(
        f"{url}/{first}",
        json={"status": "Resolved", "resolution_notes": "Refunded the duplicate"},
        headers=csr,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved_by"] == "csr" and resolved.json()["resolved_at"] is not None

    one_open = await _health(client, consumer, csr)
    assert one_open["penalties"]["unresolved_complaints"] == 5
    assert Decimal(one_open["components"]["complaint_resolution"]) == 50
    listed = (await client.get(url, headers=csr)).json()
    assert [c["status"] for c in listed] == ["Open", "Resolved"]  # newest first

    reopened = await client.patch(f"{url}/{first}", json={"status": "In progress"}, headers=csr)
    assert reopened.json()["resolved_at"] is None and reopened.json()["resolution_notes"] is None
    async with sessionmaker() as session:
        audited = await session.scalar(
            select(func.count()).where(
                AuditEntry.object_type == "complaint", AuditEntry.object_id == str(first)
            )
        )
    assert audited == 3  # opened, resolved, reopened


async def test_a_linked_request_must_be_the_consumers_own(
    client: httpx.AsyncClient, staff: dict[str, Any], consumer: Any, sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        other = await factories.consumer(session)
        theirs = await factories.request_row(session, other.id)
        await session.commit()

    refused = await client.post(
        f"/api/v1/consumers/{consumer.id}/complaints",
        json={"category": "Service quality", "description": "Late visit", "request_id": theirs.request_id},
        headers=auth(staff["csr"]),
    )
    missing = await client.patch(
        f"/api/v1/consumers/{consumer.id}/complaints/999999",
        json={"status": "Open"},
        headers=auth(staff["csr"]),
    )

    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "request_id"
    assert missing.status_code == 404


async def test_opening_twice_with_one_key_opens_once(
    client: httpx.AsyncClient, staff: dict[str, Any], consumer: Any
) -> None:
    headers = {**auth(staff["csr"]), "Idempotency-Key": "complaint-1"}
    url = f"/api/v1/consumers/{consumer.id}/complaints"
    body = {"category": "Outage", "description": "No water since Monday"}

    answers = [await client.post(url, json=body, headers=headers) for _ in range(2)]

    assert answers[0].json() == answers[1].json()
    assert len((await client.get(url, headers=auth(staff["csr"]))).json()) == 1
