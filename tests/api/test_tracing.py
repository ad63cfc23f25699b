"""One trace from the HTTP request through Temporal into the workflow and its activities (issue 19,
point 3): the real app, a real dev server and worker, spans caught by an in-memory exporter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

import tracing
from api.main import create_app
from domain.consumers.types import ConsumerStatus
from settings import Settings
from tests import factories
from tests.api.conftest import auth, worker_activities
from worker import build_worker

pytestmark = pytest.mark.dev_server


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


@pytest.fixture
async def traced(
    db_url: str,
    sessionmaker: Any,
    dev_env: Any,
    task_queue: str,
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> AsyncIterator[httpx.AsyncClient]:
    provider, _ = spans
    base = dev_env.client
    client = await Client.connect(
        base.service_client.config.target_host,
        namespace=base.namespace,
        data_converter=base.data_converter,
        interceptors=tracing.interceptors(provider),
    )
    app = create_app(
        Settings(
            database_url=db_url,
            temporal_address=base.service_client.config.target_host,
            temporal_task_queue=task_queue,
            workflow_id_prefix=f"{task_queue}/",
        ),
        tracer_provider=provider,
    )
    async with (
        build_worker(client, Settings(), worker_activities(sessionmaker), task_queue=task_queue),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        yield http


def _chain(spans: list[ReadableSpan], leaf: ReadableSpan) -> list[str]:
    """The names from the root down to ``leaf``, following parent IDs."""
    by_id = {span.context.span_id: span for span in spans}
    names = [leaf.name]
    node = leaf
    while node.parent is not None and node.parent.span_id in by_id:
        node = by_id[node.parent.span_id]
        names.append(node.name)
    return names[::-1]


def _named(spans: list[ReadableSpan], prefix: str) -> ReadableSpan:
    matches = [span for span in spans if span.name.startswith(prefix)]
    assert matches, f"no span {prefix}…: {sorted({s.name for s in spans})}"
    return matches[0]


async def test_a_create_and_an_action_are_each_one_trace_into_the_workflow(
    traced: httpx.AsyncClient,
    sessionmaker: Any,
    staff: dict[str, Any],
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    _, exporter = spans
    async with sessionmaker() as session:
        await factories.utilities(session)
        consumer = await factories.consumer(session, status=ConsumerStatus.INACTIVE)
        await factories.time_slot(session)
        await session.commit()

    created = await traced.post(
        "/api/v1/requests", json={"consumer_id": consumer.id, "reason": "Other"}, headers=auth(staff["csr"])
    )
    assert created.status_code == 201, created.text
    # the create answers once the workflow has started; its first activity may still be running
    for _ in range(200):
        if any(span.name.startswith("RunActivity:") for span in exporter.get_finished_spans()):
            break
        await asyncio.sleep(0.05)
    create_spans = list(exporter.get_finished_spans())
    exporter.clear()
    acknowledged = await traced.post(
        f"/api/v1/requests/{created.json()['request_id']}/acknowledge", headers=auth(staff["csr"])
    )
    assert acknowledged.status_code == 200, acknowledged.text
    action_spans = list(exporter.get_finished_spans())

    run_activity = _named(create_spans, "RunActivity:")
    chain = _chain(create_spans, run_activity)
    assert chain[:2] == ["POST /api/v1/requests", "StartWorkflow:RequestWorkflow"], chain
    assert chain[2].startswith("StartActivity:") and chain[-1] == run_activity.name, chain
    run_workflow = _named(create_spans, "RunWorkflow:RequestWorkflow")
    assert _chain(create_spans, run_workflow) == [*chain[:2], "RunWorkflow:RequestWorkflow"]
    assert len({span.context.trace_id for span in create_spans}) == 1  # one trace, nothing stray

    # the action: the HTTP span starts the update; the workflow's handler span lives in the
    # request's own trace (the workflow's context) and links back to the update that caused it
    started = _named(action_spans, "StartWorkflowUpdate:acknowledge")
    assert _chain(action_spans, started) == [
        "POST /api/v1/requests/{request_id}/acknowledge",
        "StartWorkflowUpdate:acknowledge",
    ]
    handled = _named(action_spans, "HandleUpdate:acknowledge")
    assert [link.context.span_id for link in handled.links] == [started.context.span_id]
    workflow_start = _named(create_spans, "StartWorkflow:RequestWorkflow")
    assert handled.parent is not None and handled.parent.span_id == workflow_start.context.span_id
    projected = _named(action_spans, "RunActivity:project")
    assert _chain(action_spans, projected)[-2:] == ["StartActivity:project", "RunActivity:project"]


def test_tracing_is_off_without_an_endpoint() -> None:
    assert tracing.provider_for("", "connectdesk-api") is None
    assert tracing.interceptors(None) == []
