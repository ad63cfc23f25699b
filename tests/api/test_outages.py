"""A dependency outage is a 503 with Retry-After and a problem+json body naming it — never a 500."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.main import create_app
from db.models import ServiceRequest
from domain.request.types import RequestStatus
from settings import Settings
from tests import factories
from tests.api.conftest import ApiFactory, auth
from workflows.request import RequestWorkflow


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/requests", None),
        ("POST", "/api/v1/requests", {"consumer_id": 1, "reason": "Other"}),
        ("PATCH", "/api/v1/consumers/1", {"phone": "555-0100"}),
    ],
)
async def test_database_down_is_503(
    api_client_for: ApiFactory, staff: dict[str, Any], method: str, path: str, body: Any
) -> None:
    dead_db = f"postgresql+asyncpg://nobody@127.0.0.1:{_dead_port()}/none"
    async with api_client_for(database_url=dead_db) as client:
        response = await client.request(method, path, json=body, headers=auth(staff["csr"]))

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"].isdigit()
    assert response.json()["dependency"] == "database"
    # a write that may be retried says how to retry it safely; a read needs no key
    assert ("same Idempotency-Key" in response.json()["detail"]) is (method != "GET")


async def test_action_while_temporal_is_down_is_503_and_changes_nothing(
    api_client_for: ApiFactory, db_url: str, sessionmaker: Any, staff: dict[str, Any]
) -> None:
    async with sessionmaker() as session:
        consumer = await factories.consumer(session)
        row = await factories.request_row(session, consumer.id)
        await session.commit()

    async with api_client_for(
        database_url=db_url, temporal_address=f"127.0.0.1:{_dead_port()}", temporal_rpc_timeout_seconds=1
    ) as client:
        response = await client.post(
            f"/api/v1/requests/{row.request_id}/acknowledge", headers=auth(staff["csr"])
        )

    assert response.status_code == 503
    assert response.json()["dependency"] == "temporal"
    assert response.headers["retry-after"].isdigit()
    async with sessionmaker() as session:
        status = await session.scalar(select(ServiceRequest.status).where(ServiceRequest.id == row.id))
    assert status is RequestStatus.PENDING


async def test_every_database_connection_busy_is_503_not_500(
    api_client_for: ApiFactory, db_url: str, staff: dict[str, Any]
) -> None:
    """A burst that takes every pooled connection makes the next request wait db_pool_timeout_seconds,
    then answers 503 + Retry-After: the database is busy, not broken."""
    async with api_client_for(
        database_url=db_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.2
    ) as client:
        engine = client._transport.app.state.engine  # type: ignore[attr-defined]
        async with engine.connect():  # the pool's only connection, held
            busy = await client.get("/api/v1/requests", headers=auth(staff["csr"]))
        after = await client.get("/api/v1/requests", headers=auth(staff["csr"]))

    assert busy.status_code == 503, busy.text
    assert busy.headers["content-type"] == "application/problem+json"
    assert busy.headers["retry-after"].isdigit()
    assert busy.json()["dependency"] == "database"
    assert after.status_code == 200  # the connection is back in the pool


async def test_action_the_workflow_does_not_answer_in_time_is_503(
    api_client_for: ApiFactory,
    db_url: str,
    sessionmaker: Any,
    staff: dict[str, Any],
    dev_env: Any,
    task_queue: str,
) -> None:
    """Temporal is up but no worker takes the update (all busy, or down): the update's RPC times
    out. That is an outage of the request's workflow, not a server error."""
    async with sessionmaker() as session:
        consumer = await factories.consumer(session)
        row = await factories.request_row(session, consumer.id)
        await session.commit()
    prefix = f"{task_queue}/"
    await dev_env.client.start_workflow(
        RequestWorkflow.run,
        factories.start_for(consumer, row),
        id=f"{prefix}{row.request_id}",
        task_queue=f"{task_queue}-no-worker",  # nobody polls it
    )  # fmt: skip

    try:
        async with api_client_for(
            database_url=db_url,
            temporal_address=dev_env.client.service_client.config.target_host,
            temporal_task_queue=task_queue,
            workflow_id_prefix=prefix,
            temporal_rpc_timeout_seconds=1,
        ) as client:
            response = await client.post(
                f"/api/v1/requests/{row.request_id}/acknowledge", headers=auth(staff["csr"])
            )
    finally:
        await dev_env.client.get_workflow_handle(f"{prefix}{row.request_id}").terminate()

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"].isdigit()
    assert response.json()["dependency"] == "temporal"
    async with sessionmaker() as session:
        status = await session.scalar(select(ServiceRequest.status).where(ServiceRequest.id == row.id))
    assert status is RequestStatus.PENDING


async def test_an_unexpected_error_is_a_500_problem_with_a_logged_reference(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(Settings())

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/boom")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/internal" and body["instance"] == "/boom"
    assert body["reference"] in body["detail"] and "a bug" not in body["detail"]  # no internals leak
    logged = [r for r in caplog.records if r.name == "connectdesk.api"]
    assert logged and body["reference"] in logged[0].getMessage() and logged[0].exc_info is not None


def test_a_lost_connection_or_a_lost_race_is_transient_and_a_bad_statement_is_not() -> None:
    """asyncpg reports a connection lost while being opened, or a deadlock, as a plain DBAPIError
    that SQLAlchemy does not mark as a disconnect: both are 503 (retry), a constraint is not."""
    import asyncpg.exceptions as pg
    from sqlalchemy.exc import DBAPIError

    from api.errors import database_transient

    def wrapped(error: BaseException) -> DBAPIError:
        try:
            raise RuntimeError("the driver's adapter") from error
        except RuntimeError as adapter:
            return DBAPIError("DELETE FROM requests", {}, adapter)

    assert database_transient(wrapped(pg.ConnectionDoesNotExistError("connection was closed")))
    assert database_transient(wrapped(pg.DeadlockDetectedError("deadlock detected")))
    assert database_transient(wrapped(pg.CannotConnectNowError("the database system is starting up")))
    assert database_transient(wrapped(ConnectionRefusedError(111, "refused")))
    assert not database_transient(wrapped(pg.UniqueViolationError("duplicate key")))
    assert not database_transient(wrapped(pg.UndefinedColumnError("no such column")))
