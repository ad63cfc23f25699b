"""The Administration pages over HTTP (a real app and database): SLA targets, time slots, plans and
accounts, each saved through the admin service, each refusal shown on its form with nothing written."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.admin import service
from db.models import Plan, TimeSlot, User
from domain.users import Role
from tests.ui.conftest import signed_in

Maker = async_sessionmaker[AsyncSession]
SLA = {
    "ack_minutes": "90", "response_minutes": "180", "resolution_minutes": "2880",
    "at_risk_fraction": "0.6", "re_escalate_minutes": "120", "pause_resolution_on_hold": "on",
}  # fmt: skip


def _flash(response: httpx.Response) -> str:
    return unquote(response.cookies.get("connectdesk_flash", ""))


async def _post(client: httpx.AsyncClient, user: User, path: str, data: dict[str, str]) -> httpx.Response:
    return await client.post(path, data=data, headers=signed_in(user))


@pytest.mark.parametrize("role", ["csr", "supervisor"])
async def test_only_admins_reach_the_pages_or_their_forms(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker, role: str
) -> None:
    page = await client.get("/admin", headers=signed_in(users[role]))
    assert page.status_code == 403 and f"needs the admin role; you are {role}" in page.text
    refused = await _post(client, users[role], "/admin/sla", SLA)
    assert refused.status_code == 403
    async with sessionmaker() as session:
        assert (await service.read_sla(session=session)).updated_by is None  # nothing written

    anonymous = await client.get("/admin?tab=users")
    assert (
        anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=%2Fadmin%3Ftab%3Dusers"
    )


async def test_sla_targets_are_saved_and_a_shrinking_target_is_refused(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    admin = users["admin"]
    saved = await _post(client, admin, "/admin/sla", SLA)
    assert saved.status_code == 303 and saved.headers["location"] == "/admin?tab=sla"
    assert "SLA targets saved" in _flash(saved)
    async with sessionmaker() as session:
        sla = await service.read_sla(session=session)
    assert (sla.ack_minutes, sla.response_minutes, sla.resolution_minutes) == (90, 180, 2880)
    assert sla.at_risk_fraction == 0.6 and sla.pause_resolution_on_hold and sla.updated_by == "admin"

    page = await client.get("/admin", headers=signed_in(admin))
    assert 'value="2880"' in page.text and "Last changed by admin" in page.text

    unticked = {k: v for k, v in SLA.items() if k != "pause_resolution_on_hold"}
    refused = await _post(client, admin, "/admin/sla", unticked | {"response_minutes": "60"})
    assert refused.status_code == 422
    assert "Response minutes must be at least ack_minutes (90)." in refused.text
    assert 'value="60"' in refused.text  # what was typed is kept
    async with sessionmaker() as session:
        assert (await service.read_sla(session=session)).response_minutes == 180  # nothing written


async def test_time_slots_added_changed_refused_and_deleted(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    admin = users["admin"]
    morning = {"label": "Morning", "start_time": "08:00", "end_time": "10:00", "capacity_per_day": "4"}
    added = await _post(client, admin, "/admin/time-slots", morning)
    assert added.status_code == 303 and "Time slot Morning added." in _flash(added)

    overlap = await _post(
        client, admin, "/admin/time-slots", morning | {"label": "Clash", "start_time": "09:00"}
    )
    assert overlap.status_code == 409 and "overlaps" in overlap.text.lower()
    assert 'value="Clash"' in overlap.text
    backwards = await _post(
        client, admin, "/admin/time-slots", morning | {"label": "Back", "end_time": "07:00"}
    )
    assert backwards.status_code == 422 and "End time must be after start_time." in backwards.text

    async with sessionmaker() as session:
        slot = await session.scalar(select(TimeSlot).where(TimeSlot.label == "Morning"))
        assert (
            slot is not None
            and await session.scalar(select(TimeSlot).where(TimeSlot.label != "Morning")) is None
        )
    # the row form without its "offered" box ticked: six seats, no longer offered
    changed = await _post(client, admin, f"/admin/time-slots/{slot.id}", morning | {"capacity_per_day": "6"})
    assert changed.status_code == 303, changed.text
    async with sessionmaker() as session:
        stored = await session.get(TimeSlot, slot.id)
        assert stored is not None and (stored.capacity_per_day, stored.active) == (6, False)

    deleted = await _post(client, admin, f"/admin/time-slots/{slot.id}/delete", {})
    assert deleted.status_code == 303 and "deleted" in _flash(deleted)
    async with sessionmaker() as session:
        assert await session.get(TimeSlot, slot.id) is None
    assert (await _post(client, admin, f"/admin/time-slots/{slot.id}/delete", {})).status_code == 404


async def test_plans_added_with_their_services_and_withdrawn(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    admin = users["admin"]
    plan = {
        "name": "Green Home", "short_name": "GRN-HOME", "category": "Residential", "sub_category": "Standard",
        "monthly_fee": "31.50", "service-electricity": "on", "service-water": "on", "unmetered-water": "on",
        "features": "Solar buy-back\n\n  Paperless billing ",
    }  # fmt: skip
    added = await _post(client, admin, "/admin/plans", plan)
    assert added.status_code == 303 and "Plan GRN-HOME added." in _flash(added)
    async with sessionmaker() as session:
        row = await session.scalar(select(Plan).where(Plan.short_name == "GRN-HOME"))
        assert row is not None
        await session.refresh(row, ["services"])
        assert row.features == ["Solar buy-back", "Paperless billing"]
        assert sorted((s.utility.value, s.metered) for s in row.services) == [
            ("electricity", True), ("water", False),
        ]  # fmt: skip

    wrong = await _post(client, admin, "/admin/plans", plan | {"short_name": "X-1", "category": "Commercial"})
    assert wrong.status_code == 422 and "is not a Commercial sub-category" in wrong.text
    no_service = {k: v for k, v in plan.items() if not k.startswith("service-")} | {"short_name": "X-2"}
    none = await _post(client, admin, "/admin/plans", no_service)
    assert none.status_code == 422 and "Services is required." in none.text
    taken = await _post(client, admin, "/admin/plans", plan)
    assert taken.status_code == 409 and "GRN-HOME" in taken.text

    withdrawn = await _post(
        client, admin, f"/admin/plans/{row.id}", {"name": "Green Home", "monthly_fee": "29.00"}
    )
    assert withdrawn.status_code == 303 and "no longer offered" in _flash(withdrawn)
    async with sessionmaker() as session:
        stored = await session.get(Plan, row.id)
        assert stored is not None and not stored.active and str(stored.monthly_fee) == "29.00"
        assert await session.scalar(select(Plan).where(Plan.short_name.in_(["X-1", "X-2"]))) is None


async def test_accounts_added_changed_and_an_admin_cannot_lock_themselves_out(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    admin = users["admin"]
    account = {"username": "jdoe", "full_name": "Jane Doe", "email": "jdoe@utility.example", "role": "csr",
               "password": "correct-horse-9"}  # fmt: skip
    added = await _post(client, admin, "/admin/users", account)
    assert added.status_code == 303 and "Account jdoe added." in _flash(added)
    signed = await client.post("/login", data={"username": "jdoe", "password": "correct-horse-9"})
    assert signed.status_code == 303  # the new account signs in
    client.cookies.clear()

    short = await _post(client, admin, "/admin/users", account | {"username": "kdoe", "password": "short"})
    assert short.status_code == 422 and "Password must be at least 8 characters." in short.text
    assert "short" not in re.findall(r'value="([^"]*)"', short.text)  # a password is never echoed
    taken = await _post(client, admin, "/admin/users", account | {"username": "JDOE"})
    assert taken.status_code == 409 and "already taken" in taken.text

    async with sessionmaker() as session:
        jdoe = await session.scalar(select(User).where(User.username == "jdoe"))
    assert jdoe is not None
    row = {"full_name": "Jane Doe", "email": "jdoe@utility.example", "role": "supervisor"}  # active unticked
    changed = await _post(client, admin, f"/admin/users/{jdoe.id}", row)
    assert changed.status_code == 303 and "cannot sign in" in _flash(changed)
    async with sessionmaker() as session:
        stored = await session.get(User, jdoe.id)
        assert stored is not None and (stored.role, stored.is_active) == (Role.SUPERVISOR, False)
    refused = await client.post("/login", data={"username": "jdoe", "password": "correct-horse-9"})
    assert refused.status_code == 401

    own = {"full_name": "Admin User", "email": "admin@x.example", "role": "csr", "is_active": "on"}
    demoted = await _post(client, admin, f"/admin/users/{admin.id}", own)
    assert demoted.status_code == 409 and "cannot remove your own admin role" in demoted.text
    async with sessionmaker() as session:
        me: Any = await session.get(User, admin.id)
        assert me.role is Role.ADMIN and me.is_active


@pytest.mark.parametrize(
    ("username", "password", "sentence"),
    [
        ("jdoe", "ten-chars!", "Use at least 12 characters (this one has 10)."),
        ("jdoe", "Password1234", "It is one of the passwords most often used and leaked; choose another."),
        ("field.engineer", "Field.Engineer", "It must not be the same as the username."),
    ],
)
async def test_the_password_policy_is_shown_on_the_form_and_nothing_is_written(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker, username: str, password: str,
    sentence: str,
) -> None:  # fmt: skip
    admin = users["admin"]
    account = {"username": username, "full_name": "Jane Doe", "email": "jd@utility.example", "role": "csr"}
    refused = await _post(client, admin, "/admin/users", account | {"password": password})
    assert refused.status_code == 422
    assert sentence in refused.text
    assert password not in refused.text  # never echoed
    async with sessionmaker() as session:
        assert await session.scalar(select(User).where(User.username == username)) is None

    if username == "jdoe":  # the same refusal when an admin changes someone's password
        row = {
            "full_name": "C",
            "email": "c@x.example",
            "role": "csr",
            "is_active": "on",
            "password": password,
        }
        changed = await _post(client, admin, f"/admin/users/{users['csr'].id}", row)
        assert changed.status_code == 422 and sentence in changed.text
