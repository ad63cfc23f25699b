"""Sign-in throttling over the real app and database: back-off, lockout and its expiry, per account
and per address, on the token endpoint, the session endpoint and the UI's sign-in form."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import SigninFailure, User
from domain.passwords import hash_password
from domain.users import Role
from tests.api.conftest import ApiFactory

PASSWORD = "Correct-Horse-7731"
WRONG = "Wrong-Horse-9911"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
async def alice(sessionmaker: async_sessionmaker[AsyncSession], password_hash: str) -> User:
    async with sessionmaker() as session:
        user = User(username="alice", full_name="Alice", email="alice@utility.example", role=Role.CSR,
                    password_hash=password_hash)  # fmt: skip
        session.add(user)
        await session.commit()
        return user


BACKOFF = 30  # the first wait, in seconds (1 by default): long enough for a loaded machine's test


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    # The default policy otherwise: 2 free failures, then the back-off; 5 lock for 15 minutes.
    async with api_client_for(database_url=db_url, signin_backoff_seconds=BACKOFF) as client:
        yield client


async def _token(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _assert_429(response: httpx.Response, *, locked: bool) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == "/problems/too-many-sign-ins"
    assert body["locked"] is locked
    assert int(response.headers["retry-after"]) == body["retry_after"] >= 1
    return body


async def _failures(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[tuple[str, str], int]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(SigninFailure.scope, SigninFailure.subject, SigninFailure.failures)
        )
        return {(scope, subject): failures for scope, subject, failures in rows}


async def test_back_off_after_the_free_failures(client: httpx.AsyncClient, alice: User) -> None:
    for _ in range(3):
        assert (await _token(client, "alice", WRONG)).status_code == 401

    body = _assert_429(await _token(client, "alice", PASSWORD), locked=False)  # even the right password

    assert BACKOFF - 5 <= body["retry_after"] <= BACKOFF
    assert f"wait {body['retry_after']} seconds, then try again" in body["detail"]


async def test_lockout_after_five_failures_then_it_expires(
    api_client_for: ApiFactory, db_url: str, alice: User, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # No back-off before the lockout, and a lockout of 1.2 s, so the test can wait it out.
    async with api_client_for(
        database_url=db_url, signin_free_failures=4, signin_max_failures=5, signin_lockout_minutes=0.02
    ) as client:
        for _ in range(5):
            assert (await _token(client, "alice", WRONG)).status_code == 401

        body = _assert_429(await _token(client, "alice", PASSWORD), locked=True)
        assert body["retry_after"] <= 2
        assert "locked" in body["detail"]
        assert (await _failures(sessionmaker))[("account", "alice")] == 5  # refusals do not count

        await asyncio.sleep(body["retry_after"] + 0.1)

        assert (await _token(client, "alice", PASSWORD)).status_code == 200
        assert ("account", "alice") not in await _failures(sessionmaker)  # a success starts again


async def test_an_unknown_username_is_locked_out_like_a_real_one(
    client: httpx.AsyncClient, alice: User
) -> None:
    answers = [(await _token(client, name, WRONG)).status_code for name in ["ghost"] * 4 + ["alice"] * 4]
    assert answers == [401, 401, 401, 429, 401, 401, 401, 429]


async def test_the_username_is_counted_whatever_its_case(client: httpx.AsyncClient, alice: User) -> None:
    for name in ("alice", "ALICE", "Alice "):
        assert (await _token(client, name, WRONG)).status_code == 401
    _assert_429(await _token(client, "aLiCe", PASSWORD), locked=False)


async def test_a_success_clears_the_account_but_not_the_address(
    client: httpx.AsyncClient, alice: User, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(2):
        assert (await _token(client, "alice", WRONG)).status_code == 401
    assert (await _token(client, "alice", PASSWORD)).status_code == 200

    assert await _failures(sessionmaker) == {("address", "127.0.0.1"): 2}
    for _ in range(2):  # two more free failures: the account starts from nothing again
        assert (await _token(client, "alice", WRONG)).status_code == 401


async def test_one_address_failing_on_many_accounts_is_locked_out(
    api_client_for: ApiFactory, db_url: str, alice: User
) -> None:
    async with api_client_for(database_url=db_url, signin_address_max_failures=3) as client:
        for name in ("bob", "carol", "dave"):
            assert (await _token(client, name, WRONG)).status_code == 401

        body = _assert_429(await _token(client, "alice", PASSWORD), locked=True)
        assert "network address" in body["detail"]


async def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_one_by_one(
    client: httpx.AsyncClient, alice: User
) -> None:
    answers = await asyncio.gather(*(_token(client, "alice", f"{WRONG}-{i}") for i in range(8)))
    codes = sorted(response.status_code for response in answers)
    assert codes == [401] * 3 + [429] * 5  # 2 free failures, the third then waits: as in a row


async def test_the_session_endpoint_is_throttled_too(client: httpx.AsyncClient, alice: User) -> None:
    for _ in range(3):
        response = await client.post("/api/v1/auth/session", json={"username": "alice", "password": WRONG})
        assert response.status_code == 401
    response = await client.post("/api/v1/auth/session", json={"username": "alice", "password": PASSWORD})
    _assert_429(response, locked=False)
    assert "set-cookie" not in response.headers


async def test_the_sign_in_page_shows_the_refusal_with_429_and_retry_after(
    client: httpx.AsyncClient, alice: User
) -> None:
    for _ in range(3):
        page = await client.post("/login", data={"username": "alice", "password": WRONG})
        assert page.status_code == 401
        assert "Incorrect username or password." in page.text

    page = await client.post("/login", data={"username": "alice", "password": PASSWORD})

    assert page.status_code == 429
    assert page.headers["content-type"].startswith("text/html")
    seconds = int(page.headers["retry-after"])
    assert BACKOFF - 5 <= seconds <= BACKOFF
    assert f"Too many failed sign-ins: wait {seconds} seconds, then try again." in page.text
    assert "set-cookie" not in page.headers


async def test_failures_and_lockouts_are_logged_without_the_password(
    api_client_for: ApiFactory, db_url: str, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="connectdesk.auth")
    async with api_client_for(database_url=db_url, signin_free_failures=4, signin_max_failures=5) as client:
        for _ in range(6):
            await _token(client, "alice", WRONG)

    records = [r for r in caplog.records if r.name == "connectdesk.auth"]
    messages = [r.getMessage() for r in records]
    assert sum("sign-in failed for username 'alice' from 127.0.0.1" in m for m in messages) == 5
    assert any("sign-in locked for username 'alice'" in m and "after 5 failures" in m for m in messages)
    assert any("sign-in refused for username 'alice'" in m and "locked out" in m for m in messages)
    assert all(WRONG not in m and PASSWORD not in m for m in messages)


async def test_counts_past_the_window_are_swept_by_the_next_failure(
    client: httpx.AsyncClient, alice: User, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        stale = datetime.now(UTC) - timedelta(minutes=16)
        session.add_all([SigninFailure(scope="account", subject=f"guess-{i}", failures=3, last_failure_at=stale)
                         for i in range(3)])  # fmt: skip
        session.add(SigninFailure(scope="account", subject="alice", failures=4, last_failure_at=stale))
        await session.commit()

    assert (await _token(client, "alice", WRONG)).status_code == 401  # 4 old failures count for nothing

    assert await _failures(sessionmaker) == {("account", "alice"): 1, ("address", "127.0.0.1"): 1}


async def test_the_database_counts_follow_the_clock_of_the_rule(
    sessionmaker: async_sessionmaker[AsyncSession], alice: User
) -> None:
    """The service on a clock the test holds: still locked just before 15 minutes after the fifth
    failure, open at 15 minutes (the failures at 0-40 s are then forgotten in the database too)."""
    from api.auth import service
    from api.errors import Problem
    from settings import Settings

    settings = Settings()
    t0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    async def attempt(password: str, at: timedelta) -> int:
        async with sessionmaker() as session:
            try:
                await service.sign_in(session=session, username="alice", password=password, address="10.0.0.7",
                                      settings=settings, now=t0 + at)  # fmt: skip
            except Problem as problem:
                return problem.status
            return 200

    assert [await attempt(WRONG, timedelta(seconds=10 * i)) for i in range(5)] == [401] * 5
    assert await attempt(PASSWORD, timedelta(minutes=15, seconds=39, milliseconds=999)) == 429
    assert await attempt(PASSWORD, timedelta(seconds=40, minutes=15)) == 200
