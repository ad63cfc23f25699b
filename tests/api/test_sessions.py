"""Sessions that end: an admin's password, role or active change ends the user's tokens at once;
UI sessions end after an idle timeout and slide forward while used; the UI's sign-out ends them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from api.auth.service import SESSION_COOKIE, issue_token
from settings import Settings
from tests.api.conftest import ApiFactory, auth

PROBLEM = "application/problem+json"


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url) as client:
        yield client


def _assert_401(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    return str(response.json()["detail"])


@pytest.mark.parametrize(
    "change",
    [
        {"password": "Meter-reading-at-dawn-47"},
        {"role": "supervisor"},
        {"is_active": False},
        {"username": "casey"},
    ],
    ids=["password", "role", "deactivated", "username"],
)
async def test_an_admin_change_ends_the_users_tokens_at_once(
    client: httpx.AsyncClient, staff: dict[str, Any], change: dict[str, Any]
) -> None:
    csr = staff["csr"]
    token = auth(csr)
    signed_in = await client.post("/api/v1/auth/session", json={"username": "csr", "password": "pass-word"})
    cookie = {"Cookie": f"{SESSION_COOKIE}={signed_in.cookies[SESSION_COOKIE]}"}
    client.cookies.clear()
    assert (await client.get("/api/v1/auth/me", headers=token)).status_code == 200

    changed = await client.patch(f"/api/v1/admin/users/{csr.id}", json=change, headers=auth(staff["admin"]))

    assert changed.status_code == 200, changed.text
    for headers in (token, cookie):
        _assert_401(await client.get("/api/v1/requests", headers=headers))


async def test_a_change_that_touches_no_access_keeps_the_tokens(
    client: httpx.AsyncClient, staff: dict[str, Any]
) -> None:
    token = auth(staff["csr"])
    changed = await client.patch(
        f"/api/v1/admin/users/{staff['csr'].id}",
        json={"full_name": "Casey R.", "email": "casey@utility.example", "role": "csr", "is_active": True},
        headers=auth(staff["admin"]),
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get("/api/v1/auth/me", headers=token)).status_code == 200


def _session_cookie(user: Any, *, minutes_ago: float) -> dict[str, str]:
    """A UI session last re-issued ``minutes_ago``, signed in an hour before."""
    now = datetime.now(UTC)
    token = issue_token(
        user,
        Settings(),
        kind="session",
        now=now - timedelta(minutes=minutes_ago),
        auth_time=int((now - timedelta(hours=1)).timestamp()),
        expires=int((now + timedelta(hours=7)).timestamp()),
    )
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def test_an_idle_ui_session_ends(client: httpx.AsyncClient, staff: dict[str, Any]) -> None:
    detail = _assert_401(
        await client.get("/api/v1/auth/me", headers=_session_cookie(staff["csr"], minutes_ago=31))
    )
    assert "30 minutes without activity" in detail

    page = await client.get("/requests", headers=_session_cookie(staff["csr"], minutes_ago=31))
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")


async def test_the_idle_timeout_is_a_setting(
    api_client_for: ApiFactory, db_url: str, staff: dict[str, Any]
) -> None:
    async with api_client_for(database_url=db_url, session_idle_minutes=5) as client:
        _assert_401(await client.get("/api/v1/auth/me", headers=_session_cookie(staff["csr"], minutes_ago=6)))
        me = await client.get("/api/v1/auth/me", headers=_session_cookie(staff["csr"], minutes_ago=4))
        assert me.status_code == 200


async def test_a_bearer_token_has_no_idle_timeout(client: httpx.AsyncClient, staff: dict[str, Any]) -> None:
    old = issue_token(staff["csr"], Settings(), now=datetime.now(UTC) - timedelta(hours=2))
    assert (
        await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old}"})
    ).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/auth/me", "/requests"])
async def test_a_used_session_slides_forward_keeping_its_sign_in_time(
    client: httpx.AsyncClient, staff: dict[str, Any], path: str
) -> None:
    sent = _session_cookie(staff["csr"], minutes_ago=10)
    old_claims = jwt.decode(sent["Cookie"].split("=", 1)[1], options={"verify_signature": False})

    response = await client.get(path, headers=sent)

    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "httponly" in cookie.lower()
    claims = jwt.decode(response.cookies[SESSION_COOKIE], options={"verify_signature": False})
    assert claims["iat"] > old_claims["iat"] + 9 * 60  # issued now: the idle clock starts again
    assert (claims["auth_time"], claims["exp"], claims["kind"]) == (
        old_claims["auth_time"],
        old_claims["exp"],
        "session",
    )  # never beyond the first sign-in's lifetime


async def test_a_fresh_session_is_not_reissued(client: httpx.AsyncClient, staff: dict[str, Any]) -> None:
    response = await client.get("/api/v1/auth/me", headers=_session_cookie(staff["csr"], minutes_ago=1))
    assert response.status_code == 200
    assert "set-cookie" not in response.headers


async def test_the_ui_sign_out_ends_every_session_of_the_user(
    client: httpx.AsyncClient, staff: dict[str, Any]
) -> None:
    signed_in = await client.post("/login", data={"username": "csr", "password": "pass-word"})
    assert signed_in.status_code == 303, signed_in.text
    elsewhere = auth(staff["csr"])  # e.g. the same person's API token

    signed_out = await client.post("/logout")

    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login"
    assert SESSION_COOKIE not in client.cookies
    _assert_401(await client.get("/api/v1/auth/me", headers=elsewhere))
