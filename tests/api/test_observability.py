"""What operators see (issue 19, points 1 and 2): the API's /metrics, the request ID, JSON log
lines with the request's and the workflow's identity, and the worker's Prometheus endpoint."""

from __future__ import annotations

import io
import json
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import logs
from tests.api.conftest import ApiFactory, auth
from worker import metrics_runtime


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, documents_dir=tmp_path / "documents") as client:
        yield client


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The process's logging as the API and worker configure it, into a buffer; restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("uvicorn.access").disabled)
    buffer = io.StringIO()
    logs.configure("json", "INFO", stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("uvicorn.access").disabled = saved[2]


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_metrics_count_requests_by_route_template_never_by_id(
    client: httpx.AsyncClient, staff: dict[str, Any]
) -> None:
    for key in ("WU-404404", "WU-505505"):
        await client.get(f"/api/v1/consumers/{key}", headers=auth(staff["csr"]))

    metrics = await client.get("/metrics")

    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    template = 'handler="/api/v1/consumers/{id_or_account_number}"'
    histogram = [line for line in text.splitlines() if line.startswith("http_request_duration_seconds_count")]
    assert any(template in line and 'method="GET"' in line for line in histogram), histogram
    counted = [
        line for line in text.splitlines() if line.startswith("http_requests_total") and template in line
    ]
    assert any('status="404"' in line for line in counted), counted
    assert "WU-404404" not in text and "WU-505505" not in text  # no IDs or personal data in labels


async def test_the_request_id_is_echoed_or_made_and_problems_carry_it(
    client: httpx.AsyncClient, staff: dict[str, Any]
) -> None:
    sent = await client.get(
        "/api/v1/consumers/WU-0", headers={**auth(staff["csr"]), "X-Request-ID": "edge-42.a"}
    )
    made = await client.get("/api/v1/consumers/WU-0", headers=auth(staff["csr"]))
    insane = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces" * 20})

    assert sent.headers["x-request-id"] == "edge-42.a"
    assert sent.status_code == 404 and sent.json()["http_request_id"] == "edge-42.a"
    assert (
        len(made.headers["x-request-id"]) == 32
        and made.json()["http_request_id"] == made.headers["x-request-id"]
    )
    assert insane.headers["x-request-id"] != "bad id with spaces" * 20


async def test_log_lines_are_json_with_the_request_id_and_the_user(
    client: httpx.AsyncClient, staff: dict[str, Any], json_lines: io.StringIO
) -> None:
    await client.get("/api/v1/requests", headers={**auth(staff["supervisor"]), "X-Request-ID": "trace-me-1"})

    lines = _lines(json_lines)
    [access] = [line for line in lines if line["logger"] == "connectdesk.http"]
    assert access["http_request_id"] == "trace-me-1" and access["user"] == "supervisor"
    assert access["message"].startswith("GET /api/v1/requests 200 ")
    assert {"time", "level", "message"} <= access.keys() and access["level"] == "info"


UNSANDBOXED = UnsandboxedWorkflowRunner()  # the probe lives in this test module, with its imports


@workflow.defn(name="LoggingProbe")
class LoggingProbe:
    @workflow.run
    async def run(self) -> None:
        workflow.logger.info("probe workflow line")
        await workflow.execute_activity(probe_activity, start_to_close_timeout=timedelta(seconds=10))


@activity.defn(name="probe_activity")
async def probe_activity() -> None:
    activity.logger.info("probe activity line")


async def test_workflow_and_activity_lines_name_the_workflow_run_and_activity(
    time_skipping_env: WorkflowEnvironment, json_lines: io.StringIO
) -> None:
    queue = f"tq-{uuid.uuid4().hex[:12]}"
    async with Worker(
        time_skipping_env.client,
        task_queue=queue,
        workflows=[LoggingProbe],
        activities=[probe_activity],
        workflow_runner=UNSANDBOXED,
    ):
        handle = await time_skipping_env.client.start_workflow(
            LoggingProbe.run, id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        await handle.result()

    lines = _lines(json_lines)
    [from_workflow] = [line for line in lines if line["message"].startswith("probe workflow line")]
    [from_activity] = [line for line in lines if line["message"].startswith("probe activity line")]
    assert from_workflow["workflow_id"] == handle.id and from_workflow["run_id"] == handle.result_run_id
    assert from_workflow["workflow_type"] == "LoggingProbe"
    assert from_activity["workflow_id"] == handle.id and from_activity["activity_type"] == "probe_activity"
    assert from_activity["run_id"] == handle.result_run_id


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_worker_serves_the_sdk_metrics_on_its_address(dev_env: WorkflowEnvironment) -> None:
    address = f"127.0.0.1:{_free_port()}"
    runtime = metrics_runtime(address)
    assert runtime is not None and metrics_runtime("") is None
    config = dev_env.client.config()
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=config["namespace"],
        data_converter=config["data_converter"],
        runtime=runtime,
    )
    queue = f"tq-{uuid.uuid4().hex[:12]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[LoggingProbe],
        activities=[probe_activity],
        workflow_runner=UNSANDBOXED,
    ):
        await client.execute_workflow(LoggingProbe.run, id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=queue)
        async with httpx.AsyncClient() as http:
            scraped = (await http.get(f"http://{address}/metrics")).text

    assert "temporal_workflow_completed" in scraped
    assert "temporal_activity_execution_latency" in scraped
    assert f'task_queue="{queue}"' in scraped


async def test_the_request_workflow_counts_connectdesk_metrics(
    db_url: str, sessionmaker: Any, dev_env: WorkflowEnvironment, task_queue: str, staff: dict[str, Any]
) -> None:
    from api.main import create_app
    from domain.consumers.types import ConsumerStatus
    from settings import Settings
    from tests import factories
    from tests.api.conftest import worker_activities
    from worker import build_worker

    async with sessionmaker() as session:
        await factories.utilities(session)
        consumer = await factories.consumer(session, status=ConsumerStatus.INACTIVE)
        await factories.time_slot(session)
        await session.commit()
    address = f"127.0.0.1:{_free_port()}"
    target = dev_env.client.service_client.config.target_host
    client = await Client.connect(
        target, namespace=dev_env.client.namespace, data_converter=dev_env.client.data_converter,
        runtime=metrics_runtime(address),
    )  # fmt: skip
    app = create_app(
        Settings(
            database_url=db_url, temporal_address=target, temporal_task_queue=task_queue,
            workflow_id_prefix=f"{task_queue}/",
        )
    )  # fmt: skip
    csr = auth(staff["csr"])
    async with (
        build_worker(client, Settings(), worker_activities(sessionmaker), task_queue=task_queue),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api,
    ):
        created = await api.post(
            "/api/v1/requests", json={"consumer_id": consumer.id, "reason": "Other"}, headers=csr
        )
        request_id = created.json()["request_id"]
        assert (await api.post(f"/api/v1/requests/{request_id}/acknowledge", headers=csr)).status_code == 200
        refused = await api.post(f"/api/v1/requests/{request_id}/acknowledge", headers=csr)
        assert refused.status_code == 409
        closed = await api.post(
            f"/api/v1/requests/{request_id}/close", json={"reason": "Duplicate request"}, headers=csr
        )
        assert closed.status_code == 200, closed.text
        async with httpx.AsyncClient() as http:
            scraped = (await http.get(f"http://{address}/metrics")).text

    def value(metric: str, *labels: str) -> float:
        found = [
            float(line.rsplit(" ", 1)[1])
            for line in scraped.splitlines()
            if line.startswith(metric + "{")
            and f'task_queue="{task_queue}"' in line
            and all(x in line for x in labels)
        ]
        return sum(found)

    assert value("connectdesk_requests_created_total", 'request_type="Reconnection"') == 1
    assert (
        value("connectdesk_actions_refused_total", 'action="acknowledge"', 'reason="invalid_transition"') == 1
    )
    assert value("connectdesk_requests_closed_total", 'reason="Duplicate request"') == 1
    assert value("connectdesk_requests_completed_total") == 0
