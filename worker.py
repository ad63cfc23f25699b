"""The worker: runs request workflows and their activities on one task queue.

Start N replicas of this process against the same Temporal namespace and task queue to scale out.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import logs
import tracing
from activities.disconnection import DisconnectionActivities
from activities.dunning import DunningActivities
from activities.mail import Mailer
from activities.request import RequestActivities
from activities.sms import make_sender
from db.disconnection import load_profile
from db.session import make_engine, make_sessionmaker
from settings import Settings, get_settings
from workflows.converter import data_converter
from workflows.dunning import DunningWorkflow
from workflows.policies import LOCAL_DB_TIMEOUT
from workflows.request import RequestWorkflow
from workflows.schedules import ensure_dunning_schedule

log = logging.getLogger("connectdesk.worker")
SQLITE_BUSY_TIMEOUT = LOCAL_DB_TIMEOUT.total_seconds() - 2
"""A local activity's SQLite write gives up waiting for the lock before its try is cancelled."""


def build_worker(
    client: Client, settings: Settings, activities: RequestActivities, task_queue: str | None = None
) -> Worker:
    """A worker for the request and dunning workflows and their activities (the tests build theirs
    with this too); the lawful-disconnection lookups and dunning share the request activities'
    sessionmaker."""
    return Worker(
        client,
        task_queue=task_queue or settings.temporal_task_queue,
        workflows=[RequestWorkflow, DunningWorkflow],
        activities=[
            *activity_methods(activities),
            *activity_methods(DisconnectionActivities(activities.sessionmaker)),
            *activity_methods(DunningActivities(activities.sessionmaker, settings.time_zone)),
        ],
        # SIGTERM (a rolling restart): stop polling, let in-flight activities finish for this long,
        # then cancel them; Temporal retries what was cut off on another worker.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
        # Sticky cache: a cached request answers its next action without replaying its history.
        # ~0.15 MB each unsandboxed: 1,000 keep a worker near 310 MB with 10,000 open; 10,000 cached
        # took 1.35 GB and its garbage collection starved escalations (bench/scale_bench.py).
        max_cached_workflows=settings.worker_max_cached_workflows,
        workflow_runner=SandboxedWorkflowRunner()
        if settings.worker_sandboxed
        else UnsandboxedWorkflowRunner(),
    )


def activity_methods(instance: object) -> list[Callable[..., Any]]:
    """The instance's ``@activity.defn`` methods, bound: a new activity is registered by defining it."""
    return [
        method
        for _, method in inspect.getmembers(instance, inspect.ismethod)
        if activity._Definition.from_callable(method) is not None
    ]


def build_activities(settings: Settings, sessionmaker: object) -> RequestActivities:
    return RequestActivities(
        sessionmaker,  # type: ignore[arg-type]
        Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from),
        settings.supervisor_email,
        make_sender(
            settings.sms_sender,
            url=settings.sms_url,
            token=settings.sms_token.get_secret_value(),
            sender=settings.sms_from,
        ),
    )


async def start_schedules(client: Client, settings: Settings, sessionmaker: Any) -> None:
    """Create or update the dunning schedule (every worker does at start; idempotent), in the
    configured time zone or else the jurisdiction profile's."""
    time_zone = settings.dunning_time_zone
    if not time_zone:
        async with sessionmaker() as session:
            time_zone = (await load_profile(session)).time_zone
    await ensure_dunning_schedule(client, settings, time_zone=time_zone)


async def _schedules(client: Client, settings: Settings, sessionmaker: Any) -> None:
    try:
        await start_schedules(client, settings, sessionmaker)
    except (RPCError, SQLAlchemyError) as exc:  # requests still need serving: the next start retries
        log.error("could not create or update the dunning schedule: %s", exc)


def metrics_runtime(address: str) -> Runtime | None:
    """A Temporal runtime serving Prometheus metrics on ``address`` (the SDK's: workflow-task and
    activity latencies, sticky cache, slots; and ConnectDesk's, emitted through the workflow's
    metric meter); None (the default runtime, no endpoint) when ``address`` is empty."""
    if not address:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


async def main(settings: Settings | None = None) -> int:
    settings = settings or get_settings()
    logs.configure(settings.log_format, settings.log_level)
    engine = make_engine(settings.db_url, sqlite_busy_timeout=SQLITE_BUSY_TIMEOUT, **settings.db_pool)
    try:
        client = await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter,
            runtime=metrics_runtime(settings.worker_metrics_address),
            interceptors=tracing.interceptors(
                tracing.provider_for(settings.otlp_endpoint, "connectdesk-worker")
            ),
        )
    except RuntimeError as exc:
        log.error("cannot reach Temporal at %s: %s", settings.temporal_address, exc)
        await engine.dispose()
        return 1
    sessionmaker = make_sessionmaker(engine)
    worker = build_worker(client, settings, build_activities(settings, sessionmaker))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker polling task queue %s on %s", settings.temporal_task_queue, settings.temporal_address)
    async with worker:
        # polling first: a restarted worker serves requests at once; the schedule follows
        schedules = asyncio.create_task(_schedules(client, settings, sessionmaker))
        await stop.wait()
        log.info("shutting down: finishing in-flight tasks")
        schedules.cancel()
    await engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
