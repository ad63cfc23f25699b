"""Fixtures for workflow tests: a real database, a real Temporal server and a worker on a unique queue."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.mail import Mailer
from activities.request import RequestActivities
from db import claims
from db.models import Consumer, Meter, MeterAssignment, Plan, PlanService, RequestEvent, ServiceRequest
from domain.consumers.types import Category, ConsumerStatus, MeterStatus, UtilityType
from domain.disconnection.rules import kind_of_request
from domain.request.rules import request_type_for
from settings import Settings
from tests import factories
from worker import build_worker
from workflows import search_attributes
from workflows.request import RequestWorkflow
from workflows.schemas import SlaSettings, StartRequest, summary_for


@dataclass
class World:
    """What a workflow test needs: the client, its queue, the database and the seeded rows."""

    env: WorkflowEnvironment
    task_queue: str
    sessionmaker: async_sessionmaker[AsyncSession]
    consumer: Consumer
    plan: Plan
    other_plan: Plan
    meters: dict[str, Meter] = field(default_factory=dict)
    active_consumer: Consumer | None = None
    counter: int = 0
    started: list[WorkflowHandle[RequestWorkflow, object]] = field(default_factory=list)

    async def start_request(self, *, consumer: Consumer | None = None, sla: SlaSettings | None = None,
                            created_at: datetime | None = None, reason: str | None = None) -> StartRequest:  # fmt: skip
        """The next request's start input, its row written as the API's create writes it."""
        consumer = consumer or self.consumer
        self.counter += 1
        request_type = request_type_for(consumer.status)
        request_id = (
            f"{'RC' if request_type.value == 'Reconnection' else 'DC'}-T-{self.task_queue}-{self.counter}"
        )
        reason = reason or ("Payment cleared" if request_type.value == "Reconnection" else "Moving out")
        start = StartRequest(
            request_id=request_id,
            consumer_id=consumer.id,
            account_number=consumer.account_number,
            consumer_name=consumer.full_name,
            consumer_category=consumer.category,
            consumer_sub_category=consumer.sub_category,
            request_type=request_type,
            reason=reason,
            created_by="csr",
            created_at=created_at or await self.env.get_current_time(),
            sla=sla or SlaSettings(),
            disconnection_kind=kind_of_request(request_type, reason),  # as the API's create decides it
        )
        async with self.sessionmaker() as session:
            await factories.written_request(session, start)
            await session.commit()
        return start

    async def start(self, *, consumer: Consumer | None = None, sla: SlaSettings | None = None,
                    created_at: datetime | None = None, reason: str | None = None,
                    with_search_attributes: bool = False) -> WorkflowHandle[RequestWorkflow, object]:  # fmt: skip
        """Start a request; ``with_search_attributes`` as the API starts one, carrying its six."""
        start = await self.start_request(consumer=consumer, sla=sla, created_at=created_at, reason=reason)
        handle = await self.env.client.start_workflow(
            RequestWorkflow.run,
            start,
            id=start.request_id,
            task_queue=self.task_queue,
            static_summary=summary_for(start),
            search_attributes=search_attributes.at_start(start) if with_search_attributes else None,
        )
        self.started.append(handle)
        await self.wait_for_claim(start.request_id)
        return handle

    async def terminate_running(self) -> None:
        """Leftover runs would block the shared time-skipping server once their worker is gone."""
        for handle in self.started:
            with contextlib.suppress(RPCError):
                await handle.terminate(reason="test finished")

    async def events(self, request_id: str) -> list[str]:
        """The kinds of the request's timeline events, oldest first."""
        async with self.sessionmaker() as session:
            rows = await session.scalars(
                select(RequestEvent.kind)
                .where(RequestEvent.request_id == request_id)
                .order_by(RequestEvent.id)
            )
            return list(rows.all())

    async def row(self, request_id: str) -> ServiceRequest:
        async with self.sessionmaker() as session:
            found = await session.scalar(
                select(ServiceRequest).where(ServiceRequest.request_id == request_id)
            )
            assert found is not None
            return found

    async def wait_for_claim(self, request_id: str, timeout: float = 15.0) -> None:
        """Wait until the workflow's first activity has claimed the request row ('created' logged)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            async with self.sessionmaker() as session:
                if await claims.is_claimed(session, request_id):
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"request row {request_id} was never claimed")


async def make_world(
    env: WorkflowEnvironment, task_queue: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> World:
    async with sessionmaker() as session:
        await factories.utilities(session)
        consumer = await factories.consumer(session, status=ConsumerStatus.INACTIVE)
        plan = Plan(
            name="Standard Residential", short_name="RES-STD", category=Category.RESIDENTIAL,
            sub_category="Standard", monthly_fee=Decimal("25.00"), rates={}, features=[],
            services=[PlanService(utility=UtilityType.ELECTRICITY, metered=True),
                      PlanService(utility=UtilityType.WATER, metered=True)],
        )  # fmt: skip
        other = Plan(
            name="Small Business", short_name="COM-SB", category=Category.COMMERCIAL,
            sub_category="Small Business", monthly_fee=Decimal("60.00"), rates={}, features=[],
            services=[PlanService(utility=UtilityType.ELECTRICITY, metered=True)],
        )  # fmt: skip
        session.add_all([plan, other])
        meters = {
            "elec": await factories.meter(session, UtilityType.ELECTRICITY),
            "water": await factories.meter(session, UtilityType.WATER),
            "elec2": await factories.meter(session, UtilityType.ELECTRICITY),
            "busy": await factories.meter(session, UtilityType.ELECTRICITY, status=MeterStatus.MAINTENANCE),
        }
        # An Active consumer with an electricity meter in service, for disconnections.
        active = await factories.consumer(session, status=ConsumerStatus.ACTIVE)
        in_service = await factories.meter(
            session, UtilityType.ELECTRICITY, status=MeterStatus.ASSIGNED, last_reading=Decimal("500.00")
        )
        session.add(
            MeterAssignment(meter_id=in_service.id, consumer_id=active.id, assigned_on=date(2025, 1, 1))
        )
        meters["in_service"] = in_service
        await session.commit()
    return World(env, task_queue, sessionmaker, consumer, plan, other, meters, active_consumer=active)


async def _world(
    env: WorkflowEnvironment,
    task_queue: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    mailer: Mailer | None = None,
    *,
    sandboxed: bool = True,
) -> AsyncIterator[World]:
    mailer = mailer or Mailer("", 25, "desk@utility.example")  # no SMTP host: nothing is sent
    activities = RequestActivities(sessionmaker, mailer, "supervisors@utility.example")
    # The tests keep the sandbox (it refuses non-deterministic calls) unless they ask otherwise.
    settings = Settings(worker_sandboxed=sandboxed)
    async with build_worker(env.client, settings, activities, task_queue=task_queue):
        world = await make_world(env, task_queue, sessionmaker)
        yield world
        await world.terminate_running()


@pytest.fixture
async def world(
    dev_env: WorkflowEnvironment, task_queue: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[World]:
    """A worker on the real dev server over a fresh database with a consumer, plans and meters."""
    async for w in _world(dev_env, task_queue, sessionmaker):
        yield w


@pytest.fixture(params=[True, False], ids=["sandboxed", "unsandboxed"])
async def any_runner_world(
    request: pytest.FixtureRequest,
    dev_env: WorkflowEnvironment,
    task_queue: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[World]:
    """``world`` on each workflow runner a deployment may choose (``CONNECTDESK_WORKER_SANDBOXED``)."""
    async for w in _world(dev_env, task_queue, sessionmaker, sandboxed=request.param):
        yield w


@pytest.fixture
async def timed_world(
    time_skipping_env: WorkflowEnvironment, task_queue: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[World]:
    """The same on the time-skipping server, for SLA timers. Drive it with signals and `env.sleep`:
    the test server stops skipping time once a client has awaited an update."""
    async for w in _world(time_skipping_env, task_queue, sessionmaker):
        yield w


@pytest.fixture
async def own_timed_world(
    own_time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[World]:
    """The same on a time-skipping server of the test's own: for tests that await updates."""
    async for w in _world(own_time_skipping_env, task_queue, sessionmaker):
        yield w


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) on localhost that keeps what it receives."""

    messages: list[EmailMessage]
    mailer: Mailer

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = asyncio.get_running_loop().time() + timeout
        # aiosmtpd delivers on its own thread and loop: poll the list it appends to.
        while len(self.messages) < count and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return self.messages


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    received: list[EmailMessage] = []

    class Keep:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            received.append(message)
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield Mailbox(received, Mailer("127.0.0.1", port, "desk@utility.example"))
    finally:
        controller.stop()


@pytest.fixture
async def mail_world(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    mailbox: Mailbox,
) -> AsyncIterator[World]:
    async for w in _world(dev_env, task_queue, sessionmaker, mailbox.mailer):
        yield w


@pytest.fixture
async def timed_mail_world(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    mailbox: Mailbox,
) -> AsyncIterator[World]:
    async for w in _world(time_skipping_env, task_queue, sessionmaker, mailbox.mailer):
        yield w
