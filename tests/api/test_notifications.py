"""The escalation chain's in-app notices (issue 17, point 3): written once per person per level,
listed in each user's inbox with the unread count, marked read, acknowledged by one supervisor
for all; the chain admin-editable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from db import notifications as stored
from tests import factories
from tests.api.conftest import auth


async def _escalated(sessionmaker: Any, staff: dict[str, Any], level: int, *, assignee: str | None) -> str:
    async with sessionmaker() as session:
        consumer = await factories.consumer(session)
        row = await factories.request_row(
            session, consumer.id, assigned_to=staff[assignee].id if assignee else None
        )
        for _ in range(2):  # a retried activity writes nothing twice
            emails = await stored.notify_escalation(
                session, request_id=row.request_id, level=level, title=f"Escalation level {level}: {row.request_id}",
                body="Resolution SLA breached.", key=f"{row.request_id}:0005:escalated", at=datetime.now(UTC),
            )  # fmt: skip
        await session.commit()
    assert emails  # the level's e-mail goes somewhere
    return str(row.request_id)


async def _inbox(client: Any, user: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/notifications", headers=auth(user))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_level_1_reaches_the_assignee_and_supervisors_once_and_one_supervisor_acknowledges(
    api_client_for: Any, db_url: str, sessionmaker: Any, staff: dict[str, Any]
) -> None:
    rid = await _escalated(sessionmaker, staff, 1, assignee="csr")
    async with api_client_for(database_url=db_url) as client:
        csr = await _inbox(client, staff["csr"])
        supervisor = await _inbox(client, staff["supervisor"])
        admin = await _inbox(client, staff["admin"])
        assert csr["unread"] == 1 and supervisor["unread"] == 1 and admin["unread"] == 0  # level 1: the team
        assert [n["request_id"] for n in csr["items"]] == [rid]
        mine = csr["items"][0]["id"]

        read = await client.post(f"/api/v1/notifications/{mine}/read", headers=auth(staff["csr"]))
        assert read.status_code == 200 and read.json()["read_at"] is not None
        assert (await _inbox(client, staff["csr"]))["unread"] == 0
        not_yours = await client.post(f"/api/v1/notifications/{mine}/read", headers=auth(staff["supervisor"]))
        assert not_yours.status_code == 404
        by_csr = await client.post(f"/api/v1/notifications/{mine}/acknowledge", headers=auth(staff["csr"]))
        assert by_csr.status_code == 403

        line = supervisor["items"][0]["id"]
        taken = await client.post(
            f"/api/v1/notifications/{line}/acknowledge", headers=auth(staff["supervisor"])
        )
        assert taken.status_code == 200 and taken.json()["acknowledged_by"] == "supervisor"
        again = await client.post(
            f"/api/v1/notifications/{line}/acknowledge", headers=auth(staff["supervisor"])
        )
        assert again.status_code == 200  # a retry
        csr_line = (await _inbox(client, staff["csr"]))["items"][0]
        assert csr_line["acknowledged_by"] == "supervisor"  # everyone told sees who took it


async def test_level_2_reaches_the_duty_managers_and_the_chain_is_admin_editable(
    api_client_for: Any, db_url: str, sessionmaker: Any, staff: dict[str, Any]
) -> None:
    async with api_client_for(database_url=db_url) as client:
        chain = await client.get("/api/v1/admin/escalation-chain", headers=auth(staff["admin"]))
        assert chain.status_code == 200 and len(chain.json()["levels"]) == 2
        refused = await client.put(
            "/api/v1/admin/escalation-chain", json={"levels": []}, headers=auth(staff["admin"])
        )
        assert refused.status_code == 422
        changed = await client.put(
            "/api/v1/admin/escalation-chain",
            json={"levels": [{"notify_assignee": True, "roles": ["supervisor"]}, {"roles": ["admin"]}]},
            headers=auth(staff["admin"]),
        )
        assert changed.status_code == 200, changed.text
        await _escalated(sessionmaker, staff, 2, assignee="csr")  # the admin-only level 2 now

        assert (await _inbox(client, staff["admin"]))["unread"] == 1
        assert (await _inbox(client, staff["csr"]))["unread"] == 0
        assert (await _inbox(client, staff["supervisor"]))["unread"] == 0
