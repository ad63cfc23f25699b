"""The audit log: every write appends who, when, what and the before/after of what it changed;
supervisors and admins search it; nobody can change it, not even with SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from db.models import AuditEntry
from tests.api.conftest import Stack


async def _audit(stack: Stack, **params: Any) -> list[dict[str, Any]]:
    response = await stack.client.get("/api/v1/audit", params=params, headers=stack.as_("supervisor"))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_admin_consumer_and_request_writes_are_audited_with_before_and_after(stack: Stack) -> None:
    plan = {"name": "Audit Plan", "short_name": "AUD-1", "category": "Residential", "sub_category": "Standard",
            "monthly_fee": "12.50", "services": [{"utility": "water", "metered": True}]}  # fmt: skip
    made = await stack.client.post("/api/v1/admin/plans", json=plan, headers=stack.as_("admin"))
    assert made.status_code == 201
    edited = await stack.client.patch(
        f"/api/v1/consumers/{stack.active.id}", json={"phone": "555-0199"}, headers=stack.as_("csr")
    )
    assert edited.status_code == 200, edited.text
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": "Other"},
        headers=stack.as_("csr"),
    )
    rid = created.json()["request_id"]
    acked = await stack.client.post(f"/api/v1/requests/{rid}/acknowledge", headers=stack.as_("supervisor"))
    assert acked.status_code == 200

    [plan_entry] = await _audit(stack, object_type="plan", object_id=str(made.json()["id"]))
    assert plan_entry["actor"] == "admin" and plan_entry["action"] == "create"
    assert plan_entry["changes"]["short_name"] == [None, "AUD-1"]
    [contact] = await _audit(stack, object_type="consumer", object_id=str(stack.active.id), actor="csr")
    assert contact["action"] == "update"
    assert contact["changes"]["phone"] == [stack.active.phone, "555-0199"]
    request_entries = await _audit(stack, object_type="request", object_id=rid)
    ack = next(e for e in request_entries if e["action"] == "acknowledged")
    assert ack["actor"] == "supervisor"
    assert ack["changes"]["status"] == ["Pending", "In Progress"]
    assert {e["action"] for e in request_entries} >= {"created", "acknowledged"}


async def test_a_password_change_is_audited_without_the_hash(stack: Stack) -> None:
    changed = await stack.client.patch(
        f"/api/v1/admin/users/{stack.staff['csr'].id}",
        json={"password": "a much longer passphrase 42"},
        headers=stack.as_("admin"),
    )
    assert changed.status_code == 200, changed.text

    [entry] = [
        e for e in await _audit(stack, object_type="user", actor="admin") if "password_hash" in e["changes"]
    ]
    assert entry["changes"]["password_hash"] == [None, "(changed)"]
    assert "argon2" not in str(await _audit(stack))


async def test_search_by_user_object_and_dates_and_only_for_supervisors(stack: Stack) -> None:
    await stack.client.post(
        f"/api/v1/consumers/{stack.active.id}/service-orders",
        json={"service_type": "Inspections", "description": "Seal check"},
        headers=stack.as_("csr"),
    )
    today = datetime.now(UTC).date()
    assert await _audit(
        stack, object_type="service_order", **{"from": today.isoformat(), "to": today.isoformat()}
    )
    assert await _audit(stack, object_type="service_order", to=(today - timedelta(days=1)).isoformat()) == []
    assert await _audit(stack, object_type="service_order", actor="nobody") == []

    refused = await stack.client.get("/api/v1/audit", headers=stack.as_("csr"))
    assert refused.status_code == 403
    stack.client.cookies.set("connectdesk_session", stack.as_("supervisor")["Authorization"][7:])
    page = await stack.client.get("/audit")
    assert page.status_code == 200 and "Audit log" in page.text and "service order" in page.text


@pytest.mark.parametrize("change", ["update", "delete"])
async def test_the_log_is_append_only_in_the_database(stack: Stack, change: str) -> None:
    await stack.client.patch(
        f"/api/v1/consumers/{stack.active.id}", json={"phone": "555-0142"}, headers=stack.as_("csr")
    )
    statement = update(AuditEntry).values(actor="someone else") if change == "update" else delete(AuditEntry)

    async with stack.sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(statement)
        await session.rollback()
        actors = set((await session.scalars(select(AuditEntry.actor))).all())
        await session.execute(text("SELECT 1"))
    assert "csr" in actors and "someone else" not in actors


async def test_a_sign_out_is_audited_as_the_user_who_signed_out(stack: Stack) -> None:
    out = await stack.client.post("/api/v1/auth/logout", headers=stack.as_("csr"))
    assert out.status_code == 204

    entries = await _audit(stack, object_type="user", object_id=str(stack.staff["csr"].id))
    assert [(e["action"], e["actor"]) for e in entries] == [("sign_out", "csr"), ("create", "system")]
