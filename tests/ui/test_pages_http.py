"""UI pages over plain HTTP (no browser, no Temporal): sign-in, redirects, refusal pages, assets."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from api.auth.service import SESSION_COOKIE
from db import search
from db.models import Consumer, Document, MeterAssignment, MeterReading, User
from domain.consumers.types import DocumentStatus, MeterStatus, UtilityType, VerificationStatus
from domain.request.types import Priority, RequestStatus
from tests import factories
from tests.ui.conftest import signed_in


async def test_pages_redirect_to_sign_in_and_back(client: httpx.AsyncClient) -> None:
    page = await client.get("/requests?status=open")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Frequests%3Fstatus%3Dopen"

    fragment = await client.get("/partials/request-counters", headers={"HX-Request": "true"})
    assert fragment.headers["HX-Redirect"].startswith("/login?next=")

    signed = await client.post(
        "/login", data={"username": "csr", "password": "pass-word", "next": "/requests?status=open"}
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/requests?status=open"
    assert SESSION_COOKIE in signed.cookies


async def test_sign_in_never_redirects_off_site(client: httpx.AsyncClient) -> None:
    signed = await client.post(
        "/login", data={"username": "csr", "password": "pass-word", "next": "//evil.example/"}
    )
    assert signed.headers["location"] == "/"


async def test_wrong_password_is_shown_on_the_form(client: httpx.AsyncClient) -> None:
    page = await client.post("/login", data={"username": "csr", "password": "nope"})
    assert page.status_code == 401
    assert "Incorrect username or password." in page.text
    assert 'value="csr"' in page.text


async def test_refusals_are_pages_in_plain_words(client: httpx.AsyncClient, users: dict[str, User]) -> None:
    missing = await client.get("/requests/RC-2026-999999", headers=signed_in(users["csr"]))
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "No request RC-2026-999999." in missing.text

    forbidden = await client.get("/escalations", headers=signed_in(users["csr"]))
    assert forbidden.status_code == 403
    assert "needs the supervisor or admin role; you are csr" in forbidden.text

    allowed = await client.get("/escalations", headers=signed_in(users["supervisor"]))
    assert allowed.status_code == 200 and "Escalation queue" in allowed.text


async def test_navigation_fits_the_role(client: httpx.AsyncClient, users: dict[str, User]) -> None:
    csr = (await client.get("/", headers=signed_in(users["csr"]))).text
    supervisor = (await client.get("/", headers=signed_in(users["supervisor"]))).text
    admin = (await client.get("/", headers=signed_in(users["admin"]))).text
    assert 'href="/escalations"' not in csr and 'href="/docs"' not in csr and 'href="/admin"' not in csr
    assert 'href="/escalations"' in supervisor and 'href="/docs"' not in supervisor
    assert 'href="/admin"' not in supervisor
    assert 'href="/escalations"' in admin and 'href="/docs"' in admin and 'href="/admin"' in admin


async def test_htmx_gets_fragments_and_history_restores_get_pages(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    headers = {**signed_in(users["csr"]), "HX-Request": "true"}
    fragment = await client.get("/consumers?q=lovelace", headers=headers)
    assert "Ada Lovelace" in fragment.text and "<html" not in fragment.text
    restore = await client.get(
        "/consumers?q=lovelace", headers={**headers, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.text


async def test_assets_are_vendored_and_ui_routes_stay_out_of_the_api_schema(
    client: httpx.AsyncClient,
) -> None:
    for asset in ("/static/htmx.min.js", "/static/app.css", "/static/app.js"):
        response = await client.get(asset)
        assert response.status_code == 200, asset
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert all(path.startswith(("/api/", "/healthz", "/readyz", "/livez")) for path in paths), list(paths)


async def test_supervisors_approve_documents_from_the_documents_tab(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        consumer = await session.scalar(select(Consumer).where(Consumer.last_name == "Lovelace"))
        assert consumer is not None
        document = Document(
            consumer_id=consumer.id, title="Service agreement", filename="a.pdf", stored_name="0" * 32 + ".pdf",
            content_type="application/pdf", size_bytes=10, verification_status=DocumentStatus.PROCESSING,
            uploaded_by="csr", uploaded_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(document)
        await session.commit()
    tab = f"/consumers/{consumer.id}?tab=documents"
    review = f"/consumers/{consumer.id}/documents/{document.id}/review"

    assert "Verify" not in (await client.get(tab, headers=signed_in(users["csr"]))).text
    refused = await client.post(review, data={"status": "Verified"}, headers=signed_in(users["csr"]))
    assert refused.status_code == 403 and "needs the supervisor or admin role" in refused.text

    page = (await client.get(tab, headers=signed_in(users["supervisor"]))).text
    assert f'action="{review}"' in page and 'value="Verified"' in page
    verified = await client.post(review, data={"status": "Verified"}, headers=signed_in(users["supervisor"]))
    assert verified.status_code == 303 and verified.headers["location"] == tab
    assert 'value="Published"' in (await client.get(tab, headers=signed_in(users["supervisor"]))).text
    again = await client.post(review, data={"status": "Verified"}, headers=signed_in(users["supervisor"]))
    assert again.status_code == 303  # Verified again: nothing to do, nothing refused
    bad = await client.post(review, data={"status": "Processing"}, headers=signed_in(users["supervisor"]))
    assert bad.status_code == 422 and 'id="review-error"' in bad.text
    async with sessionmaker() as session:
        stored = await session.get(Document, document.id)
        assert stored is not None and stored.verification_status is DocumentStatus.VERIFIED


async def test_a_pending_reading_is_verified_from_the_connections_tab(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        consumer = await session.scalar(select(Consumer).where(Consumer.last_name == "Lovelace"))
        assert consumer is not None
        meter = await factories.meter(session, UtilityType.WATER, status=MeterStatus.ASSIGNED)
        session.add(MeterAssignment(meter_id=meter.id, consumer_id=consumer.id, assigned_on=date(2026, 1, 1)))
        session.add(MeterReading(meter_id=meter.id, consumer_id=consumer.id, reading_date=date(2026, 2, 1),
                                 value=Decimal("42"), verification_status=VerificationStatus.PENDING))  # fmt: skip
        await session.commit()
    tab = f"/consumers/{consumer.id}?tab=connections"
    action = f"/consumers/{consumer.id}/meters/{meter.meter_number}/readings/2026-02-01/verify"
    assert f'action="{action}"' in (await client.get(tab, headers=signed_in(users["csr"]))).text

    verified = await client.post(action, headers=signed_in(users["csr"]))

    assert verified.status_code == 303 and verified.headers["location"] == tab
    assert f'action="{action}"' not in (await client.get(tab, headers=signed_in(users["csr"]))).text
    missing = await client.post(action.replace("2026-02-01", "2026-02-02"), headers=signed_in(users["csr"]))
    assert missing.status_code == 404 and "has no reading" in missing.text


async def test_request_list_filters_by_assignee_and_sorts(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        first, second = [await factories.consumer(session) for _ in range(2)]  # one open request each
        rows = [
            await factories.request_row(session, first.id, priority=Priority.LOW, assigned_to=users["csr"].id),
            await factories.request_row(
                session, first.id, status=RequestStatus.COMPLETED, priority=Priority.CRITICAL,
                assigned_to=users["supervisor"].id,
            ),
            await factories.request_row(session, second.id, priority=Priority.HIGH, assigned_to=users["csr"].id),
        ]  # fmt: skip
        ids = [r.request_id for r in rows]
        await session.commit()
    csr = signed_in(users["csr"])

    def listed(page: str) -> list[str]:
        return [i for i in re.findall(r'href="/requests/([A-Z]{2}-T\d+)"', page) if i in ids]

    mine = (await client.get("/requests", params={"assignee": "me", "sort": "-priority"}, headers=csr)).text
    assert listed(mine) == [ids[2], ids[0]]  # High before Low; the supervisor's is not mine
    theirs = await client.get("/requests", params={"assignee": users["supervisor"].id}, headers=csr)
    assert listed(theirs.text) == [ids[1]]
    assert f'<option value="{users["supervisor"].id}" selected>' in theirs.text
    by_id = (await client.get("/requests", params={"sort": "request_id"}, headers=csr)).text
    assert listed(by_id) == sorted(ids)
    fallback = await client.get(
        "/requests", params={"sort": "password"}, headers=csr
    )  # unknown: newest first
    assert fallback.status_code == 200 and set(listed(fallback.text)) == set(ids)


async def test_a_broad_search_says_more_than_and_still_pages_on(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Any, monkeypatch: Any
) -> None:
    """Past the count's limit (``search.BROAD``; 1,000, here 3) the list says "more than", offers
    the next page while pages are full, and the bulk and export labels say "3+"."""
    monkeypatch.setattr(search, "BROAD", 3)
    async with sessionmaker() as session:
        for _ in range(25):  # a page and a bit
            consumer = await factories.consumer(session, last_name="Rivera")
            await factories.request_row(session, consumer.id, status=RequestStatus.COMPLETED)
        await session.commit()
    headers = signed_in(users["supervisor"])

    first = (await client.get("/requests", params={"q": "r"}, headers=headers)).text  # one letter
    assert "More than 3 results · page 1<" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert "Export CSV (3+)" in first
    last = (await client.get("/requests", params={"q": "r", "page": 2}, headers=headers)).text
    assert "25 results · page 2 of 2<" in last  # a short page: the matches were counted after all
    assert 'rel="next"' not in last and 'rel="prev"' in last

    exact = (await client.get("/requests", params={"q": "rivera"}, headers=headers)).text
    if "More than" not in exact:  # SQLite counts words of 2+ letters exactly, from its index
        assert "25 results · page 1 of 2<" in exact and "Export CSV (25)" in exact
