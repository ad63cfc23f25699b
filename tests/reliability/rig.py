"""The whole stack for one fault scenario, and the faults.

Temporal dev server (own process, persistent file), worker (own process, so it can be SIGKILLed),
the API in this process over ASGI (its Temporal client reconnects by itself after a dev server
restart), a real database (SQLite file, or PostgreSQL behind a TCP proxy that can be cut), and an
SMTP server that counts e-mails. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client

from api.main import create_app
from settings import Settings
from tests.api.conftest import auth
from tests.reliability.audit import audit, wait_until_settled, write_evidence
from tests.reliability.load import Desk, Seeded, run_load, seed
from tests.reliability.processes import DevServer, Mailbox, SqliteLock, TcpProxy, WorkerProcess
from tests.reliability.report import Result
from workflows.converter import data_converter

TASK_QUEUE = "reliability"
SHUTDOWN_GRACE = 10.0  # seconds a SIGTERMed worker lets in-flight activities finish
POOL = {"db_pool_size": 4, "db_max_overflow": 8}  # PostgreSQL is shared with the rest of the suite


@dataclass(frozen=True)
class Scale:
    requests: int
    concurrency: int
    arrival_every: float  # seconds between two scripts' starts
    think: tuple[float, float]  # seconds between a script's actions
    first_fault: float  # seconds into the load before a dev server restart or an outage
    fault_every: float
    worker_uptime: tuple[float, float]  # seconds a worker lives, once polling, before its SIGKILL
    max_worker_kills: int
    dev_server_restarts: int
    outage_seconds: float  # PostgreSQL refused for this long (SQLite: see database_outage)
    load_timeout: float
    settle_timeout: float  # after the load, for the workflows to finish and their e-mails to arrive


@dataclass
class Rig:
    var_dir: Path
    database: str
    dev: DevServer
    worker: WorkerProcess
    api: httpx.AsyncClient
    desk: Desk
    seeded: Seeded
    sessionmaker: async_sessionmaker[AsyncSession]
    mailbox: Mailbox
    db_file: Path | None  # SQLite
    proxy: TcpProxy | None  # PostgreSQL
    stopping: asyncio.Event
    scale: Scale
    outages: int = 0
    outage_seconds: float = 0.0

    async def run(self, scenario: str, *faults: Callable[[Rig], Awaitable[None]]) -> Result:
        """Drive every script while the faults run, let everything settle, and audit."""
        started = self.desk.began = time.monotonic()
        tasks = [asyncio.create_task(f(self)) for f in (supervise_worker, *faults)]
        load = run_load(
            self.desk, self.seeded.scripts, self.seeded.plan_id,
            arrival_every=self.scale.arrival_every, concurrency=self.scale.concurrency,
        )  # fmt: skip
        try:
            await asyncio.wait_for(load, self.scale.load_timeout)
        except TimeoutError:
            self.desk.traffic.gave_up.append(f"the load did not finish in {self.scale.load_timeout:.0f}s")
        finally:
            self.stopping.set()
            await asyncio.gather(*tasks)
        client = await Client.connect(self.dev.address, data_converter=data_converter)
        scripts = self.seeded.scripts
        emails = sum(
            ("response" in s.done) + bool({"activate", "final readings"} & set(s.done)) for s in scripts
        )
        await wait_until_settled(client, self.mailbox, emails, timeout=self.scale.settle_timeout)
        findings = await audit(self.sessionmaker, client, scripts, self.mailbox)
        await write_evidence(self.sessionmaker, client, scripts, findings, self.var_dir / "evidence")
        return Result(
            scenario=scenario,
            database=self.database,
            scripts=scripts,
            traffic=self.desk.traffic,
            findings=findings,
            seconds=time.monotonic() - started,
            worker_kills=self.worker.kills,
            worker_terms=self.worker.terms,
            worker_term_seconds_max=max(self.worker.term_seconds, default=0.0),
            worker_unplanned_exits=self.worker.unplanned_exits,
            workflow_task_failures=await asyncio.to_thread(self.worker.task_failures),
            dev_server_restarts=self.dev.kills,
            database_outages=self.outages,
            outage_seconds=self.outage_seconds,
        )


async def _sleep_unless_stopping(rig: Rig, seconds: float) -> bool:
    """Sleep; True when the run is over (and the fault must stand down)."""
    try:
        await asyncio.wait_for(rig.stopping.wait(), seconds)
        return True
    except TimeoutError:
        return False


async def supervise_worker(rig: Rig) -> None:
    """Start the worker again whenever it exited by itself (as a process supervisor would), counting
    those exits; when the run is over, leave it running and polling."""
    while not await _sleep_unless_stopping(rig, 0.5):
        # not while a rolling restart waits for the exit it asked for (it starts the worker itself:
        # counting that exit and starting one here left two workers and one of them orphaned)
        if not rig.worker.alive() and not rig.worker.stopping:
            rig.worker.unplanned_exits += 1
            rig.worker.start()
    await ensure_worker(rig, timeout=90)


async def ensure_worker(rig: Rig, timeout: float) -> None:
    """Until the worker polls again (it exits at once when it starts while Temporal is down)."""
    deadline = time.monotonic() + timeout
    while not rig.worker.ready() or not rig.worker.alive():
        if not rig.worker.alive() and not rig.worker.stopping:
            rig.worker.unplanned_exits += 1
            rig.worker.start()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker did not come back in {timeout:.0f}s")
        await asyncio.sleep(0.2)


def kill_worker_every(scale: Scale) -> Callable[[Rig], Awaitable[None]]:
    """SIGKILL the worker a few seconds after it starts polling, then start it again at once."""

    async def fault(rig: Rig) -> None:
        while rig.worker.kills < scale.max_worker_kills:
            while not (rig.worker.alive() and rig.worker.ready()):  # the supervisor restarts it
                if await _sleep_unless_stopping(rig, 0.1):
                    return
            if await _sleep_unless_stopping(rig, random.uniform(*scale.worker_uptime)):
                return
            rig.worker.kill()
            rig.worker.start()

    return fault


def roll_worker_every(scale: Scale, *, grace: float) -> Callable[[Rig], Awaitable[None]]:
    """A rolling restart: SIGTERM the worker a few seconds after it starts polling (it stops
    polling, lets in-flight activities finish for its grace period, exits), then start it again."""

    async def fault(rig: Rig) -> None:
        while rig.worker.terms < scale.max_worker_kills:
            while not (rig.worker.alive() and rig.worker.ready()):
                if await _sleep_unless_stopping(rig, 0.1):
                    return
            if await _sleep_unless_stopping(rig, random.uniform(*scale.worker_uptime)):
                return
            await rig.worker.terminate(timeout=grace + 15)
            rig.worker.start()

    return fault


def restart_dev_server(scale: Scale, *, down: float = 8.0) -> Callable[[Rig], Awaitable[None]]:
    """SIGKILL the Temporal dev server, leave it down longer than the API's 5 s RPC timeout (so
    calls fail, not just wait), restart it on the same file."""

    async def fault(rig: Rig) -> None:
        for i in range(scale.dev_server_restarts):
            if await _sleep_unless_stopping(rig, scale.fault_every if i else scale.first_fault):
                return
            rig.dev.kill()
            await asyncio.sleep(down)
            await rig.dev.start()

    return fault


def database_outage(scale: Scale, times: int, seconds: float) -> Callable[[Rig], Awaitable[None]]:
    """PostgreSQL: cut the proxy (connections refused and open ones dropped) for ``seconds``.
    SQLite: another connection holds BEGIN EXCLUSIVE for ``seconds`` (writers wait out their
    busy timeout, then fail with "database is locked")."""

    async def fault(rig: Rig) -> None:
        for i in range(times):
            if await _sleep_unless_stopping(rig, scale.fault_every if i else scale.first_fault):
                return
            rig.outages += 1
            began = time.monotonic()
            if rig.proxy is not None:
                await rig.proxy.cut()
                try:
                    await asyncio.sleep(seconds)
                finally:
                    await rig.proxy.restore()
            else:
                assert rig.db_file is not None
                await SqliteLock(rig.db_file).hold(seconds)
            rig.outage_seconds += time.monotonic() - began

    return fault


@asynccontextmanager
async def build_rig(
    var_dir: Path, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], scale: Scale
) -> AsyncIterator[Rig]:
    """Seed, start everything, yield; stop it all in reverse order, whatever happened."""
    url = make_url(db_url)
    async with AsyncExitStack() as stack:
        proxy = db_file = None
        if url.get_backend_name() == "postgresql":
            proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
            await proxy.restore()
            stack.push_async_callback(proxy.close)
            app_db = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        else:
            db_file = Path(url.database or "")
            app_db = db_url
        seeded = await seed(sessionmaker, scale.requests)
        dev = DevServer(var_dir)
        stack.callback(dev.stop)
        await dev.start()
        mailbox = stack.enter_context(Mailbox())
        worker = WorkerProcess(
            var_dir,
            {
                "CONNECTDESK_VAR_DIR": str(var_dir),
                "CONNECTDESK_DATABASE_URL": app_db,
                "CONNECTDESK_TEMPORAL_ADDRESS": dev.address,
                "CONNECTDESK_TEMPORAL_TASK_QUEUE": TASK_QUEUE,
                "CONNECTDESK_SMTP_HOST": "127.0.0.1",
                "CONNECTDESK_SMTP_PORT": str(mailbox.port),
                "CONNECTDESK_DB_POOL_SIZE": str(POOL["db_pool_size"]),
                "CONNECTDESK_DB_MAX_OVERFLOW": str(POOL["db_max_overflow"]),
                "CONNECTDESK_WORKER_SHUTDOWN_GRACE_SECONDS": str(SHUTDOWN_GRACE),
            },
        )
        stack.callback(worker.stop)
        worker.start()
        app = create_app(
            Settings(
                var_dir=var_dir,
                database_url=app_db,
                temporal_address=dev.address,
                temporal_task_queue=TASK_QUEUE,
                workflow_id_prefix="",  # workflow ID = request ID, as the audit describes them
                **POOL,  # type: ignore[arg-type]
            )
        )
        await worker.wait_ready()
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a 500 is an answer
        api = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")
        )
        yield Rig(
            var_dir=var_dir,
            database=url.get_backend_name(),
            dev=dev,
            worker=worker,
            api=api,
            desk=Desk(api, auth(seeded.user), think=scale.think),
            seeded=seeded,
            sessionmaker=sessionmaker,
            mailbox=mailbox,
            db_file=db_file,
            proxy=proxy,
            stopping=asyncio.Event(),
            scale=scale,
        )
