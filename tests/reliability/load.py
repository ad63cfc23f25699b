"""The scripted desk: request lifecycles driven through the real API while something is broken.

Every logical action (a create, an acknowledge, a note, ...) gets its own ``Idempotency-Key`` and
its own text, and is re-sent with the same key and body after every 503 and every transport
error, as a well-behaved client would. What came back is counted in :class:`Traffic`.
"""

from __future__ import annotations

import asyncio
import enum
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import MeterAssignment, Plan, PlanService, User
from domain.consumers.types import Category, ConsumerStatus, MeterStatus, UtilityType
from domain.request.types import RequestStatus
from tests import factories

API = "/api/v1/requests"
SERVICE_ORDER_TYPE = "Inspections"


class Kind(enum.StrEnum):
    RECONNECTION = "reconnection"  # create, acknowledge, note, response, order, plan, activate
    DISCONNECTION = "disconnection"  # create, acknowledge, note, response, order, final readings
    HOLD_CLOSE = "hold/resume/close"  # create, acknowledge, note, hold, resume, response, order, close


@dataclass
class Script:
    """One request's lifecycle, with the texts that make each of its actions recognisable."""

    n: int
    kind: Kind
    consumer_id: int
    consumer_email: str
    meter_number: str
    request_id: str | None = None
    done: list[str] = field(default_factory=list)  # the actions the API confirmed, in order
    aborted: str | None = None  # why the script stopped early
    trail: list[str] = field(default_factory=list)  # every attempt and its answer, for the evidence
    suspect: bool = False  # an answer a retrying client should never get

    def tag(self, action: str) -> str:
        return f"#{self.n} {action}"

    @property
    def note(self) -> str:
        return f"Reliability note {self.tag('note')}"

    @property
    def response(self) -> str:
        return f"Reliability response {self.tag('response')}: a technician visits this week."

    @property
    def order(self) -> str:
        return f"Reliability service order {self.tag('order')}"

    @property
    def end_status(self) -> RequestStatus:
        return RequestStatus.CLOSED if self.kind is Kind.HOLD_CLOSE else RequestStatus.COMPLETED


@dataclass
class Traffic:
    """What the client saw: attempts, 503s it retried (by dependency), transport errors, and
    every answer a retrying client should never get."""

    actions: int = 0
    attempts: int = 0
    retried_503: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0
    client_timeouts: int = 0
    no_retry_after: int = 0  # 503 without Retry-After / problem+json
    refused_on_retry: list[str] = field(default_factory=list)  # 4xx after a retry: first outcome lost
    unexpected: list[str] = field(default_factory=list)  # any other non-2xx
    gave_up: list[str] = field(default_factory=list)  # attempts or time ran out

    @property
    def retried(self) -> int:
        return sum(self.retried_503.values())


class Desk:
    """An API client that retries 503s and transport errors with the same key and body."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        *,
        think: tuple[float, float] = (0.0, 0.0),
        retry_cap: float = 1.0,
        call_timeout: float = 75.0,
        action_deadline: float = 300.0,
        max_attempts: int = 400,
    ) -> None:
        self.client = client
        self.headers = {**headers, "Prefer": "return=minimal"}
        self.think = think
        self.retry_cap = retry_cap
        self.call_timeout = call_timeout
        self.action_deadline = action_deadline
        self.max_attempts = max_attempts
        self.traffic = Traffic()
        self.began = time.monotonic()

    async def send(
        self, script: Script, action: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response | None:
        """POST until an answer other than 503. None when refused at the first attempt or out of
        attempts or time; a 409 after a retry is returned (and counted)."""
        key = str(uuid.uuid4())
        headers = {**self.headers, "Idempotency-Key": key}
        label = f"#{script.n} {action} {script.request_id or ''}".strip()
        self.traffic.actions += 1
        started = time.monotonic()
        for attempt in range(1, self.max_attempts + 1):
            if time.monotonic() - started > self.action_deadline:
                break
            self.traffic.attempts += 1
            at = f"{time.monotonic() - self.began:7.1f}s {action} key {key[:8]} try {attempt}:"
            try:
                response = await asyncio.wait_for(
                    self.client.post(path, json=body, headers=headers), self.call_timeout
                )
            except TimeoutError:
                self.traffic.client_timeouts += 1
                script.trail.append(f"{at} no answer in {self.call_timeout:.0f}s")
                continue
            except httpx.TransportError as exc:
                self.traffic.transport_errors += 1
                script.trail.append(f"{at} {exc!r}")
                await asyncio.sleep(0.5)
                continue
            script.trail.append(f"{at} {response.status_code} {_detail(response)}")
            if response.status_code == 503:
                await self._back_off(response)
                continue
            if response.is_success:
                return response
            script.suspect = True
            problem = f"{label}: {response.status_code} {_detail(response)}"
            if attempt > 1 and response.status_code == 409:
                # The first attempt may have gone through: carry on, and let the audit tell.
                self.traffic.refused_on_retry.append(problem)
                return response
            self.traffic.unexpected.append(problem)
            return None
        script.suspect = True
        self.traffic.gave_up.append(f"{label}: no answer but 503 in {time.monotonic() - started:.0f}s")
        return None

    async def _back_off(self, response: httpx.Response) -> None:
        retry_after = response.headers.get("retry-after", "")
        is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
        if not retry_after.isdigit() or not is_problem:
            self.traffic.no_retry_after += 1
        dependency = response.json().get("dependency", "?") if is_problem else "?"
        self.traffic.retried_503[dependency] += 1
        # Sooner than Retry-After asks: a retry that lands while the first attempt is still in
        # flight is the hardest case for idempotency.
        wait = min(float(retry_after) if retry_after.isdigit() else 1.0, self.retry_cap)
        await asyncio.sleep(wait * random.uniform(0.5, 1.0))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:200]
    except ValueError:
        return response.text[:200]


async def run_script(desk: Desk, script: Script, plan_id: int) -> None:
    """Drive one lifecycle to its end; stops at the first action that is refused."""
    today = datetime.now(UTC).date().isoformat()
    created = await desk.send(
        script,
        "create",
        API,
        {"consumer_id": script.consumer_id, "reason": "Other", "notes": script.tag("create")},
    )
    if created is None or not created.is_success:
        script.aborted = "create"
        return
    script.request_id = created.json()["request_id"]
    steps: list[tuple[str, str, dict[str, Any] | None]] = [
        ("acknowledge", "acknowledge", None),
        ("note", "notes", {"text": script.note, "visibility": "internal"}),
    ]
    extras: list[tuple[str, str, dict[str, Any] | None]] = [
        ("response", "responses", {"channel": "email", "subject": script.tag("response"), "message": script.response}),
        ("order", "service-orders", {"service_type": SERVICE_ORDER_TYPE, "description": script.order}),
    ]  # fmt: skip
    if script.kind is Kind.RECONNECTION:
        steps += [
            *extras,
            ("plan", "plan", {"plan_id": plan_id}),
            ("activate", "activate", {"meters": [
                {"utility": "electricity", "meter_number": script.meter_number, "reading": "150.00", "reading_date": today}
            ]}),
        ]  # fmt: skip
    elif script.kind is Kind.DISCONNECTION:
        steps += [
            *extras,
            ("final readings", "final-readings", {"readings": [
                {"meter_number": script.meter_number, "reading": "600.00", "reading_date": today}
            ]}),
        ]  # fmt: skip
    else:
        steps += [
            ("hold", "hold", {"reason": f"Awaiting the consumer {script.tag('hold')}"}),
            ("resume", "resume", None),
            *extras,
            ("close", "close", {"reason": "Issue resolved", "notes": script.tag("close")}),
        ]
    script.done.append("create")
    for action, path, body in steps:
        await asyncio.sleep(random.uniform(*desk.think))  # a CSR reads before the next click
        answer = await desk.send(script, action, f"{API}/{script.request_id}/{path}", body)
        if answer is None:
            script.aborted = action
            return
        script.done.append(action)


async def run_load(
    desk: Desk, scripts: list[Script], plan_id: int, *, arrival_every: float, concurrency: int
) -> None:
    """Scripts arrive one every ``arrival_every`` seconds, whatever the desk is going through (so
    creates keep coming during an outage); at most ``concurrency`` run at once."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int, script: Script) -> None:
        await asyncio.sleep(i * arrival_every)
        async with gate:
            await run_script(desk, script, plan_id)

    await asyncio.gather(*(one(i, s) for i, s in enumerate(scripts)))


@dataclass
class Seeded:
    scripts: list[Script]
    plan_id: int
    user: User


async def seed(sessionmaker: async_sessionmaker[AsyncSession], count: int) -> Seeded:
    """A CSR, a plan, roomy time slots, and for each script its consumer and meter: Inactive with an
    available meter for a reconnection (or hold/resume/close), Active with a meter in service for a
    disconnection. The kinds take turns so each is spread over the whole run."""
    kinds = [Kind.RECONNECTION, Kind.DISCONNECTION, Kind.HOLD_CLOSE]
    scripts = []
    async with sessionmaker() as session:
        await factories.utilities(session)
        user = await factories.user(session, "reliability-csr")
        plan = Plan(
            name="Standard Residential", short_name="RES-STD", category=Category.RESIDENTIAL, sub_category="Standard",
            monthly_fee=Decimal("25.00"), rates={}, features=[],
            services=[PlanService(utility=UtilityType.ELECTRICITY, metered=True)],
        )  # fmt: skip
        session.add(plan)
        for hour in (8, 12, 16):
            await factories.time_slot(session, capacity=count + 10, start_hour=hour)
        for n in range(count):
            kind = kinds[n % len(kinds)]
            if kind is Kind.DISCONNECTION:
                consumer = await factories.consumer(session, status=ConsumerStatus.ACTIVE)
                meter = await factories.meter(
                    session, status=MeterStatus.ASSIGNED, last_reading=Decimal("500.00")
                )
                session.add(
                    MeterAssignment(meter_id=meter.id, consumer_id=consumer.id, assigned_on=date(2025, 1, 1))
                )
            else:
                consumer = await factories.consumer(session, status=ConsumerStatus.INACTIVE)
                meter = await factories.meter(session)
            scripts.append(Script(n, kind, consumer.id, consumer.email or "", meter.meter_number))
        await session.commit()
    return Seeded(scripts, plan.id, user)
