"""Create is atomic even when Temporal's answer to the start is lost (a timeout after the server
started the workflow). A real app, database, dev server and worker; the only thing injected is the
lost answer: the real start runs, then the API is told it failed.

- Lost before the workflow ran: the API undoes the create and answers 503; the workflow, when a
  worker picks it up, finds its row gone and fails with CreateAbandoned, writing nothing. A retry
  then succeeds, even on SQLite, where the deleted row's number is handed out again.
- Lost after the workflow claimed its row: the start did succeed, so the create stands (201).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowFailureError

from activities.mail import Mailer
from activities.request import RequestActivities
from api.errors import DependencyUnavailable
from api.requests import create
from db.models import Consumer, RequestEvent, ServiceRequest, SlotBooking
from settings import Settings
from tests import factories
from tests.api.conftest import ApiFactory, auth
from worker import build_worker


@pytest.fixture
async def consumer(sessionmaker: Any) -> Any:
    async with sessionmaker() as session:
        row = await factories.consumer(session)
        await factories.time_slot(session, capacity=2)
        await session.commit()
        return row


@pytest.fixture
async def client(
    api_client_for: ApiFactory, db_url: str, dev_env: Any, task_queue: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(
        database_url=db_url,
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_task_queue=task_queue,
        workflow_id_prefix=f"{task_queue}/",
    ) as client:
        yield client


def _worker(dev_env: Any, sessionmaker: Any, task_queue: str) -> Any:
    activities = RequestActivities(
        sessionmaker, Mailer("", 25, "desk@utility.example"), "sup@utility.example"
    )
    return build_worker(dev_env.client, Settings(), activities, task_queue=task_queue)


def _lose_the_answer(monkeypatch: pytest.MonkeyPatch, before_losing: Any = None) -> list[str]:
    """Run the real start, then raise as if its answer had timed out. Returns the IDs started."""
    real = create._start_workflow
    started: list[str] = []

    async def start_then_time_out(temporal: Any, settings: Settings, start: Any) -> None:
        await real(temporal, settings, start)
        started.append(start.request_id)
        if before_losing is not None:
            await before_losing(start.request_id)
        raise DependencyUnavailable("temporal", "Could not start the request workflow: deadline exceeded")

    monkeypatch.setattr(create, "_start_workflow", start_then_time_out)
    return started


async def _leftovers(sessionmaker: Any, consumer_id: int) -> tuple[int, int, int, str | None]:
    async with sessionmaker() as session:
        rows = await session.scalar(select(func.count()).select_from(ServiceRequest))
        events = await session.scalar(select(func.count()).select_from(RequestEvent))
        bookings = await session.scalar(select(func.count()).select_from(SlotBooking))
        lock = await session.scalar(select(Consumer.locked_by_request).where(Consumer.id == consumer_id))
    return rows or 0, events or 0, bookings or 0, lock


def _failure_types(failure: BaseException | None) -> list[str | None]:
    """The types down a failure's cause chain (a local activity's error is not wrapped, a regular one's is)."""
    types = []
    while failure is not None:
        types.append(getattr(failure, "type", None))
        failure = getattr(failure, "cause", None)
    return types


async def test_a_start_lost_before_the_workflow_ran_leaves_nothing_and_a_retry_works(
    client: httpx.AsyncClient, consumer: Any, staff: dict[str, Any], sessionmaker: Any, dev_env: Any,
    task_queue: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    started = _lose_the_answer(monkeypatch)
    body = {"consumer_id": consumer.id, "reason": "Other"}
    refused = await client.post("/api/v1/requests", json=body, headers=auth(staff["csr"]))
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"].isdigit()
    assert await _leftovers(sessionmaker, consumer.id) == (0, 0, 0, None)

    # the workflow did start; once a worker runs it, it finds its row gone and gives up
    workflow_id = f"{task_queue}/{started[0]}"
    async with _worker(dev_env, sessionmaker, task_queue):
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(dev_env.client.get_workflow_handle(workflow_id).result(), timeout=30)
        assert "CreateAbandoned" in _failure_types(failed.value.cause)
        assert await _leftovers(sessionmaker, consumer.id) == (0, 0, 0, None)  # nothing brought back

        monkeypatch.undo()
        retried = await client.post("/api/v1/requests", json=body, headers=auth(staff["csr"]))
        assert retried.status_code == 201, retried.text
        request_id = retried.json()["request_id"]
        acknowledged = await client.post(
            f"/api/v1/requests/{request_id}/acknowledge", headers=auth(staff["csr"])
        )
        assert acknowledged.status_code == 200, acknowledged.text
    rows, events, bookings, lock = await _leftovers(sessionmaker, consumer.id)
    assert (rows, bookings, lock) == (1, 1, request_id) and events == 2  # created, acknowledged


async def test_a_start_lost_after_the_workflow_claimed_its_row_stands(
    client: httpx.AsyncClient, consumer: Any, staff: dict[str, Any], sessionmaker: Any, dev_env: Any,
    task_queue: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    async def wait_for_the_claim(request_id: str) -> None:
        deadline = datetime.now(UTC).timestamp() + 20
        while datetime.now(UTC).timestamp() < deadline:
            async with sessionmaker() as session:
                if await session.scalar(select(RequestEvent.id).where(RequestEvent.request_id == request_id)):
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{request_id}'s workflow never wrote its 'created' event")

    _lose_the_answer(monkeypatch, before_losing=wait_for_the_claim)
    async with _worker(dev_env, sessionmaker, task_queue):
        created = await client.post(
            "/api/v1/requests",
            json={"consumer_id": consumer.id, "reason": "Other"},
            headers=auth(staff["csr"]),
        )
        assert created.status_code == 201, created.text
        request_id = created.json()["request_id"]
        detail = await client.get(f"/api/v1/requests/{request_id}", headers=auth(staff["csr"]))
        assert detail.status_code == 200 and detail.json()["status"] == "Pending"
    assert await _leftovers(sessionmaker, consumer.id) == (1, 1, 1, request_id)
