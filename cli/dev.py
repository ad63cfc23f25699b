"""The embedded dev stack: Temporal dev server, worker and API as child processes.

Children run in their own process groups so a Ctrl-C reaches only this supervisor, which then
stops them in reverse order (API, worker, Temporal) and waits for each.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from rich.panel import Panel

from cli.binaries import temporal_cli
from cli.config import console, err_console, require_free_ports
from settings import ROOT, MissingSecret, Settings, secret_weakness
from workflows import search_attributes

STOP_TIMEOUT = 15.0
SECRET_FILE = "jwt_secret"


def dev_signing_secret(var_dir: Path) -> str:
    """The dev stack's JWT signing secret: made at random into ``var_dir/jwt_secret`` (mode 0600) on
    the first start, read back on every later one, so sessions survive a restart. Refuses (SystemExit)
    a file someone replaced with a weak value."""
    path = var_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)  # whoever copied it around, only its owner reads it
        secret = path.read_text().strip()
        if weakness := secret_weakness(secret):
            raise SystemExit(
                f"{path} {weakness}; delete the file and start again to get a new one."
            ) from None
        return secret
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return secret


def signing_env(settings: Settings) -> dict[str, str]:
    """Environment for the API child: the configured keys, else the dev stack's own secret."""
    try:
        settings.jwt_keyring  # noqa: B018 - raises MissingSecret
        return {}
    except MissingSecret:
        console.print(f"signing sign-ins with the dev stack's own key ({settings.var_dir / SECRET_FILE})")
        return {"CONNECTDESK_JWT_SECRET": dev_signing_secret(settings.var_dir)}


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path | None = None


@dataclass
class Stack:
    children: list[Child] = field(default_factory=list)

    def start(
        self, name: str, args: list[str], log: Path | None = None, env: dict[str, str] | None = None
    ) -> Child:
        out = open(log, "ab") if log else None  # noqa: SIM115 — the child owns it for its lifetime
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            stdout=out or None,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        child = Child(name, proc, log)
        self.children.append(child)
        return child

    def failed(self) -> Child | None:
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.proc.poll() is None:
                console.print(f"stopping {child.name} …")
                child.proc.send_signal(signal.SIGTERM)
                try:
                    child.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    err_console.print(f"{child.name} did not stop in {STOP_TIMEOUT:.0f}s; killing it")
                    child.proc.kill()
                    child.proc.wait()


def _tail(path: Path | None, lines: int = 15) -> str:
    if not path or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _wait_http(url: str, stack: Stack, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.failed():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    return False


def _wait_temporal(settings: Settings, stack: Stack, timeout: float) -> bool:
    from temporalio.client import Client

    async def probe() -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stack.failed():
                return False
            try:
                client = await Client.connect(
                    settings.temporal_address, namespace=settings.temporal_namespace
                )
                await client.service_client.check_health()
                return True
            except Exception:
                await asyncio.sleep(0.25)
        return False

    return asyncio.run(probe())


def temporal_args(settings: Settings) -> list[str]:
    host = settings.temporal_address.rsplit(":", 1)[0]
    return [
        str(temporal_cli()),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--namespace",
        settings.temporal_namespace,
        "--db-filename",
        str(settings.var_dir / "temporal.db"),
        "--sqlite-pragma",
        "journal_mode=WAL",
        "--sqlite-pragma",
        "synchronous=NORMAL",
        "--log-level",
        "warn",
        *search_attributes.cli_flags(),
    ]


def run_dev_stack(settings: Settings) -> int:
    from cli.main import run_seed
    from db.migrate import refresh_statistics, upgrade

    temporal_host = settings.temporal_address.rsplit(":", 1)[0]
    require_free_ports(
        {
            "CONNECTDESK_TEMPORAL_ADDRESS": (temporal_host, settings.temporal_port),
            "CONNECTDESK_TEMPORAL_UI_PORT": (temporal_host, settings.temporal_ui_port),
            "CONNECTDESK_API_PORT": (settings.api_host, settings.api_port),
        }
    )
    settings.var_dir.mkdir(parents=True, exist_ok=True)

    console.print(f"[bold]ConnectDesk dev stack[/] — data in {settings.var_dir}")
    readable = {"CONNECTDESK_LOG_FORMAT": os.environ.get("CONNECTDESK_LOG_FORMAT", "text")}  # a terminal
    api_env = {**signing_env(settings), **readable}
    console.print("applying migrations …")
    asyncio.run(upgrade(settings.db_url))
    if not asyncio.run(run_seed(settings.db_url, settings.seed_consumers, settings.seed, only_if_empty=True)):
        console.print("database already has data; keeping it (no seeding)")
        asyncio.run(refresh_statistics(settings.db_url))

    stack = Stack()
    interrupted = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        console.print("starting Temporal dev server …")
        temporal = stack.start("temporal", temporal_args(settings), log=settings.var_dir / "temporal.log")
        if not _wait_temporal(settings, stack, 60):
            err_console.print(
                "[red]Temporal dev server did not start.[/] Last log lines:\n" + _tail(temporal.log)
            )
            return 1
        console.print("starting worker …")
        stack.start("worker", [sys.executable, str(ROOT / "worker.py")], env=readable)
        console.print("starting API …")
        stack.start(
            "api",
            [
                sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
                "--host", settings.api_host, "--port", str(settings.api_port), "--log-level", "warning",
                "--timeout-graceful-shutdown", "5",  # live-event streams never end by themselves
            ],
            env=api_env,
        )  # fmt: skip
        if not _wait_http(f"{settings.public}/healthz", stack, 60):
            dead = stack.failed()
            err_console.print(f"[red]{dead.name if dead else 'API'} failed to start[/]")
            return 1
        _banner(settings)
        while not interrupted:
            dead = stack.failed()
            if dead:
                err_console.print(
                    f"[red]{dead.name} exited with code {dead.proc.returncode}[/]; stopping the stack"
                )
                return 1
            time.sleep(0.3)
        console.print("\nCtrl-C received")
        return 0
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.print("stopped")


def _banner(settings: Settings) -> None:
    from db.seed import DEMO_USERS

    logins = "\n".join(f"  {role:<11} {user} / {password}" for user, password, role, _ in DEMO_USERS)
    console.print(
        Panel.fit(
            f"[bold]ConnectDesk is running[/]\n\n"
            f"  Web UI        {settings.public}/\n"
            f"  API docs      {settings.public}/docs\n"
            f"  Readiness     {settings.public}/readyz\n"
            f"  Temporal UI   {settings.temporal_ui}\n"
            f"  Temporal gRPC {settings.temporal_address}\n\n"
            f"[bold]Demo logins[/]\n{logins}\n\n"
            "Ctrl-C stops everything; data stays in " + str(settings.var_dir),
            title="ready",
        )
    )
