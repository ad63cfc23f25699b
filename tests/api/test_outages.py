"""A dependency outage is a 503 with Retry-After and a problem+json body naming it — never a 500."""

from __future__ import annotations

import socket
from typing import Any

from sqlalchemy import select

from db.models import ServiceRequest
from domain.requests.types import RequestStatus
from tests import factories
from tests.api.conftest import ApiFactory, auth


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_database_down_is_503(api_client_for: ApiFactory, staff: dict[str, Any]) -> None:
    dead_db = f"postgresql+asyncpg://nobody@127.0.0.1:{_dead_port()}/none"
    async with api_client_for(database_url=dead_db) as client:
        response = await client.get("/api/v1/requests", headers=auth(staff["csr"]))

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"].isdigit()
    assert response.json()["dependency"] == "database"


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
