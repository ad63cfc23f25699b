"""Sign-in over the real app and a real database: tokens, the UI cookie, 401s and 403s."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import service
from api.auth.deps import CurrentUser, require_roles
from api.main import create_app
from db.models import User
from domain.passwords import hash_password
from domain.users import Role
from settings import Settings
from tests.api.conftest import ApiFactory

SECRET = "test-secret-for-connectdesk-auth-0123456789"
PASSWORD = "Correct-Horse-7731"
PROBLEM = "application/problem+json"


@cache
def _password_hash(password: str) -> str:
    return hash_password(password)  # Argon2 is slow on purpose: hash once per test session


async def _add_user(
    sessionmaker: async_sessionmaker[AsyncSession], username: str, role: Role, *, is_active: bool = True
) -> User:
    async with sessionmaker() as session:
        row = User(
            username=username,
            full_name=username.title(),
            email=f"{username}@utility.example",
            role=role,
            password_hash=_password_hash(PASSWORD),
            is_active=is_active,
        )
        session.add(row)
        await session.commit()
        return row


@pytest.fixture
async def users(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, User]:
    return {
        "alice": await _add_user(sessionmaker, "alice", Role.CSR),
        "sam": await _add_user(sessionmaker, "sam", Role.SUPERVISOR),
        "ada": await _add_user(sessionmaker, "ada", Role.ADMIN),
        "gone": await _add_user(sessionmaker, "gone", Role.CSR, is_active=False),
    }


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, jwt_secret=SECRET, jwt_ttl_minutes=30) as client:
        yield client


async def _token(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": username, "password": password})


async def _bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await _token(client, username)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _crafted(
    user: User, *, expires_in: timedelta, secret: str = SECRET, kid: str | None = "default", **extra: Any
) -> str:
    """A token signed by hand, with the claims ConnectDesk puts in (``extra`` replaces some)."""
    now = datetime.now(UTC)
    claims = {
        "sub": user.username,
        "uid": user.id,
        "role": user.role.value,
        "ver": user.token_version,
        "kind": "api",
        "iat": now,
        "exp": now + expires_in,
        "auth_time": int(now.timestamp()),
    }
    return jwt.encode(
        claims | extra, secret, algorithm="HS256", headers=None if kid is None else {"kid": kid}
    )


def _assert_401(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    body: dict[str, Any] = response.json()
    assert body["status"] == 401
    return body


# --- OAuth2 password flow ---------------------------------------------------------------


async def test_token_flow_issues_a_jwt_that_reads_me(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    response = await _token(client, "sam")

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    assert claims["sub"] == "sam"
    assert claims["uid"] == users["sam"].id
    assert claims["role"] == "supervisor"
    assert claims["exp"] - claims["iat"] == body["expires_in"]

    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": users["sam"].id,
        "username": "sam",
        "full_name": "Sam",
        "email": "sam@utility.example",
        "role": "supervisor",
    }


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong-password"), ("nobody", PASSWORD), ("gone", PASSWORD)],
    ids=["wrong-password", "unknown-user", "inactive-user"],
)
async def test_token_refuses_bad_credentials_alike(
    client: httpx.AsyncClient, users: dict[str, User], username: str, password: str
) -> None:
    body = _assert_401(await _token(client, username, password))
    assert body["detail"] == "Incorrect username or password"
    assert "access_token" not in body


async def test_authenticate_checks_a_hash_even_for_an_unknown_user(
    sessionmaker: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    real_verify = service.verify_password

    def spy(password: str, password_hash: str) -> bool:
        checked.append(password_hash)
        return real_verify(password, password_hash)

    monkeypatch.setattr(service, "verify_password", spy)
    async with sessionmaker() as session:
        user = await service.authenticate(session=session, username="nobody", password=PASSWORD)

    assert user is None
    assert len(checked) == 1
    assert checked[0].startswith("$argon2id$")


# --- The UI's session cookie ------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["json", "form"])
async def test_session_sets_an_httponly_cookie_that_reads_me(
    client: httpx.AsyncClient, users: dict[str, User], encoding: str
) -> None:
    credentials = {"username": "alice", "password": PASSWORD}
    if encoding == "json":
        response = await client.post("/api/v1/auth/session", json=credentials)
    else:
        response = await client.post("/api/v1/auth/session", data=credentials)

    assert response.status_code == 200, response.text
    assert response.json()["username"] == "alice"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{service.SESSION_COOKIE}=")
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "secure" not in attributes  # the default public URL is http://

    me = await client.get("/api/v1/auth/me")  # the client's cookie jar sends the cookie back
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "csr"


async def test_session_cookie_is_secure_behind_https(
    api_client_for: ApiFactory, db_url: str, users: dict[str, User]
) -> None:
    async with api_client_for(database_url=db_url, public_url="https://desk.utility.example") as client:
        response = await client.post("/api/v1/auth/session", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert "secure" in {part.strip().lower() for part in response.headers["set-cookie"].split(";")}


async def test_session_refuses_bad_credentials_without_a_cookie(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    response = await client.post("/api/v1/auth/session", json={"username": "alice", "password": "nope"})
    assert _assert_401(response)["detail"] == "Incorrect username or password"
    assert "set-cookie" not in response.headers


async def test_session_with_missing_fields_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/session", json={"username": "alice"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [error["field"] for error in response.json()["errors"]] == ["password"]


async def test_logout_clears_the_cookie(client: httpx.AsyncClient, users: dict[str, User]) -> None:
    signed_in = await client.post("/api/v1/auth/session", json={"username": "alice", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text

    response = await client.delete("/api/v1/auth/session")

    assert response.status_code == 204
    assert response.content == b""
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f'{service.SESSION_COOKIE}="";') or cookie.startswith(
        f"{service.SESSION_COOKIE}=;"
    )
    assert "max-age=0" in cookie
    assert service.SESSION_COOKIE not in client.cookies
    _assert_401(await client.get("/api/v1/auth/me"))


# --- Refusals -----------------------------------------------------------------------------


async def test_missing_credentials_are_a_401_problem(client: httpx.AsyncClient) -> None:
    body = _assert_401(await client.get("/api/v1/auth/me"))
    assert body["title"] == "Unauthorized"
    assert body["instance"] == "/api/v1/auth/me"
    assert "sign in" in body["detail"].lower()


async def test_expired_token_is_refused(client: httpx.AsyncClient, users: dict[str, User]) -> None:
    token = _crafted(users["alice"], expires_in=timedelta(minutes=-1))
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert "expired" in _assert_401(response)["detail"]


def _tamper(token: str) -> str:
    """The same signature on a payload that now claims the admin role."""
    header, _, signature = token.split(".")
    payload = jwt.utils.base64url_encode(
        json.dumps(jwt.decode(token, options={"verify_signature": False}) | {"role": "admin"}).encode()
    ).decode()
    return f"{header}.{payload}.{signature}"


@pytest.mark.parametrize("forgery", ["tampered-payload", "other-secret", "not-a-jwt", "alg-none"])
async def test_forged_tokens_are_refused(
    client: httpx.AsyncClient, users: dict[str, User], forgery: str
) -> None:
    alice = users["alice"]
    token = {
        "tampered-payload": lambda: _tamper(_crafted(alice, expires_in=timedelta(hours=1))),
        "other-secret": lambda: _crafted(alice, expires_in=timedelta(hours=1), secret="x" * 40),
        "not-a-jwt": lambda: "garbage",
        "alg-none": lambda: jwt.encode(
            {"sub": "alice", "uid": alice.id, "role": "admin"}, None, algorithm="none"
        ),
    }[forgery]()
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert "invalid" in _assert_401(response)["detail"]


async def test_a_bad_bearer_token_is_not_rescued_by_the_cookie(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    await client.post("/api/v1/auth/session", json={"username": "alice", "password": PASSWORD})
    _assert_401(await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer garbage"}))


async def test_a_deactivated_user_is_refused_with_a_token_issued_earlier(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    headers = await _bearer(client, "alice")
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200

    async with sessionmaker() as session:
        await session.execute(update(User).where(User.username == "alice").values(is_active=False))
        await session.commit()

    body = _assert_401(await client.get("/api/v1/auth/me", headers=headers))
    assert "deactivated" in body["detail"]


async def test_an_inactive_user_token_is_refused(client: httpx.AsyncClient, users: dict[str, User]) -> None:
    token = _crafted(users["gone"], expires_in=timedelta(hours=1))
    _assert_401(await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}))


# --- Roles ----------------------------------------------------------------------------------


@asynccontextmanager
async def _app_with_a_supervisor_route(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(Settings(database_url=db_url, jwt_secret=SECRET))

    @app.get("/test/supervisors-only", dependencies=[Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))])
    async def supervisors_only(user: CurrentUser) -> dict[str, str]:
        return {"hello": user.username}

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_the_wrong_role_is_a_403_problem_naming_the_roles_needed(
    db_url: str, users: dict[str, User]
) -> None:
    async with _app_with_a_supervisor_route(db_url) as client:
        response = await client.get("/test/supervisors-only", headers=await _bearer(client, "alice"))

    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["detail"] == "This action needs the supervisor or admin role; you are csr."
    assert body["required_roles"] == ["supervisor", "admin"]
    assert body["role"] == "csr"


@pytest.mark.parametrize("username", ["sam", "ada"])
async def test_the_right_role_passes(db_url: str, users: dict[str, User], username: str) -> None:
    async with _app_with_a_supervisor_route(db_url) as client:
        response = await client.get("/test/supervisors-only", headers=await _bearer(client, username))
    assert response.status_code == 200, response.text
    assert response.json() == {"hello": username}


async def test_the_role_check_without_credentials_is_a_401(db_url: str) -> None:
    async with _app_with_a_supervisor_route(db_url) as client:
        _assert_401(await client.get("/test/supervisors-only"))


async def test_the_role_checked_is_the_current_one_not_the_one_in_the_token(
    db_url: str, users: dict[str, User], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with _app_with_a_supervisor_route(db_url) as client:
        headers = await _bearer(client, "sam")
        async with sessionmaker() as session:
            await session.execute(update(User).where(User.username == "sam").values(role=Role.CSR))
            await session.commit()
        response = await client.get("/test/supervisors-only", headers=headers)
    assert response.status_code == 403
    assert response.json()["detail"].endswith("you are csr.")


# --- Secrets stay secret -----------------------------------------------------------------------


async def test_the_password_never_appears_in_a_response_or_a_log(
    client: httpx.AsyncClient, users: dict[str, User], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wrong-Horse-9911"
    responses = [
        await _token(client, "alice"),
        await _token(client, "alice", wrong),
        await client.post("/api/v1/auth/session", json={"username": "alice", "password": PASSWORD}),
        await client.post("/api/v1/auth/session", data={"username": "alice", "password": wrong}),
        await client.post("/api/v1/auth/session", json={"username": "", "password": PASSWORD}),
        await client.post("/api/v1/auth/token", data={"password": wrong}),
        await client.get("/api/v1/auth/me"),
    ]

    assert [r.status_code for r in responses] == [200, 401, 200, 401, 422, 422, 200]
    for response in responses:
        text = response.text + str(response.headers)
        assert PASSWORD not in text
        assert wrong not in text
        assert "argon2" not in text
    assert PASSWORD not in caplog.text
    assert wrong not in caplog.text


# --- Signing keys ---------------------------------------------------------------------------------

OLD_DEFAULT_SECRET = "dev-only-change-me-in-production-0123456789"  # shipped in settings.py until 2026-12


@pytest.mark.parametrize("kid", ["default", None])
async def test_a_token_forged_with_the_old_default_secret_is_refused(
    client: httpx.AsyncClient, users: dict[str, User], kid: str | None
) -> None:
    now = datetime.now(UTC)
    claims = {"sub": "ada", "uid": users["ada"].id, "role": "admin", "ver": 0, "kind": "api",
              "iat": now, "exp": now + timedelta(hours=1), "auth_time": int(now.timestamp())}  # fmt: skip
    forged = jwt.encode(claims, OLD_DEFAULT_SECRET, algorithm="HS256", headers={"kid": kid} if kid else None)
    for path in ("/api/v1/auth/me", "/api/v1/admin/users"):
        _assert_401(await client.get(path, headers={"Authorization": f"Bearer {forged}"}))


NEW_KEY = "2027-01"
NEW_SECRET = "rotation-key-2027-Zq8vN3kT5wXy7LmP0aBcDeFg"


async def test_keys_rotate_the_first_signs_and_a_retired_one_still_listed_verifies(
    api_client_for: ApiFactory, db_url: str, users: dict[str, User]
) -> None:
    async with api_client_for(database_url=db_url, jwt_secret=SECRET) as before:
        old_token = (await _token(before, "alice")).json()["access_token"]
    assert jwt.get_unverified_header(old_token)["kid"] == "default"

    # Rotated: the new key signs; the old secret (kid 'default') is still accepted until it is dropped.
    async with api_client_for(
        database_url=db_url, jwt_keys=f"{NEW_KEY}:{NEW_SECRET}", jwt_secret=SECRET
    ) as rotated:
        new_token = (await _token(rotated, "alice")).json()["access_token"]
        assert jwt.get_unverified_header(new_token)["kid"] == NEW_KEY
        jwt.decode(new_token, NEW_SECRET, algorithms=["HS256"])
        for token in (old_token, new_token):
            me = await rotated.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200, me.text

    # Retired: only the new key is listed, so the old tokens end.
    async with api_client_for(
        database_url=db_url, jwt_keys=f"{NEW_KEY}:{NEW_SECRET}", jwt_secret=""
    ) as after:
        _assert_401(await after.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"}))
        me = await after.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {new_token}"})
        assert me.status_code == 200, me.text


@pytest.mark.parametrize("kid", ["retired-2025", "", None])
async def test_a_token_with_an_unknown_or_missing_kid_is_refused(
    client: httpx.AsyncClient, users: dict[str, User], kid: str | None
) -> None:
    # Signed with the right secret, even: the kid names no accepted key.
    token = _crafted(users["alice"], expires_in=timedelta(hours=1), kid=kid)
    body = _assert_401(await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}))
    assert "invalid" in body["detail"]


# --- Signing out ends the tokens ---------------------------------------------------------------------


async def test_bearer_logout_ends_that_token_and_every_other_one(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    first, second = await _bearer(client, "alice"), await _bearer(client, "alice")
    other_user = await _bearer(client, "sam")

    response = await client.post("/api/v1/auth/logout", headers=first)

    assert response.status_code == 204, response.text
    for headers in (first, second):
        assert "signed out" in _assert_401(await client.get("/api/v1/auth/me", headers=headers))["detail"]
    assert (await client.get("/api/v1/auth/me", headers=other_user)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=await _bearer(client, "alice"))).status_code == 200


async def test_logout_without_a_token_is_a_401(client: httpx.AsyncClient) -> None:
    _assert_401(await client.post("/api/v1/auth/logout"))


async def test_ui_sign_out_ends_the_session_even_if_the_cookie_was_copied(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    signed_in = await client.post("/api/v1/auth/session", json={"username": "alice", "password": PASSWORD})
    copied = {"Cookie": f"{service.SESSION_COOKIE}={signed_in.cookies[service.SESSION_COOKIE]}"}
    bearer = await _bearer(client, "alice")

    assert (await client.delete("/api/v1/auth/session")).status_code == 204

    client.cookies.clear()
    assert "signed out" in _assert_401(await client.get("/api/v1/auth/me", headers=copied))["detail"]
    _assert_401(await client.get("/api/v1/auth/me", headers=bearer))


# --- Changing one's own password ---------------------------------------------------------------------


async def test_a_password_change_ends_the_old_tokens_and_returns_a_new_one(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    old, elsewhere = await _bearer(client, "alice"), await _bearer(client, "alice")
    new_password = "Meter-reading-at-dawn-47"

    response = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=old,
    )

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    fresh = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert (await client.get("/api/v1/auth/me", headers=fresh)).status_code == 200
    for headers in (old, elsewhere):
        _assert_401(await client.get("/api/v1/auth/me", headers=headers))
    _assert_401(await _token(client, "alice"))  # the old password no longer signs in
    assert (await _token(client, "alice", new_password)).status_code == 200


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        (PASSWORD, "password1234", "new_password"),
        (PASSWORD, "short-one", "new_password"),
        (PASSWORD, "ALICE", "new_password"),
        ("not-my-password", "Meter-reading-at-dawn-47", "current_password"),
    ],
    ids=["breached", "too-short", "the-username", "wrong-current"],
)
async def test_a_refused_password_change_is_a_422_and_changes_nothing(
    client: httpx.AsyncClient, users: dict[str, User], current: str, new: str, field: str
) -> None:
    headers = await _bearer(client, "alice")
    response = await client.post(
        "/api/v1/auth/password", json={"current_password": current, "new_password": new}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {e["field"] for e in body["errors"]} == {field}
    assert new not in response.text and current not in response.text
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
