"""The parts the fault suite breaks, each a real process or socket on 127.0.0.1: the Temporal dev
server on a persistent SQLite file, the worker (``worker.py``), a TCP proxy in front of
PostgreSQL, a lock on the SQLite file, and an SMTP server that counts what it receives.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from temporalio.client import Client

from cli.dev import temporal_args
from settings import ROOT, Settings
from workflows.converter import data_converter


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )


def _stop(proc: subprocess.Popen[bytes] | None, grace: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


class DevServer:
    """``temporal server start-dev`` as ``connectdesk dev`` runs it (cli.dev.temporal_args: the
    persistent file, WAL pragmas, search attributes), headless, on free ports; SIGKILL-able."""

    def __init__(self, var_dir: Path) -> None:
        self.settings = Settings(
            var_dir=var_dir,
            temporal_address=f"127.0.0.1:{free_port()}",
            temporal_ui_port=free_port(),
        )
        self.args = [*temporal_args(self.settings), "--headless"]
        self.log = var_dir / "temporal.log"
        self.db_file = var_dir / "temporal.db"
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    @property
    def address(self) -> str:
        return self.settings.temporal_address

    async def start(self, timeout: float = 60.0) -> None:
        self.proc = _spawn(self.args, self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Temporal dev server exited ({self.proc.returncode}):\n{tail(self.log)}")
            with contextlib.suppress(Exception):
                client = await Client.connect(self.address, data_converter=data_converter)
                if await client.service_client.check_health():
                    return
            await asyncio.sleep(0.25)
        raise TimeoutError(f"Temporal dev server not healthy in {timeout:.0f}s:\n{tail(self.log)}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, whatever was in memory is gone; the file keeps what was committed."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        _stop(self.proc)


class WorkerProcess:
    """``worker.py`` as a separate process, configured by CONNECTDESK_* variables, SIGKILL-able.

    ``ready()`` watches its log for the line it prints once it polls the task queue.
    """

    READY = b"worker polling task queue"

    def __init__(self, var_dir: Path, env: dict[str, str]) -> None:
        self.log = var_dir / "worker.log"
        # Hermetic but for the signing keys: the caller's environment configures nothing else.
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CONNECTDESK_") or k.startswith("CONNECTDESK_JWT")
        }
        self.env = {**clean, **env}
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self.kills = 0
        self.terms = 0
        self.term_seconds: list[float] = []  # how long each SIGTERM took to end the process
        self.term_exit_codes: list[int] = []
        self.starts = 0
        self.unplanned_exits = 0
        self.stopping = False  # between a SIGTERM and the exit it asked for: no supervisor restart

    def start(self) -> None:
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        self.proc = _spawn([sys.executable, str(ROOT / "worker.py")], self.log, self.env)
        self.starts += 1

    def ready(self) -> bool:
        if not self.log.exists():
            return False
        with open(self.log, "rb") as f:
            f.seek(self._log_offset)
            return self.READY in f.read()

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited ({self.proc.returncode}):\n{tail(self.log)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not polling after {timeout:.0f}s:\n{tail(self.log)}")
            await asyncio.sleep(0.1)

    def task_failures(self) -> list[str]:
        """Workflow task failures the worker logged (each with the exception line that follows it)."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        found = []
        for i, line in enumerate(lines):
            if "Failed activation on workflow" in line or "Failed handling activation" in line:
                cause = next(
                    (
                        x
                        for x in lines[i + 1 : i + 80]
                        if x[:1].isalpha() and ("Error" in x or "Exception" in x)
                    ),
                    "",
                )
                found.append(f"{line.split(' worker ')[-1][:160]} — {cause[:200]}")
        return found

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.kills += 1

    async def terminate(self, timeout: float) -> None:
        """SIGTERM, as a rolling restart does, and wait for the process to end by itself."""
        proc = self.proc  # this process, whatever starts meanwhile
        assert proc is not None
        began = time.monotonic()
        self.stopping = True
        try:
            proc.terminate()
            while proc.poll() is None:
                if time.monotonic() - began > timeout:
                    proc.kill()  # counted as a failure by the caller: its exit code is -9
                    break
                await asyncio.sleep(0.05)
            self.term_seconds.append(time.monotonic() - began)
            self.term_exit_codes.append(proc.wait())
            self.terms += 1
        finally:
            self.stopping = False

    def stop(self) -> None:
        """At the end, once audited: killed too (a graceful stop here takes over 15 s)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class TcpProxy:
    """A byte pipe from 127.0.0.1:<port> to PostgreSQL. ``cut()`` closes the listener and every
    open connection (so the database is refused, as if it were down); ``restore()`` listens again
    on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()
        self.outages = 0

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.pipes):
            writer.transport.abort()
        self.pipes.clear()
        await self.server.wait_closed()
        self.server = None
        self.outages += 1

    async def close(self) -> None:
        if self.server is not None:
            await self.cut()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.pipes.update((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self.pipes.difference_update((writer, up_writer))


class SqliteLock:
    """Another connection holding ``BEGIN EXCLUSIVE`` on the SQLite file: every writer waits (up to
    its busy timeout) and then fails with "database is locked"."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.outages = 0

    async def hold(self, seconds: float) -> None:
        taken = threading.Event()

        def _hold() -> None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            try:
                conn.execute("BEGIN EXCLUSIVE")
                taken.set()
                time.sleep(seconds)
                conn.execute("ROLLBACK")
            finally:
                taken.set()
                conn.close()

        self.outages += 1
        await asyncio.to_thread(_hold)
        assert taken.is_set()


@dataclass
class Received:
    message_id: str
    to: str
    subject: str
    body: str


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

    port: int = field(default_factory=free_port)
    messages: list[Received] = field(default_factory=list)
    _controller: Controller | None = None

    def __enter__(self) -> Mailbox:
        kept = self.messages

        class Keep:
            async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                kept.append(
                    Received(
                        message_id=str(message["Message-ID"]),
                        to=", ".join(envelope.rcpt_tos),
                        subject=str(message["Subject"]),
                        body=message.get_content().strip(),
                    )
                )
                return "250 OK"

        self._controller = Controller(Keep(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._controller is not None
        self._controller.stop()
