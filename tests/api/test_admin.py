"""Admin configuration over the real app and a real database: SLA targets, time slots, plans, users."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import SlotDay, SystemSetting, User
from db.slots import book_slot
from db.system_settings import load_sla_settings
from domain.passwords import verify_password
from tests import factories
from tests.api.conftest import ApiFactory, auth

PROBLEM = "application/problem+json"
Sessionmaker = async_sessionmaker[AsyncSession]

SLA = {
    "ack_minutes": 60,
    "response_minutes": 180,
    "resolution_minutes": 2880,
    "at_risk_fraction": 0.5,
    "pause_resolution_on_hold": True,
    "re_escalate_minutes": 120,
}
SLOT = {"label": "Morning", "start_time": "08:00", "end_time": "10:00", "capacity_per_day": 4}
PLAN = {
    "name": "Retail Gold",
    "short_name": "COM-RTL-G",
    "category": "Commercial",
    "sub_category": "Retail",
    "monthly_fee": "89.00",
    "rates": {"electricity_per_kwh": 0.1725},
    "features": ["Priority support"],
    "services": [{"utility": "electricity", "metered": True}, {"utility": "water", "metered": False}],
}
NEW_USER = {
    "username": "jdoe",
    "full_name": "Jane Doe",
    "email": "jdoe@utility.example",
    "role": "csr",
    "password": "correct-horse-battery",
}


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url) as client:
        yield client


@pytest.fixture
def admin(staff: dict[str, Any]) -> dict[str, str]:
    return auth(staff["admin"])


@pytest.fixture
async def utilities(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker() as session:
        await factories.utilities(session)
        await session.commit()


def problem(response: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    """The problem+json body of ``response``, after checking its status and field errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if fields:
        assert {error["field"] for error in body["errors"]} >= set(fields), body
    return body


ENDPOINTS = [
    ("GET", "/api/v1/admin/sla", None),
    ("PUT", "/api/v1/admin/sla", SLA),
    ("GET", "/api/v1/admin/time-slots", None),
    ("POST", "/api/v1/admin/time-slots", SLOT),
    ("PATCH", "/api/v1/admin/time-slots/1", {"capacity_per_day": 2}),
    ("DELETE", "/api/v1/admin/time-slots/1", None),
    ("GET", "/api/v1/admin/plans", None),
    ("POST", "/api/v1/admin/plans", PLAN),
    ("PATCH", "/api/v1/admin/plans/1", {"active": False}),
    ("GET", "/api/v1/admin/users", None),
    ("POST", "/api/v1/admin/users", NEW_USER),
    ("PATCH", "/api/v1/admin/users/1", {"full_name": "X"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_admin_endpoints_refuse_anonymous_and_non_admins(
    client: httpx.AsyncClient, staff: dict[str, Any], method: str, path: str, body: Any
) -> None:
    anonymous = await client.request(method, path, json=body)
    assert problem(anonymous, 401)["type"] == "/problems/not-authenticated"
    for role in ("csr", "supervisor"):
        refused = problem(await client.request(method, path, json=body, headers=auth(staff[role])), 403)
        assert refused["required_roles"] == ["admin"]
        assert refused["role"] == role


# ---- SLA ----------------------------------------------------------------------------------------


async def test_sla_defaults_then_replaced_and_attributed(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: Sessionmaker
) -> None:
    defaults = await client.get("/api/v1/admin/sla", headers=admin)
    assert defaults.status_code == 200, defaults.text
    assert defaults.json() == {
        "ack_minutes": 120,
        "response_minutes": 240,
        "resolution_minutes": 1440,
        "at_risk_fraction": 0.75,
        "pause_resolution_on_hold": False,
        "re_escalate_minutes": 240,
        "ack_business_hours": False,
        "response_business_hours": False,
        "resolution_business_hours": False,
        "updated_by": None,
        "updated_at": None,
    }

    replaced = await client.put("/api/v1/admin/sla", json=SLA, headers=admin)
    assert replaced.status_code == 200, replaced.text
    assert {k: replaced.json()[k] for k in SLA} == SLA
    assert replaced.json()["updated_by"] == "admin"
    assert replaced.json()["updated_at"] is not None

    assert (await client.get("/api/v1/admin/sla", headers=admin)).json() == replaced.json()
    async with sessionmaker() as session:
        assert (await load_sla_settings(session)).model_dump(include=set(SLA)) == SLA
        authors = set(await session.scalars(select(SystemSetting.updated_by)))
        assert authors == {"admin"}


async def test_sla_refuses_bad_values_with_field_errors(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    shrinking = {**SLA, "ack_minutes": 300, "resolution_minutes": 100}
    body = problem(
        await client.put("/api/v1/admin/sla", json=shrinking, headers=admin), 422, "response_minutes"
    )
    assert body["type"] == "/problems/validation"
    problem(
        await client.put(
            "/api/v1/admin/sla", json={**SLA, "at_risk_fraction": 1.5, "ack_minutes": 0}, headers=admin
        ),
        422,
        "at_risk_fraction",
        "ack_minutes",
    )
    missing = {k: v for k, v in SLA.items() if k != "resolution_minutes"}
    problem(await client.put("/api/v1/admin/sla", json=missing, headers=admin), 422, "resolution_minutes")
    problem(
        await client.put("/api/v1/admin/sla", json={**SLA, "sla_typo": 1}, headers=admin), 422, "sla_typo"
    )
    # Nothing was stored by the refused attempts.
    assert (await client.get("/api/v1/admin/sla", headers=admin)).json()["updated_by"] is None


# ---- time slots ---------------------------------------------------------------------------------


async def test_time_slots_are_created_listed_changed_and_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post("/api/v1/admin/time-slots", json=SLOT, headers=admin)
    assert created.status_code == 201, created.text
    slot = created.json()
    assert slot == {"id": slot["id"], "label": "Morning", "start_time": "08:00:00", "end_time": "10:00:00",
                    "capacity_per_day": 4, "active": True}  # fmt: skip
    later = {
        **SLOT,
        "label": "Late morning",
        "start_time": "10:00",
        "end_time": "12:00",
    }  # touching is no overlap
    assert (await client.post("/api/v1/admin/time-slots", json=later, headers=admin)).status_code == 201

    listed = (await client.get("/api/v1/admin/time-slots", headers=admin)).json()
    assert [s["label"] for s in listed["items"]] == ["Morning", "Late morning"]
    assert listed["total"] == 2

    changed = await client.patch(
        f"/api/v1/admin/time-slots/{slot['id']}",
        json={"capacity_per_day": 6, "end_time": "09:30"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["capacity_per_day"], changed.json()["end_time"]) == (6, "09:30:00")

    deactivated = await client.patch(
        f"/api/v1/admin/time-slots/{slot['id']}", json={"active": False}, headers=admin
    )
    assert deactivated.json()["active"] is False
    only_active = (
        await client.get("/api/v1/admin/time-slots", params={"active": True}, headers=admin)
    ).json()
    assert [s["label"] for s in only_active["items"]] == ["Late morning"]

    deleted = await client.delete(f"/api/v1/admin/time-slots/{slot['id']}", headers=admin)
    assert deleted.status_code == 204
    assert (await client.get("/api/v1/admin/time-slots", headers=admin)).json()["total"] == 1


async def test_time_slot_must_end_after_it_starts(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    backwards = {**SLOT, "start_time": "10:00", "end_time": "08:00"}
    problem(await client.post("/api/v1/admin/time-slots", json=backwards, headers=admin), 422, "end_time")
    problem(
        await client.post(
            "/api/v1/admin/time-slots", json={**SLOT, "capacity_per_day": 0, "label": ""}, headers=admin
        ),
        422,
        "capacity_per_day",
        "label",
    )
    problem(
        await client.post("/api/v1/admin/time-slots", json={**SLOT, "start_time": "8am"}, headers=admin), 422
    )

    slot = (await client.post("/api/v1/admin/time-slots", json=SLOT, headers=admin)).json()
    body = problem(
        await client.patch(
            f"/api/v1/admin/time-slots/{slot['id']}", json={"end_time": "07:00"}, headers=admin
        ),
        422,
        "end_time",
    )
    assert body["type"] == "/problems/validation"
    problem(
        await client.patch(f"/api/v1/admin/time-slots/{slot['id']}", json={"label": None}, headers=admin),
        422,
        "label",
    )


async def test_time_slots_may_not_overlap_an_active_slot(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    morning = (await client.post("/api/v1/admin/time-slots", json=SLOT, headers=admin)).json()
    overlapping = {**SLOT, "label": "Overlap", "start_time": "09:00", "end_time": "11:00"}
    body = problem(await client.post("/api/v1/admin/time-slots", json=overlapping, headers=admin), 409)
    assert body["type"] == "/problems/conflict"
    assert body["conflicting_slot_id"] == morning["id"]
    assert "overlaps" in body["detail"]

    # The same window again is a conflict even while the first slot is inactive: reactivate it instead.
    await client.patch(f"/api/v1/admin/time-slots/{morning['id']}", json={"active": False}, headers=admin)
    same = problem(await client.post("/api/v1/admin/time-slots", json=SLOT, headers=admin), 409)
    assert "reactivate" in same["detail"]

    # An inactive slot does not block an overlapping one; reactivating it then overlaps.
    later = (await client.post("/api/v1/admin/time-slots", json=overlapping, headers=admin)).json()
    problem(
        await client.patch(f"/api/v1/admin/time-slots/{morning['id']}", json={"active": True}, headers=admin),
        409,
    )
    moved = await client.patch(
        f"/api/v1/admin/time-slots/{later['id']}",
        json={"start_time": "07:00", "end_time": "08:30"},
        headers=admin,
    )
    assert moved.status_code == 200
    problem(
        await client.patch(f"/api/v1/admin/time-slots/{morning['id']}", json={"active": True}, headers=admin),
        409,
    )


async def test_time_slot_with_bookings_cannot_be_deleted_and_capacity_follows(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: Sessionmaker
) -> None:
    slot = (
        await client.post("/api/v1/admin/time-slots", json={**SLOT, "capacity_per_day": 3}, headers=admin)
    ).json()
    day = date.today() + timedelta(days=2)
    async with sessionmaker() as session:
        for n in range(2):
            await book_slot(session, request_id=f"RC-D{n}", slot_id=slot["id"], day=day)
        await session.commit()

    body = problem(await client.delete(f"/api/v1/admin/time-slots/{slot['id']}", headers=admin), 409)
    assert "deactivate it instead" in body["detail"]
    assert body["bookings"] == 2

    # Shrinking capacity never takes seats already given out; growing it reaches booked days too.
    await client.patch(f"/api/v1/admin/time-slots/{slot['id']}", json={"capacity_per_day": 1}, headers=admin)
    async with sessionmaker() as session:
        assert (await session.get(SlotDay, (slot["id"], day))).capacity == 2  # type: ignore[union-attr]
    await client.patch(f"/api/v1/admin/time-slots/{slot['id']}", json={"capacity_per_day": 5}, headers=admin)
    async with sessionmaker() as session:
        assert (await session.get(SlotDay, (slot["id"], day))).capacity == 5  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("method", "body"), [("PATCH", {"capacity_per_day": 2}), ("DELETE", None)], ids=["patch", "delete"]
)
async def test_unknown_time_slot_is_404(
    client: httpx.AsyncClient, admin: dict[str, str], method: str, body: Any
) -> None:
    found = problem(
        await client.request(method, "/api/v1/admin/time-slots/4242", json=body, headers=admin), 404
    )
    assert found["type"] == "/problems/not-found"
    assert "4242" in found["detail"]


# ---- plans --------------------------------------------------------------------------------------


async def test_plans_are_created_listed_and_changed(
    client: httpx.AsyncClient, admin: dict[str, str], utilities: None
) -> None:
    created = await client.post("/api/v1/admin/plans", json=PLAN, headers=admin)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan == {**PLAN, "id": plan["id"], "active": True}

    office = {
        **PLAN,
        "name": "Office Basic",
        "short_name": "COM-OFC-B",
        "sub_category": "Office",
        "active": False,
    }
    assert (await client.post("/api/v1/admin/plans", json=office, headers=admin)).status_code == 201
    listed = (await client.get("/api/v1/admin/plans", headers=admin)).json()
    assert [p["short_name"] for p in listed["items"]] == ["COM-OFC-B", "COM-RTL-G"]  # inactive ones too
    filtered = await client.get(
        "/api/v1/admin/plans", params={"active": True, "search": "gold"}, headers=admin
    )
    assert [p["short_name"] for p in filtered.json()["items"]] == ["COM-RTL-G"]

    changed = await client.patch(
        f"/api/v1/admin/plans/{plan['id']}",
        json={
            "monthly_fee": 95,
            "category": "Residential",
            "sub_category": "Senior Citizen",
            "services": [{"utility": "water", "metered": True}],
        },
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["monthly_fee"], body["category"], body["sub_category"]) == (
        "95.00",
        "Residential",
        "Senior Citizen",
    )
    assert body["services"] == [{"utility": "water", "metered": True}]
    assert body["name"] == "Retail Gold"  # untouched

    # Services are edited in place: swapping back adds electricity and keeps water's row.
    again = await client.patch(
        f"/api/v1/admin/plans/{plan['id']}",
        json={"services": [{"utility": "electricity"}, {"utility": "water", "metered": False}]},
        headers=admin,
    )
    services = sorted(again.json()["services"], key=lambda s: s["utility"])
    assert services == [{"utility": "electricity", "metered": True}, {"utility": "water", "metered": False}]


async def test_plan_short_names_are_unique(
    client: httpx.AsyncClient, admin: dict[str, str], utilities: None
) -> None:
    first = (await client.post("/api/v1/admin/plans", json=PLAN, headers=admin)).json()
    body = problem(
        await client.post("/api/v1/admin/plans", json={**PLAN, "short_name": "com-rtl-g"}, headers=admin), 409
    )
    assert body["type"] == "/problems/conflict"
    assert body["conflicting_plan_id"] == first["id"]

    second = (
        await client.post("/api/v1/admin/plans", json={**PLAN, "short_name": "COM-RTL-S"}, headers=admin)
    ).json()
    problem(
        await client.patch(
            f"/api/v1/admin/plans/{second['id']}", json={"short_name": "COM-RTL-G"}, headers=admin
        ),
        409,
    )
    # Keeping one's own short name is no conflict.
    kept = await client.patch(
        f"/api/v1/admin/plans/{first['id']}", json={"short_name": "COM-RTL-G"}, headers=admin
    )
    assert kept.status_code == 200


async def test_plan_fields_are_validated(
    client: httpx.AsyncClient, admin: dict[str, str], utilities: None
) -> None:
    body = problem(
        await client.post("/api/v1/admin/plans", json={**PLAN, "sub_category": "Heavy"}, headers=admin),
        422,
        "sub_category",
    )
    assert "Small Business, Retail, Office" in body["detail"]
    problem(
        await client.post(
            "/api/v1/admin/plans",
            json={**PLAN, "monthly_fee": -1, "category": "Farm", "rates": {"per_kwh": -0.1}},
            headers=admin,
        ),
        422,
        "monthly_fee",
        "category",
        "rates.per_kwh",
    )
    # A fraction of a cent is refused, never rounded away.
    problem(
        await client.post("/api/v1/admin/plans", json={**PLAN, "monthly_fee": "9.999"}, headers=admin),
        422,
        "monthly_fee",
    )
    duplicated = [{"utility": "water"}, {"utility": "water", "metered": False}]
    problem(
        await client.post("/api/v1/admin/plans", json={**PLAN, "services": duplicated}, headers=admin),
        422,
        "services",
    )
    problem(
        await client.post("/api/v1/admin/plans", json={**PLAN, "services": []}, headers=admin),
        422,
        "services",
    )
    problem(
        await client.post("/api/v1/admin/plans", json={**PLAN, "short_name": "has space"}, headers=admin),
        422,
        "short_name",
    )

    plan = (await client.post("/api/v1/admin/plans", json=PLAN, headers=admin)).json()
    # Moving the plan to another category without a matching sub-category is refused.
    problem(
        await client.patch(
            f"/api/v1/admin/plans/{plan['id']}", json={"category": "Industrial"}, headers=admin
        ),
        422,
        "sub_category",
    )
    problem(
        await client.patch(f"/api/v1/admin/plans/{plan['id']}", json={"name": None}, headers=admin),
        422,
        "name",
    )


async def test_plan_needs_configured_utilities_and_unknown_plan_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # No utility services configured in this database.
    problem(await client.post("/api/v1/admin/plans", json=PLAN, headers=admin), 422, "services")
    body = problem(await client.patch("/api/v1/admin/plans/4242", json={"active": False}, headers=admin), 404)
    assert body["type"] == "/problems/not-found"


# ---- users --------------------------------------------------------------------------------------


async def test_users_are_created_without_exposing_the_password_and_can_sign_in(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: Sessionmaker
) -> None:
    created = await client.post("/api/v1/admin/users", json=NEW_USER, headers=admin)
    assert created.status_code == 201, created.text
    user = created.json()
    assert "password" not in user and "password_hash" not in user
    assert {k: user[k] for k in ("username", "full_name", "email", "role", "is_active")} == {
        "username": "jdoe", "full_name": "Jane Doe", "email": "jdoe@utility.example", "role": "csr", "is_active": True,
    }  # fmt: skip
    assert user["created_at"]

    token = await client.post(
        "/api/v1/auth/token", data={"username": "jdoe", "password": NEW_USER["password"]}
    )
    assert token.status_code == 200, token.text

    listed = (await client.get("/api/v1/admin/users", params={"search": "DOE"}, headers=admin)).json()
    assert [u["username"] for u in listed["items"]] == ["jdoe"]
    csrs = (await client.get("/api/v1/admin/users", params={"role": "csr"}, headers=admin)).json()
    assert {u["username"] for u in csrs["items"]} == {"csr", "jdoe"}
    assert (await client.get("/api/v1/admin/users", headers=admin)).json()["total"] == 4


async def test_user_changes_role_password_and_active_state(
    client: httpx.AsyncClient, admin: dict[str, str], staff: dict[str, Any], sessionmaker: Sessionmaker
) -> None:
    csr_id = staff["csr"].id
    changed = await client.patch(
        f"/api/v1/admin/users/{csr_id}",
        json={"role": "supervisor", "password": "a-brand-new-secret", "email": "lead@utility.example"},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["email"]) == ("supervisor", "lead@utility.example")
    async with sessionmaker() as session:
        row = await session.get(User, csr_id)
        assert row is not None and verify_password("a-brand-new-secret", row.password_hash)

    deactivated = await client.patch(
        f"/api/v1/admin/users/{csr_id}", json={"is_active": False}, headers=admin
    )
    assert deactivated.json()["is_active"] is False
    # A deactivated account is signed out at once.
    problem(await client.get("/api/v1/auth/me", headers=auth(staff["csr"])), 401)


async def test_usernames_are_unique_regardless_of_case(
    client: httpx.AsyncClient, admin: dict[str, str], staff: dict[str, Any]
) -> None:
    body = problem(
        await client.post("/api/v1/admin/users", json={**NEW_USER, "username": "CSR"}, headers=admin), 409
    )
    assert body["type"] == "/problems/conflict"
    assert body["conflicting_user_id"] == staff["csr"].id
    problem(
        await client.patch(
            f"/api/v1/admin/users/{staff['supervisor'].id}", json={"username": "csr"}, headers=admin
        ),
        409,
    )


async def test_user_fields_are_validated(
    client: httpx.AsyncClient, admin: dict[str, str], staff: dict[str, Any]
) -> None:
    body = problem(
        await client.post(
            "/api/v1/admin/users",
            json={**NEW_USER, "password": "short", "email": "not-an-email", "role": "root"},
            headers=admin,
        ),
        422,
        "password",
        "email",
        "role",
    )
    assert "short" not in str(body["errors"])  # the password itself is never echoed
    problem(
        await client.post("/api/v1/admin/users", json={**NEW_USER, "username": "a b"}, headers=admin),
        422,
        "username",
    )
    problem(
        await client.patch(
            f"/api/v1/admin/users/{staff['csr'].id}", json={"password": "1234567"}, headers=admin
        ),
        422,
        "password",
    )


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("ten-chars!", "Use at least 12 characters (this one has 10)."),
        ("password1234", "It is one of the passwords most often used and leaked; choose another."),
        ("Qwertyuiop123", "It is one of the passwords most often used and leaked; choose another."),
    ],
    ids=["too-short", "breached", "breached-any-case"],
)
async def test_the_password_policy_refuses_weak_passwords_with_field_errors(
    client: httpx.AsyncClient, admin: dict[str, str], staff: dict[str, Any], password: str, reason: str
) -> None:
    for response in (
        await client.post("/api/v1/admin/users", json={**NEW_USER, "password": password}, headers=admin),
        await client.patch(
            f"/api/v1/admin/users/{staff['csr'].id}", json={"password": password}, headers=admin
        ),
    ):
        body = problem(response, 422, "password")
        assert reason in [error["message"] for error in body["errors"]], body
        assert password not in response.text  # never echoed
    listed = (await client.get("/api/v1/admin/users", params={"search": "jdoe"}, headers=admin)).json()
    assert listed["total"] == 0  # nothing written


async def test_a_password_equal_to_the_username_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], staff: dict[str, Any]
) -> None:
    account = {**NEW_USER, "username": "field.engineer", "password": "Field.Engineer"}
    body = problem(await client.post("/api/v1/admin/users", json=account, headers=admin), 422, "password")
    assert body["errors"][0]["message"] == "It must not be the same as the username."


async def test_the_minimum_length_follows_the_setting(
    api_client_for: ApiFactory, db_url: str, admin: dict[str, str]
) -> None:
    async with api_client_for(database_url=db_url, password_min_length=24) as client:
        body = problem(
            await client.post("/api/v1/admin/users", json=NEW_USER, headers=admin), 422, "password"
        )
    assert "Use at least 24 characters" in body["detail"]


async def test_an_admin_cannot_deactivate_or_demote_themselves(
    client: httpx.AsyncClient, admin: dict[str, str], staff: dict[str, Any]
) -> None:
    me = staff["admin"].id
    deactivate = problem(
        await client.patch(f"/api/v1/admin/users/{me}", json={"is_active": False}, headers=admin), 409
    )
    assert "deactivate your own account" in deactivate["detail"]
    demote = problem(
        await client.patch(f"/api/v1/admin/users/{me}", json={"role": "csr"}, headers=admin), 409
    )
    assert "own admin role" in demote["detail"]
    # Other changes to one's own account are fine.
    renamed = await client.patch(f"/api/v1/admin/users/{me}", json={"full_name": "Ada Admin"}, headers=admin)
    assert renamed.json()["full_name"] == "Ada Admin"
    still_admin = (await client.get("/api/v1/auth/me", headers=admin)).json()
    assert still_admin["role"] == "admin"


async def test_unknown_user_is_404(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    body = problem(
        await client.patch("/api/v1/admin/users/4242", json={"full_name": "X"}, headers=admin), 404
    )
    assert body["type"] == "/problems/not-found"
