"""A browser's cross-site write is refused before it acts; this site's pages and API clients are not.

Over the real app and a real database: the refused writes leave no row behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Communication
from tests import factories
from tests.api.conftest import ApiFactory, auth

PUBLIC = "http://desk.utility.example"  # http: httpx keeps a Secure cookie off http://testserver
Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, public_url=PUBLIC) as client:
        yield client


@pytest.fixture
async def consumer_id(sessionmaker: Maker) -> int:
    async with sessionmaker() as session:
        row = await factories.consumer(session)
        await session.commit()
        return row.id


async def _sign_in(client: httpx.AsyncClient, staff: dict[str, Any]) -> None:
    response = await client.post("/api/v1/auth/session", json={"username": "csr", "password": "pass-word"})
    assert response.status_code == 200, response.text


async def _notes(sessionmaker: Maker) -> list[str]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(Communication.body).order_by(Communication.id))).all())


FORGED = {
    "cross-site fetch": {"Sec-Fetch-Site": "cross-site"},
    "sibling subdomain": {"Sec-Fetch-Site": "same-site"},
    "other origin, no fetch metadata": {"Origin": "https://evil.example"},
    "opaque origin": {"Origin": "null"},
    "fetch metadata wins over a matching origin": {"Sec-Fetch-Site": "cross-site", "Origin": PUBLIC},
}


NotePoster = Callable[[str, dict[str, str]], Awaitable[httpx.Response]]


@pytest.fixture
async def post_note(client: httpx.AsyncClient, staff: dict[str, Any], consumer_id: int) -> NotePoster:
    """Sign in with the UI's cookie, then post a note to the consumer with the given headers."""
    await _sign_in(client, staff)

    async def post(text: str, headers: dict[str, str]) -> httpx.Response:
        return await client.post(
            f"/api/v1/consumers/{consumer_id}/notes", json={"text": text}, headers=headers
        )

    return post


@pytest.mark.parametrize("headers", FORGED.values(), ids=FORGED.keys())
async def test_a_cookie_write_from_another_site_is_refused_and_writes_nothing(
    post_note: NotePoster, consumer_id: int, sessionmaker: Maker, headers: dict[str, str]
) -> None:
    response = await post_note("forged", headers)

    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/cross-site-request"
    assert body["instance"] == f"/api/v1/consumers/{consumer_id}/notes"
    assert "another site" in body["detail"]
    assert await _notes(sessionmaker) == []


TRUSTED = {
    "same-origin fetch": {"Sec-Fetch-Site": "same-origin"},
    "typed by the user": {"Sec-Fetch-Site": "none"},
    "the public URL's origin": {"Origin": PUBLIC},
    "this request's host": {"Origin": "http://testserver"},
    "no browser headers (curl, scripts)": {},
}


@pytest.mark.parametrize("headers", TRUSTED.values(), ids=TRUSTED.keys())
async def test_a_cookie_write_from_this_site_goes_through(
    post_note: NotePoster, sessionmaker: Maker, headers: dict[str, str]
) -> None:
    response = await post_note("ours", headers)

    assert response.status_code == 201, response.text
    assert await _notes(sessionmaker) == ["ours"]


async def test_bearer_callers_and_reads_are_not_checked(
    client: httpx.AsyncClient, staff: dict[str, Any], consumer_id: int, sessionmaker: Maker
) -> None:
    elsewhere = {"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.example"}
    written = await client.post(
        f"/api/v1/consumers/{consumer_id}/notes",
        json={"text": "from a partner app"},
        headers=auth(staff["csr"]) | elsewhere,  # a token is never sent by the browser on its own
    )
    assert written.status_code == 201, written.text

    await _sign_in(client, staff)
    read = await client.get(f"/api/v1/consumers/{consumer_id}", headers=elsewhere)
    assert read.status_code == 200, read.text
    assert await _notes(sessionmaker) == ["from a partner app"]


async def test_a_forged_ui_sign_in_sets_no_cookie(client: httpx.AsyncClient, staff: dict[str, Any]) -> None:
    """Login CSRF: another site must not sign the browser in as the attacker."""
    response = await client.post(
        "/login", data={"username": "csr", "password": "pass-word"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
