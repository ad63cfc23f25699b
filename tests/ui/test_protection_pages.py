"""The Protections tab and the admin's Disconnection rules tab over HTTP (a real app and database):
each form writes through the disconnection service, a refusal is shown on its form, nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import ConsumerProtection, User, WeatherEmergencyDeclaration
from domain.disconnection.profile import CALIFORNIA_WATER, NEW_YORK, PENNSYLVANIA
from tests import factories
from tests.ui.conftest import signed_in

Maker = async_sessionmaker[AsyncSession]


def _flash(response: httpx.Response) -> str:
    return unquote(response.cookies.get("connectdesk_flash", ""))


async def _consumer(sessionmaker: Maker) -> Any:
    async with sessionmaker() as session:
        row = await factories.consumer(session, service_address="9 Birch Rd, Erie, PA 16501")
        await session.commit()
        return row


async def test_a_protection_recorded_on_the_tab_shows_in_the_header_until_ended(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    consumer, csr = await _consumer(sessionmaker), users["csr"]
    last_day = (datetime.now(UTC) + timedelta(days=10)).date()

    recorded = await client.post(
        f"/consumers/{consumer.id}/protections",
        data={"kind": "payment_arrangement", "ends_on": last_day.isoformat(), "evidence_document_id": "",
              "note": "Pays $40 a week"},
        headers=signed_in(csr),
    )  # fmt: skip

    assert recorded.status_code == 303 and "Protection recorded." in _flash(recorded)
    async with sessionmaker() as session:
        row = await session.scalar(
            select(ConsumerProtection).where(ConsumerProtection.consumer_id == consumer.id)
        )
    assert row is not None and row.recorded_by == "csr" and row.note == "Pays $40 a week"
    local_end = row.ends_at.astimezone(PENNSYLVANIA.zone)
    assert (local_end.date(), local_end.hour) == (last_day + timedelta(days=1), 0)  # the whole last day
    page = await client.get(f"/consumers/{consumer.id}?tab=protections", headers=signed_in(csr))
    assert 'id="protected-badge"' in page.text and "Protected: Payment arrangement" in page.text

    no_reason = await client.post(
        f"/consumers/{consumer.id}/protections/{row.id}/end", data={"reason": ""}, headers=signed_in(csr)
    )
    assert no_reason.status_code == 422 and 'id="protection-action-error"' in no_reason.text
    ended = await client.post(
        f"/consumers/{consumer.id}/protections/{row.id}/end",
        data={"reason": "Paid in full"},
        headers=signed_in(csr),
    )
    assert ended.status_code == 303 and "Protection ended." in _flash(ended)
    page = await client.get(f"/consumers/{consumer.id}?tab=overview", headers=signed_in(csr))
    assert 'id="protected-badge"' not in page.text


async def test_a_bad_date_or_a_foreign_document_is_refused_on_the_form(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    consumer = await _consumer(sessionmaker)

    bad_date = await client.post(
        f"/consumers/{consumer.id}/protections",
        data={
            "kind": "medical_certificate",
            "ends_on": "31/12/2026",
            "evidence_document_id": "",
            "note": "x",
        },
        headers=signed_in(users["csr"]),
    )
    vanished = await client.post(
        f"/consumers/{consumer.id}/protections",
        data={"kind": "medical_certificate", "ends_on": "", "evidence_document_id": "999999", "note": "y"},
        headers=signed_in(users["csr"]),
    )

    assert bad_date.status_code == 422 and "is not a date" in bad_date.text
    assert vanished.status_code == 422 and "is not a document of this consumer" in vanished.text
    assert 'value="y"' in vanished.text  # what was typed is kept
    async with sessionmaker() as session:
        assert await session.scalar(select(ConsumerProtection.id)) is None  # nothing written


async def test_admins_choose_the_profile_and_declare_and_end_emergencies(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    admin = users["admin"]
    page = await client.get("/admin?tab=disconnection", headers=signed_in(admin))
    assert PENNSYLVANIA.name in page.text and "(the default; no admin has chosen one)" in page.text
    assert (await client.get("/admin?tab=disconnection", headers=signed_in(users["csr"]))).status_code == 403

    adopted = await client.post(
        "/admin/disconnection-profile/adopt-preset", data={"key": NEW_YORK.key}, headers=signed_in(admin)
    )
    assert adopted.status_code == 303 and NEW_YORK.name in _flash(adopted)
    page = await client.get("/admin?tab=disconnection", headers=signed_in(admin))
    assert NEW_YORK.name in page.text and "chosen by admin" in page.text
    assert "final notice no sooner than 20 days after the due date" in page.text
    assert "<dt>Reconnection fee</dt><dd>none</dd>" in page.text
    california = await client.post(
        "/admin/disconnection-profile/adopt-preset",
        data={"key": CALIFORNIA_WATER.key},
        headers=signed_in(admin),
    )
    assert california.status_code == 303
    page = await client.get("/admin?tab=disconnection", headers=signed_in(admin))
    assert "$50.00 in business hours (08:00–17:00), $150.00 after hours; at most $150.00" in page.text

    last_day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    declared = await client.post(
        "/admin/weather-emergencies",
        data={"hazard": "cold", "ends_on": last_day, "service_area": "Erie", "note": "Polar vortex"},
        headers=signed_in(admin),
    )
    assert declared.status_code == 303 and "Cold emergency declared in Erie" in _flash(declared)
    async with sessionmaker() as session:
        emergency = await session.scalar(select(WeatherEmergencyDeclaration))
    assert emergency is not None and emergency.declared_by == "admin"
    missing_day = await client.post(
        "/admin/weather-emergencies",
        data={"hazard": "heat", "ends_on": "", "note": ""},
        headers=signed_in(admin),
    )
    assert missing_day.status_code == 422 and 'id="emergency-error"' in missing_day.text

    ended = await client.post(f"/admin/weather-emergencies/{emergency.id}/end", headers=signed_in(admin))
    again = await client.post(f"/admin/weather-emergencies/{emergency.id}/end", headers=signed_in(admin))
    assert ended.status_code == 303 and "ended" in _flash(ended)
    assert again.status_code == 409 and "already ended" in again.text


async def test_a_complaint_is_opened_resolved_and_reopened_on_its_tab(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    from db.models import Complaint

    consumer, csr = await _consumer(sessionmaker), users["csr"]
    opened = await client.post(
        f"/consumers/{consumer.id}/complaints",
        data={"category": "Billing", "request_id": "", "description": "Estimated bill far too high"},
        headers=signed_in(csr),
    )
    assert opened.status_code == 303 and "Complaint opened." in _flash(opened)
    async with sessionmaker() as session:
        complaint = await session.scalar(select(Complaint).where(Complaint.consumer_id == consumer.id))
    assert complaint is not None and complaint.status.value == "Open"
    page = await client.get(f"/consumers/{consumer.id}?tab=complaints", headers=signed_in(csr))
    assert "Estimated bill far too high" in page.text and "Resolve" in page.text

    blank = await client.post(
        f"/consumers/{consumer.id}/complaints/{complaint.id}",
        data={"status": "Resolved", "resolution_notes": ""},
        headers=signed_in(csr),
    )
    assert blank.status_code == 422 and 'id="complaint-action-error"' in blank.text
    resolved = await client.post(
        f"/consumers/{consumer.id}/complaints/{complaint.id}",
        data={"status": "Resolved", "resolution_notes": "Actual reading taken; rebilled"},
        headers=signed_in(csr),
    )
    assert resolved.status_code == 303
    page = await client.get(f"/consumers/{consumer.id}?tab=complaints", headers=signed_in(csr))
    assert "Resolution: Actual reading taken; rebilled" in page.text and "Reopen" in page.text
