"""A dependency outage is a 503 with Retry-After and a problem+json body naming it — never a 500."""

from __future__ import annotations

import socket
from typing import Any

from sqlalchemy import select

from db.models import ServiceRequest
from domain.service_requests.types import RequestStatus, RequestType
from tests import factories
from tests.api.conftest import ApiFactory, auth
from workflows.request import RequestWorkflow
from workflows.schemas import SlaSettings, StartRequest


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
        StartRequest(
            request_id=row.request_id, consumer_id=consumer.id, account_number=consumer.account_number,
            consumer_name=consumer.full_name, consumer_category=consumer.category,
            consumer_sub_category=consumer.sub_category, request_type=RequestType.RECONNECTION,
            reason="Payment received", created_by="csr", created_at=row.created_at, sla=SlaSettings(),
            row_written=True,
        ),
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
