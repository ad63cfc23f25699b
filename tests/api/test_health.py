"""Liveness and readiness, with a real database and a real Temporal dev server."""

from __future__ import annotations

import socket

from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import ApiFactory


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_healthz_answers_without_dependencies(api_client_for: ApiFactory, db_url: str) -> None:
    async with api_client_for(database_url=db_url, temporal_address=f"127.0.0.1:{_closed_port()}") as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_database_and_temporal_answer(
    api_client_for: ApiFactory, db_url: str, dev_env: WorkflowEnvironment
) -> None:
    address = dev_env.client.service_client.config.target_host
    async with api_client_for(database_url=db_url, temporal_address=address) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"database": "ok", "temporal": "ok"}


async def test_readyz_names_temporal_when_it_is_down(api_client_for: ApiFactory, db_url: str) -> None:
    async with api_client_for(
        database_url=db_url, temporal_address=f"127.0.0.1:{_closed_port()}", temporal_rpc_timeout_seconds=2
    ) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"].isdigit()
    body = response.json()
    assert body["checks"] == {"database": "ok", "temporal": body["checks"]["temporal"]}
    assert body["checks"]["temporal"] != "ok"
    assert "temporal" in body["detail"].lower()


async def test_readyz_names_the_database_when_it_is_down(
    api_client_for: ApiFactory, tmp_path: object, dev_env: WorkflowEnvironment
) -> None:
    address = dev_env.client.service_client.config.target_host
    bad_url = f"postgresql+asyncpg://nobody@127.0.0.1:{_closed_port()}/none"
    async with api_client_for(database_url=bad_url, temporal_address=address) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] != "ok"
    assert body["checks"]["temporal"] == "ok"
    assert body["status"] == 503


async def test_unknown_path_is_problem_json(api_client_for: ApiFactory, db_url: str) -> None:
    async with api_client_for(database_url=db_url) as client:
        response = await client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404
