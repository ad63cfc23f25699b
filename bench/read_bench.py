"""Read-path latency at 100,000 consumers and 100,000 requests: search, lists, dashboards, details.

    python bench/read_bench.py                       # SQLite (database cached under bench/results/cache/)
    python bench/read_bench.py --postgres            # PostgreSQL (database read_bench_<consumers>_<requests>)
    python bench/read_bench.py --rebuild             # build the cached database again
    python bench/read_bench.py --postgres --with-proposed-indexes   # add the proposed indexes for the run
    python bench/read_bench.py --only "search"       # just the queries whose name contains this

The database: ``db.seed.seed`` with 100,000 consumers, plus 100,000 requests written straight into
the read model (bulk Core inserts, COPY on PostgreSQL) with their timeline events and communications:
12 months of creation dates, a realistic mix of types, statuses, priorities and SLA states, and at
most one open request per consumer (whose profile is locked, as the workflow would). Built once and
reused (``--rebuild`` to build again); a cached database behind the code's newest migration is
upgraded in place first.

Timed: the service functions the routers call, each in its own session as a request would be (no
HTTP: this measures the database and the service layer) — ``api.requests.service`` list / search /
dashboard / detail, and ``api.consumers`` (accounts, profile and each tab's module) search / dashboard / the profile header and every
tab. The searches cover a name, an account number, a request ID, a phone (as written, in other
formats, or a run of 4-7 of its digits), a service address and a meter or device number, and the
new request's consumer step (``lookup_customers``) by phone. Each query is warmed up, then repeated (200 by default) with varied parameters. Printed: p50,
p95, p99 and max in ms with the goal (p99 ≤ 20 ms on PostgreSQL, ≤ 50 ms on SQLite) and whether it
is met, then the plans of the partial-match searches (PostgreSQL: EXPLAIN (ANALYZE, BUFFERS);
SQLite: EXPLAIN QUERY PLAN). Results are merged into bench/results/read.json under the database
kind. Timings are never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from time import perf_counter
from types import SimpleNamespace
from typing import Any

import sqlalchemy
from _support import DEFAULT_ADMIN_URL, RESULTS_DIR, admin, machine, ms, new_parser, percentile, save_results
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Table as SqlTable
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from api.consumers import accounts as consumer_accounts
from api.consumers import billing as consumer_billing
from api.consumers import communications as consumer_communications
from api.consumers import documents as consumer_documents
from api.consumers import meters as consumer_meters
from api.consumers import profile as consumer_profile
from api.consumers import service_orders as consumer_service_orders
from api.reference.service import REASONS
from api.requests import queries as requests_service
from db.migrate import current_revision, head_revision, refresh_statistics, upgrade
from db.models import (
    Communication,
    Consumer,
    Meter,
    MeterAssignment,
    Plan,
    RequestEvent,
    ServiceRequest,
    User,
)
from db.seed import seed
from db.session import make_engine, make_sessionmaker
from domain.consumers.types import ConsumerStatus
from domain.request.sla import overall_state
from domain.request.types import (
    OPEN_STATUSES,
    Channel,
    CloseReason,
    Direction,
    Priority,
    RequestStatus,
    RequestType,
    SlaState,
    Visibility,
)
from settings import Settings

# The consumer reads, one module per sub-resource since the split (issue 14), under the names the
# queries below look up (a missing one is skipped with a note).
consumers_service: Any = SimpleNamespace(
    dashboard=consumer_accounts.dashboard,
    get_consumer=consumer_accounts.get_consumer,
    search_consumers=consumer_accounts.search_consumers,
    profile=consumer_profile.profile,
    full_profile=consumer_profile.full_profile,
    overview=consumer_profile.overview,
    connections=consumer_meters.connections,
    financial=consumer_billing.financial,
    service_history=consumer_service_orders.service_history,
    communications=consumer_communications.communications,
    list_documents=consumer_documents.list_documents,
)

CACHE = RESULTS_DIR / "cache"
CACHE_META = CACHE / "read_bench.json"
GOALS_MS = {"postgresql": 20.0, "sqlite": 50.0}
GENERATOR = 1  # bump when the generated requests change shape: cached databases are rebuilt
BATCH = 10_000

# The indexes this benchmark proposes (see bench/README.md); --with-proposed-indexes adds them
# for one run and drops them after. Names are what a migration would create. None pending: the
# last proposals became migration b7d4e2f1a9c3 (write a new one here as (name, CREATE INDEX …)).
PROPOSED_INDEXES: dict[str, list[tuple[str, str]]] = {"postgresql": [], "sqlite": []}


# ---- building the database ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    consumers: int
    requests: int
    seed: int

    @property
    def name(self) -> str:
        return f"read_bench_{self.consumers}_{self.requests}"


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


PRIORITY_MIX = ((Priority.LOW, 0.2), (Priority.MEDIUM, 0.5), (Priority.HIGH, 0.22), (Priority.CRITICAL, 0.08))
OPEN_MIX = ((RequestStatus.PENDING, 0.35), (RequestStatus.IN_PROGRESS, 0.5), (RequestStatus.ON_HOLD, 0.15))
OPEN_SHARE = 0.08  # of all requests; the rest are Completed (3/4) or Closed (1/4)
ACK, RESPONSE, RESOLUTION = timedelta(hours=2), timedelta(hours=4), timedelta(hours=24)


def _clock(created: datetime, due: timedelta, met: datetime | None, now: datetime) -> SlaState:
    deadline = created + due
    if met is not None:
        return SlaState.MET if met <= deadline else SlaState.BREACHED
    if now >= deadline:
        return SlaState.BREACHED
    return SlaState.AT_RISK if now >= created + due * 0.75 else SlaState.ON_TRACK


def generate(
    shape: Shape, consumers: list[tuple[int, str, str]], plan_ids: list[int], now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Requests (ids in creation order), their timeline events and communications.

    ``consumers`` are (id, status, full name). Open requests are recent (days), each for a
    distinct consumer; closed ones are spread over the last 12 months.
    """
    rng = random.Random(shape.seed * 7919 + shape.requests)
    n_open = min(int(shape.requests * OPEN_SHARE), len(consumers))
    open_people = rng.sample(consumers, n_open)
    drafts: list[tuple[datetime, tuple[int, str, str], bool]] = [
        (now - timedelta(minutes=min(14 * 24 * 60, rng.expovariate(1 / (36 * 60)))), who, True)
        for who in open_people
    ]
    for _ in range(shape.requests - n_open):
        drafts.append((now - timedelta(seconds=rng.uniform(0, 365 * 86_400)), rng.choice(consumers), False))
    drafts.sort(key=itemgetter(0))

    requests: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    comms: list[dict[str, Any]] = []
    for number, (created, (consumer_id, status, name), is_open) in enumerate(drafts, start=1):
        if is_open:
            request_type = (
                RequestType.RECONNECTION if status == ConsumerStatus.INACTIVE else RequestType.DISCONNECTION
            )
            state: RequestStatus = _weighted(rng, OPEN_MIX)
        else:
            request_type = RequestType.RECONNECTION if rng.random() < 0.45 else RequestType.DISCONNECTION
            state = RequestStatus.COMPLETED if rng.random() < 0.75 else RequestStatus.CLOSED
        prefix = "RC" if request_type is RequestType.RECONNECTION else "DC"
        request_id = f"{prefix}-{created.year}-{number:06d}"

        def later(low_minutes: float, high_minutes: float, created: datetime = created) -> datetime | None:
            at = created + timedelta(minutes=rng.uniform(low_minutes, high_minutes))
            return at if at <= now else None

        acknowledged = later(5, 200) if state is not RequestStatus.PENDING else None
        responded = later(10, 330) if acknowledged and (not is_open or rng.random() < 0.6) else None
        resolved = later(60, 2_400) if not is_open else None
        if not is_open and resolved is None:  # resolved "in the future": make it just now
            resolved = now
        if resolved is not None:
            acknowledged = min(acknowledged or resolved, resolved)
            responded = min(responded or resolved, resolved)
        states = {
            "ack_state": _clock(created, ACK, acknowledged, now),
            "response_state": _clock(created, RESPONSE, responded, now),
            "resolution_state": _clock(created, RESOLUTION, resolved, now),
        }
        breached = sum(1 for s in states.values() if s is SlaState.BREACHED)
        closed = state is RequestStatus.CLOSED
        requests.append(
            {
                "id": number,
                "request_id": request_id,
                "consumer_id": consumer_id,
                "request_type": request_type.value,
                "status": state.value,
                "priority": _weighted(rng, PRIORITY_MIX).value,
                "reason": rng.choice(REASONS[request_type]),
                "preferred_date": (created + timedelta(days=rng.randint(1, 10))).date(),
                "slot_id": None,
                "notes": "Gate code 4411" if rng.random() < 0.1 else None,
                "ack_due_at": created + ACK,
                "response_due_at": created + RESPONSE,
                "resolution_due_at": created + RESOLUTION,
                **{k: v.value for k, v in states.items()},
                "sla_status": overall_state(states.values()).value,
                "acknowledged_at": acknowledged,
                "first_response_at": responded,
                "resolved_at": resolved,
                "escalation_level": min(2, breached),
                "plan_id": rng.choice(plan_ids)
                if state is RequestStatus.COMPLETED and request_type is RequestType.RECONNECTION
                else None,
                "created_by": 1,
                "assigned_to": rng.choice((None, None, 1, 2)),
                "close_reason": rng.choice(list(CloseReason)).value if closed else None,
                "close_notes": "Consumer called to cancel" if closed and rng.random() < 0.3 else None,
                "idempotency_key": None,
                "created_at": created,
                "updated_at": resolved or responded or acknowledged or created,
            }
        )
        timeline = [("created", created, f"{request_type.value} request created")]
        if acknowledged:
            timeline.append(("acknowledged", acknowledged, "Request acknowledged; status In Progress."))
        if state is RequestStatus.ON_HOLD and acknowledged:
            timeline.append(("put_on_hold", min(now, acknowledged + timedelta(minutes=30)), "Put on hold"))
        if responded:
            timeline.append(("response_sent", responded, "Response sent by email"))
        if breached:
            timeline.append(("sla_breached", created + ACK, "Acknowledgement SLA breached; escalated"))
        if resolved is not None:
            timeline.append(("closed" if closed else "completed", resolved, "Request resolved"))
        for seq, (kind, at, detail) in enumerate(timeline, start=1):
            events.append(
                {
                    "request_id": request_id,
                    "event_key": f"{request_id}:{seq:04d}:{kind}",
                    "occurred_at": at,
                    "actor": "system" if kind == "sla_breached" else "csr",
                    "kind": kind,
                    "detail": detail,
                }
            )
        notes = []
        if responded:
            notes.append((responded, "Your request", f"Dear {name}, we are working on request {request_id}."))
        if state is RequestStatus.COMPLETED and resolved is not None:
            notes.append((resolved, "Service update", f"Request {request_id} is complete."))
        for at, subject, body in notes:
            comms.append(
                {
                    "consumer_id": consumer_id,
                    "request_id": request_id,
                    "channel": Channel.EMAIL.value,
                    "direction": Direction.TO_CUSTOMER.value,
                    "visibility": Visibility.CONSUMER.value,
                    "subject": subject,
                    "body": body,
                    "duration_seconds": None,
                    "author": "system",
                    "created_at": at,
                    "idempotency_key": None,
                }
            )
    return {"requests": requests, "request_events": events, "communications": comms}


async def _write(conn: AsyncConnection, table: SqlTable, rows: list[dict[str, Any]], progress: Any) -> None:
    task = progress.add_task(table.name, total=len(rows) or 1)
    copy = conn.dialect.name == "postgresql"
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        if copy:  # as db.seed does: COPY is several times cheaper than INSERT on PostgreSQL
            columns = list(batch[0])
            raw = await conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                table.name, columns=columns, records=[itemgetter(*columns)(r) for r in batch]
            )
        else:
            await conn.execute(insert(table), batch)
        progress.update(task, completed=start + len(batch))


async def build(url: str, shape: Shape, console: Console) -> dict[str, Any]:
    began = perf_counter()
    await upgrade(url)
    engine = make_engine(url)
    try:
        with Progress(
            TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            tasks: dict[str, Any] = {}

            def seeding(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = progress.add_task(f"seed {phase}", total=total or 1)
                progress.update(tasks[phase], completed=done if total else 1)

            await seed(engine, consumers=shape.consumers, seed=shape.seed, progress=seeding)
            now = datetime.now(UTC).replace(microsecond=0)
            async with engine.connect() as conn:
                people = [
                    (cid, status, f"{first} {last}")
                    for cid, status, first, last in (
                        await conn.execute(
                            select(Consumer.id, Consumer.status, Consumer.first_name, Consumer.last_name)
                        )
                    ).all()
                ]
                plan_ids = list((await conn.execute(select(Plan.id))).scalars())
                first_comm = (await conn.scalar(select(func.coalesce(func.max(Communication.id), 0)))) + 1
            rows = await asyncio.to_thread(generate, shape, people, plan_ids, now)
            for i, row in enumerate(rows["request_events"], start=1):
                row["id"] = i
            for i, row in enumerate(rows["communications"], start=first_comm):
                row["id"] = i
            async with engine.begin() as conn:
                for model in (ServiceRequest, RequestEvent, Communication):
                    table: SqlTable = model.__table__  # type: ignore[assignment]
                    await _write(conn, table, rows[table.name], progress)
                # The workflow locks the profile of a consumer with an open request.
                locks = [
                    {"cid": r["consumer_id"], "rid": r["request_id"]}
                    for r in rows["requests"]
                    if r["status"] in {s.value for s in OPEN_STATUSES}
                ]
                await conn.execute(
                    update(Consumer.__table__)
                    .where(Consumer.__table__.c.id == sqlalchemy.bindparam("cid"))
                    .values(locked_by_request=sqlalchemy.bindparam("rid")),
                    locks,
                )
                if conn.dialect.name == "postgresql":
                    for name in ("requests", "request_events", "communications"):
                        await conn.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))"
                            )
                        )
            await settle(url)  # the requests came after the seeder's ANALYZE
    finally:
        await engine.dispose()
    return {
        "consumers": shape.consumers,
        "requests": shape.requests,
        "seed": shape.seed,
        "generator": GENERATOR,
        "request_events": len(rows["request_events"]),
        "request_communications": len(rows["communications"]),
        "built_at": now.isoformat(),
        "build_seconds": round(perf_counter() - began, 1),
    }


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def _pg_exists(admin_url: str, name: str) -> bool:
    engine = make_engine(admin_url)
    try:
        async with engine.connect() as conn:
            return bool(await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}))
    finally:
        await engine.dispose()


async def settle(url: str) -> None:
    """Statistics after seeding or migrating, as `connectdesk migrate` gives them (ANALYZE); on
    PostgreSQL also VACUUM, as autovacuum soon would in service (without it every index-only scan
    visits the heap, and a table a migration rewrote drags its dead rows)."""
    if make_url(url).get_backend_name() != "postgresql":
        await refresh_statistics(url)
        return
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        await engine.dispose()


async def ensure_database(
    args: argparse.Namespace, shape: Shape, console: Console
) -> tuple[str, dict[str, Any]]:
    """The cached database for ``shape`` (built when missing, stale or --rebuild), and its metadata."""
    CACHE.mkdir(parents=True, exist_ok=True)
    all_meta: dict[str, Any] = json.loads(CACHE_META.read_text()) if CACHE_META.exists() else {}
    if args.postgres:
        kind, url = "postgresql", make_url(args.admin_url).set(database=shape.name).render_as_string(False)
        exists = await _pg_exists(args.admin_url, shape.name)
    else:
        path = CACHE / f"{shape.name}.db"
        kind, url = "sqlite", f"sqlite+aiosqlite:///{path}"
        exists = path.exists()
    key = f"{kind}:{shape.name}"
    meta = all_meta.get(key)
    wanted = {
        "consumers": shape.consumers,
        "requests": shape.requests,
        "seed": shape.seed,
        "generator": GENERATOR,
    }
    fresh = exists and meta is not None and all(meta.get(k) == v for k, v in wanted.items())
    if args.rebuild or not fresh:
        why = "--rebuild" if args.rebuild else "no cached database" if not exists else "cached one differs"
        console.print(f"[bold]building[/] {key} ({why}); takes a few minutes once …")
        if kind == "postgresql":
            if exists:
                await admin(args.admin_url, f'DROP DATABASE IF EXISTS "{shape.name}" WITH (FORCE)')
            await admin(args.admin_url, f'CREATE DATABASE "{shape.name}"')
        else:
            await asyncio.to_thread(_remove_sqlite, path)
        meta = await build(url, shape, console)
        all_meta[key] = meta
        CACHE_META.write_text(json.dumps(all_meta, indent=2, sort_keys=True) + "\n")
        console.print(f"  built in {meta['build_seconds']:.0f} s")
    else:
        assert meta is not None
        revision, head = await current_revision(url), head_revision(url)
        if revision != head:
            console.print(f"[bold]upgrading[/] cached {key} from {revision} to {head} (new migrations)")
            await upgrade(url)
            await settle(url)
        console.print(f"[bold]using[/] cached {key} built {meta['built_at']} (--rebuild to build again)")
    return url, meta


# ---- the queries -------------------------------------------------------------------------------------


Call = Callable[[AsyncSession, int], Awaitable[Any]]


@dataclass
class Query:
    name: str
    group: str
    parts: list[tuple[str, Call]]  # each part its own session (its own request); one for most
    explain: bool = False  # print its plan (the partial-match searches)
    samples: dict[str, list[float]] = field(default_factory=dict)
    plans: list[dict[str, Any]] = field(default_factory=list)
    timed: list[tuple[float, int]] = field(default_factory=list)  # (ms, i) of each whole call

    @property
    def total(self) -> str:
        return self.name if len(self.parts) == 1 else f"{self.name} (sum of {len(self.parts)} requests)"


@dataclass
class Params:
    """Varied parameters, drawn once from the data (deterministic for a seed)."""

    name_fragments: list[str]
    account_fragments: list[str]
    id_fragments: list[str]
    phone_fragments: list[str]  # the phone in several formats, or a run of 4-7 of its digits
    address_fragments: list[str]
    meter_fragments: list[str]  # meter or device numbers, whole or a run of their digits
    request_ids: list[str]
    accounts: list[str]
    built_at: datetime
    user: User

    def pick(self, values: list[Any], i: int) -> Any:
        return values[i % len(values)]


async def draw_params(sessionmaker: Any, meta: dict[str, Any], seed_value: int) -> Params:
    rng = random.Random(seed_value)
    async with sessionmaker() as session:
        n_consumers = await session.scalar(select(func.max(Consumer.id))) or 1
        ids = rng.sample(range(1, n_consumers + 1), min(600, n_consumers))
        people = (
            await session.execute(
                select(Consumer.first_name, Consumer.last_name, Consumer.account_number).where(
                    Consumer.id.in_(ids)
                )
            )
        ).all()
        n_requests = await session.scalar(select(func.max(ServiceRequest.id))) or 1
        rids = rng.sample(range(1, n_requests + 1), min(600, n_requests))
        request_ids = list(
            await session.scalars(select(ServiceRequest.request_id).where(ServiceRequest.id.in_(rids)))
        )
        contacts = (
            await session.execute(
                select(Consumer.phone, Consumer.service_address).where(Consumer.id.in_(ids))
            )
        ).all()
        meters = (
            await session.execute(
                select(Meter.meter_number, Meter.device_number)
                .join(MeterAssignment, MeterAssignment.meter_id == Meter.id)
                .where(MeterAssignment.consumer_id.in_(ids), MeterAssignment.unassigned_on.is_(None))
            )
        ).all()
        user = await session.scalar(select(User).where(User.username == "csr"))
    assert user is not None, "the seed creates the 'csr' user"
    rng.shuffle(people)
    rng.shuffle(request_ids)

    def cut(word: str, low: int, high: int) -> str:
        size = min(len(word), rng.randint(low, high))
        start = rng.randint(0, len(word) - size)
        return word[start : start + size]

    name_fragments = []
    for first, last, _ in people:
        r = rng.random()
        if r < 0.5:
            name_fragments.append(cut(last, 3, 5).lower())
        elif r < 0.75:
            name_fragments.append(cut(first, 3, 5))
        else:
            name_fragments.append(f"{first} {last[: rng.randint(2, 4)]}")
    digits = [acct.split("-")[-1] for _, _, acct in people]
    account_fragments = [cut(d, 4, 6) if rng.random() < 0.7 else f"wu-{d[:4]}" for d in digits]
    id_fragments = [
        cut(rid.split("-")[-1], 4, 6) if rng.random() < 0.6 else rid[: rng.randint(8, 10)]
        for rid in request_ids
    ]
    phone_fragments = []
    for phone, _ in contacts:
        digits = re.sub(r"[^0-9]", "", phone)
        phone_fragments.append(
            rng.choice(
                [
                    phone,  # "(217) 555-0142" as written
                    f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
                    digits,
                    f"{digits[3:6]}-{digits[6:]}",
                    cut(digits, 4, 7),
                ]
            )
        )
    address_fragments = []
    for _, address in contacts:
        number, street, *_ = address.split()
        address_fragments.append(
            rng.choice([f"{number} {street[:4]}", cut(street, 4, 7), f"{street} {address.split()[2][:2]}"])
        )
    meter_fragments = [
        rng.choice([meter.lower(), device, cut(meter.split("-")[-1], 4, 6), cut(device.split("-")[-1], 4, 6)])
        for meter, device in meters
    ] or ["m-100001"]
    return Params(
        name_fragments=name_fragments,
        account_fragments=account_fragments,
        id_fragments=id_fragments,
        phone_fragments=phone_fragments,
        address_fragments=address_fragments,
        meter_fragments=meter_fragments,
        request_ids=request_ids,
        accounts=[a for _, _, a in people],
        built_at=datetime.fromisoformat(meta["built_at"]),
        user=user,
    )


def request_queries(p: Params, settings: Settings) -> list[Query]:
    rs = requests_service
    statuses = list(RequestStatus)
    types = list(RequestType)
    priorities = list(Priority)
    sla = list(SlaState)
    sorts = ["-created_at", "priority", "resolution_due_at", "-created_at", "status"]

    def window(i: int, days: int) -> tuple[date, date]:
        end = p.built_at.date() - timedelta(days=(i * 7) % 330)
        return end - timedelta(days=days), end

    def lst(**kwargs: Any) -> Call:
        return lambda s, i: rs.list_requests(session=s, **kwargs)

    queries = [
        Query("search: partial name", "requests", [("", lambda s, i: rs.list_requests(session=s, q=p.pick(p.name_fragments, i)))], explain=True),
        Query("search: partial account number", "requests", [("", lambda s, i: rs.list_requests(session=s, q=p.pick(p.account_fragments, i)))], explain=True),
        Query("search: partial request ID", "requests", [("", lambda s, i: rs.list_requests(session=s, q=p.pick(p.id_fragments, i)))], explain=True),
        Query("search: phone (any format, partial digits)", "requests", [("", lambda s, i: rs.list_requests(session=s, q=p.pick(p.phone_fragments, i)))], explain=True),
        Query("search: service address", "requests", [("", lambda s, i: rs.list_requests(session=s, q=p.pick(p.address_fragments, i)))], explain=True),
        Query("search: meter or device number", "requests", [("", lambda s, i: rs.list_requests(session=s, q=p.pick(p.meter_fragments, i)))], explain=True),
        Query("new request, consumer step: phone", "requests", [("", lambda s, i: rs.lookup_customers(session=s, settings=settings, q=p.pick(p.phone_fragments, i)))], explain=True),
        Query("list: first page, no filter", "requests", [("", lst())]),
        *(
            Query(f"list: sort={key}, pages 1-40", "requests", [("", lambda s, i, key=key: rs.list_requests(session=s, sort=key, page=1 + i % 40))])
            for key in ("-created_at", "priority", "-resolution_due_at", "status", "request_id")
        ),
        Query("filter: status + type + priority", "requests", [("", lambda s, i: rs.list_requests(
            session=s, status=[statuses[i % 5]], request_type=types[i % 2], priority=[priorities[i % 4]]))]),
        Query("filter: SLA status", "requests", [("", lambda s, i: rs.list_requests(session=s, sla_status=[sla[i % 4]]))]),
        Query("filter: 30-day created range", "requests", [("", lambda s, i: rs.list_requests(
            session=s, created_from=window(i, 30)[0], created_to=window(i, 30)[1]))]),
        Query("filter: combined (open, SLA, priority, 90 days)", "requests", [("", lambda s, i: rs.list_requests(
            session=s, status=list(OPEN_STATUSES), sla_status=[SlaState.AT_RISK, SlaState.BREACHED][: 1 + i % 2],
            priority=priorities[i % 4 :], created_from=window(0, 90)[0], created_to=window(0, 90)[1],
            sort=sorts[i % 5]))]),
        Query("filter: history (completed, closed), page 1-20", "requests", [("", lambda s, i: rs.list_requests(
            session=s, history=True, page=1 + i % 20))]),
        Query("filter: search + status (q + open)", "requests", [("", lambda s, i: rs.list_requests(
            session=s, q=p.pick(p.name_fragments, i), status=list(OPEN_STATUSES)))], explain=True),
    ]  # fmt: skip
    if hasattr(rs, "escalation_queue"):
        queries.append(
            Query(
                "escalation queue",
                "requests",
                [("", lambda s, i: rs.escalation_queue(session=s, page=1 + i % 3))],
            )
        )
    queries += [
        Query("dashboard", "requests", [("", lambda s, i: rs.dashboard(session=s))]),
        Query("detail", "requests", [("", lambda s, i: rs.detail(
            session=s, settings=settings, user=p.user, request_id=p.pick(p.request_ids, i)))]),
    ]  # fmt: skip
    return queries


def consumer_queries(p: Params, notes: list[str]) -> list[Query]:
    cs = consumers_service
    # The search is api.consumers.accounts.search_consumers wherever the service module is not.
    search_consumers = getattr(cs, "search_consumers", consumer_accounts.search_consumers)
    queries: list[Query] = [
        Query(f"search: {label}", "consumers", [("", lambda s, i, values=values: search_consumers(session=s, q=p.pick(values, i)))], explain=True)
        for label, values in (
            ("partial name", p.name_fragments),
            ("partial account number", p.account_fragments),
            ("phone (any format, partial digits)", p.phone_fragments),
            ("service address", p.address_fragments),
            ("meter or device number", p.meter_fragments),
        )
    ]  # fmt: skip
    if cs is None:
        notes.append("api.consumers is missing: consumer dashboard and profile skipped")
        return queries
    if hasattr(cs, "dashboard"):
        queries.append(Query("dashboard", "consumers", [("", lambda s, i: cs.dashboard(session=s))]))
    else:
        notes.append("api.consumers: dashboard is missing: consumer dashboard skipped")

    tabs = [  # the profile header and each tab: one request each in the UI, each loads the consumer
        ("header", "profile"),
        ("overview", "overview"),
        ("connections", "connections"),
        ("financial", "financial"),
        ("service", "service_history"),
        ("communications", "communications"),
        ("documents", "list_documents"),
    ]
    parts: list[tuple[str, Call]] = []
    for label, fn_name in tabs:
        fn = getattr(cs, fn_name, None)
        if fn is None or not hasattr(cs, "get_consumer"):
            notes.append(f"api.consumers: {fn_name} is missing: profile part '{label}' skipped")
            continue

        def part(fn: Callable[..., Awaitable[Any]] = fn) -> Call:
            async def call(s: AsyncSession, i: int) -> Any:
                consumer = await cs.get_consumer(session=s, key=p.pick(p.accounts, i))
                return await fn(session=s, consumer=consumer)

            return call

        parts.append((label, part()))
    if hasattr(cs, "full_profile") and hasattr(cs, "get_consumer"):

        async def whole(s: AsyncSession, i: int) -> Any:
            consumer = await cs.get_consumer(session=s, key=p.pick(p.accounts, i))
            return await cs.full_profile(session=s, consumer=consumer)

        queries.append(Query("full profile (one request)", "consumers", [("", whole)]))
    else:
        notes.append("api.consumers: full_profile is missing: the one-request full profile skipped")
    if parts:
        queries.append(Query("full profile, tab by tab", "consumers", parts))
    return queries


# ---- timing and plans --------------------------------------------------------------------------------


class Capture:
    """The SQL statements (with their driver parameters) a call sends, for EXPLAIN."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.on = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if self.on and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.statements.append((statement, parameters))

    @contextlib.contextmanager
    def capturing(self) -> Iterator[list[tuple[str, Any]]]:
        self.statements, self.on = [], True
        try:
            yield self.statements
        finally:
            self.on = False


async def explain(engine: AsyncEngine, statement: str, parameters: Any) -> list[str]:
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            return [r[0] for r in rows]
        rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        depth: dict[int, int] = {0: 0}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * (depth[node] - 1) + str(detail))
        return lines


def scan_warnings(kind: str, plan: list[str]) -> list[str]:
    """Scans of the big tables in a plan: what an index should have avoided.

    PostgreSQL: every ``Seq Scan``. SQLite: ``SCAN t`` (the table) and ``SCAN t USING COVERING
    INDEX`` (a whole index); ``SCAN t USING INDEX ix`` walks an index in ORDER BY order and stops
    at the LIMIT, so it is reported as "ordered" only.
    """
    big = ("consumers", "requests", "request_events", "communications", "payments", "meter_readings")
    found = []
    for line in plan:
        if kind == "postgresql":
            m = re.search(r"Seq Scan on (\w+)", line)
            if m and m.group(1) in big:
                found.append(m.group(1))
            continue
        m = re.match(r"\s*SCAN (\w+)(.*)", line)
        if not m or m.group(1) not in big:
            continue
        rest = m.group(2)
        if "COVERING INDEX" in rest:
            found.append(f"{m.group(1)} (whole index)")
        elif "USING INDEX" in rest:
            found.append(f"{m.group(1)} (ordered)")
        else:
            found.append(m.group(1))
    return sorted(set(found))


async def run_query(sessionmaker: Any, q: Query, reps: int, warmup: int) -> None:
    for i in range(-warmup, reps):
        total = 0.0
        for label, call in q.parts:
            began = perf_counter()
            async with sessionmaker() as session:
                await call(session, i if i >= 0 else 10_000 + i)
            took = (perf_counter() - began) * 1000
            total += took
            if i >= 0 and len(q.parts) > 1:
                q.samples.setdefault(label, []).append(took)
        if i >= 0:
            q.samples.setdefault("", []).append(total)
            q.timed.append((total, i))


async def slowest(sessionmaker: Any, capture: Capture, q: Query, n: int, console: Console) -> None:
    """Print the ``n`` slowest calls of ``q`` with the parameters they sent, to tell which inputs
    make its p99."""
    console.print(f"[bold]{q.group}: {q.name}[/] — the {n} slowest calls")
    for took, i in sorted(q.timed, reverse=True)[:n]:
        with capture.capturing() as statements:
            for _, call in q.parts:
                async with sessionmaker() as session:
                    await call(session, i)
        sent = sorted({str(p) for _, parameters in statements for p in (parameters or ())})
        console.print(f"  {took:7.1f} ms  i={i:<4} {len(statements)} statements  {', '.join(sent)[:160]}")


async def plans_for(engine: AsyncEngine, sessionmaker: Any, capture: Capture, q: Query) -> None:
    kind = engine.dialect.name
    for label, call in q.parts:
        with capture.capturing() as statements:
            async with sessionmaker() as session:
                await call(session, 1)
        for statement, parameters in statements:
            plan = await explain(engine, statement, parameters)
            q.plans.append(
                {
                    "part": label,
                    "sql": statement,
                    "parameters": [str(x) for x in (parameters or ())],
                    "plan": plan,
                    "full_scans": scan_warnings(kind, plan),
                }
            )


def report(kind: str, queries: list[Query], console: Console, explain_all: bool) -> dict[str, Any]:
    goal = GOALS_MS[kind]
    table = Table(title=f"read path on {kind}: ms per call (goal p99 ≤ {goal:.0f} ms)")
    for column in ("module", "query", "n", "p50", "p95", "p99", "max", "goal", "full scans"):
        table.add_column(
            column, justify="left" if column in ("module", "query", "goal", "full scans") else "right"
        )
    out: dict[str, Any] = {}
    for q in queries:
        rows = [("", q.total)] + [(label, f"  └ {label}") for label, _ in q.parts if len(q.parts) > 1]
        for key, title in rows:
            values = q.samples.get(key, [])
            p99 = percentile(values, 99)
            met = p99 <= goal
            scans = sorted({t for plan in q.plans if key in ("", plan["part"]) for t in plan["full_scans"]})
            table.add_row(
                q.group if key == "" else "",
                title,
                str(len(values)),
                ms(percentile(values, 50)),
                ms(percentile(values, 95)),
                ms(p99),
                ms(max(values) if values else math.nan),
                "[green]met[/]" if met else "[red]missed[/]",
                ", ".join(scans) if q.plans else "",
            )
            out[f"{q.group}: {q.name}" + (f" / {key}" if key else "")] = {
                "n": len(values),
                "p50_ms": round(percentile(values, 50), 3),
                "p95_ms": round(percentile(values, 95), 3),
                "p99_ms": round(p99, 3),
                "max_ms": round(max(values), 3) if values else None,
                "goal_p99_ms": goal,
                "met": met,
            }
        if q.plans:
            out[f"{q.group}: {q.name}"]["plans"] = q.plans
    console.print(table)
    for q in queries:
        if not q.plans or not (q.explain or explain_all):
            continue
        console.rule(
            f"{q.group}: {q.name} — {'EXPLAIN (ANALYZE, BUFFERS)' if kind == 'postgresql' else 'EXPLAIN QUERY PLAN'}"
        )
        for plan in q.plans:
            console.print(f"[dim]{_short_sql(plan['sql'])}  {plan['parameters']}[/]", highlight=False)
            for line in plan["plan"]:
                console.print(f"  {line}", highlight=False, markup=False)
    return out


def _short_sql(sql: str) -> str:
    one = " ".join(sql.split())
    return one if len(one) <= 220 else f"{one[:140]} … {one[-70:]}"


@contextlib.asynccontextmanager
async def proposed_indexes(engine: AsyncEngine, console: Console, enabled: bool) -> AsyncIterator[list[str]]:
    """The indexes this benchmark proposes, added for the run and dropped after (--with-proposed-indexes)."""
    ddl = PROPOSED_INDEXES[engine.dialect.name] if enabled else []
    for name, sql in ddl:
        began = perf_counter()
        async with engine.begin() as conn:
            await conn.execute(text(sql))
        console.print(f"  added {name} in {perf_counter() - began:.1f} s")
    if ddl and engine.dialect.name == "postgresql":  # index-only scans need a fresh visibility map
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE requests, consumers, billing_accounts"))
    try:
        yield [name for name, _ in ddl]
    finally:
        for name, _ in ddl:
            async with engine.begin() as conn:
                await conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


async def bench(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    shape = Shape(args.consumers, args.requests, args.seed)
    url, meta = await ensure_database(args, shape, console)
    kind = make_url(url).get_backend_name()
    engine = make_engine(url)
    notes: list[str] = []
    try:
        sessionmaker = make_sessionmaker(engine)
        capture = Capture(engine)
        params = await draw_params(sessionmaker, meta, args.seed)
        queries = request_queries(params, Settings()) + consumer_queries(params, notes)
        if args.only:
            queries = [q for q in queries if args.only.lower() in f"{q.group}: {q.name}".lower()]
        for note in notes:
            console.print(f"[yellow]note:[/] {note}")
        async with (
            proposed_indexes(engine, console, args.with_proposed_indexes) as added,
        ):
            load_before = os.getloadavg()
            began = perf_counter()
            for q in queries:
                console.print(f"  {q.group}: {q.name} ×{args.reps} …", end="")
                t0 = perf_counter()
                await run_query(sessionmaker, q, args.reps, args.warmup)
                console.print(f" {perf_counter() - t0:.1f} s")
                if q.explain or args.explain_all:
                    await plans_for(engine, sessionmaker, capture, q)
            for q in queries if args.slowest else ():
                await slowest(sessionmaker, capture, q, args.slowest, console)
            seconds = perf_counter() - began
            load_after = os.getloadavg()
        version = await _scalar(
            engine, "SELECT version()" if kind == "postgresql" else "SELECT sqlite_version()"
        )
    finally:
        await engine.dispose()
    figures = report(kind, queries, console, args.explain_all)
    missed = [name for name, f in figures.items() if not f["met"]]
    console.print(
        f"{len(figures) - len(missed)} of {len(figures)} met the p99 goal; load average before "
        f"{load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} CPUs (shared with other work)"
    )
    return {
        "queries": figures,
        "missed": missed,
        "notes": notes,
        "proposed_indexes_added": added,
        "database": {**meta, "kind": kind, "server_version": version},
        "reps": args.reps,
        "seconds": round(seconds, 1),
        **machine(load_before, load_after),
    }


async def _scalar(engine: AsyncEngine, sql: str) -> str:
    async with engine.connect() as conn:
        return str((await conn.execute(text(sql))).scalar_one())


def main() -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--consumers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=200, help="timed calls per query (after warm-up)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls per query first")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (a database of its own, kept)")
    parser.add_argument(
        "--admin-url", default=DEFAULT_ADMIN_URL, help="where --postgres creates its database"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the cached database again")
    parser.add_argument("--only", help="run only the queries whose 'module: name' contains this")
    parser.add_argument(
        "--slowest", type=int, default=0, metavar="N",
        help="print each query's N slowest calls with the parameters they sent",
    )  # fmt: skip
    parser.add_argument("--explain-all", action="store_true", help="print (and save) every query's plan")
    parser.add_argument(
        "--no-save", action="store_true", help="print only; leave bench/results/read.json alone"
    )
    parser.add_argument(
        "--with-proposed-indexes", action="store_true",
        help="add the indexes this benchmark proposes for the run (dropped after)",
    )  # fmt: skip
    args = parser.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 150)
    result = asyncio.run(bench(args, console))
    kind = result["database"]["kind"] + ("+proposed-indexes" if args.with_proposed_indexes else "")
    if not args.no_save:
        path = save_results("read", kind, result)
        print(f"results: {path} [{kind}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
