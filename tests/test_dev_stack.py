"""`connectdesk dev` starts the whole embedded stack, answers /readyz, stops cleanly and keeps its data."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("dev_stack")

CLI = [sys.executable, "-m", "cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTDESK_")}
    env.update(
        CONNECTDESK_VAR_DIR=str(var_dir),
        CONNECTDESK_TEMPORAL_ADDRESS=f"127.0.0.1:{_free_port()}",
        CONNECTDESK_TEMPORAL_UI_PORT=str(_free_port()),
        CONNECTDESK_API_PORT=str(_free_port()),
        CONNECTDESK_SEED_CONSUMERS="40",
    )
    env.update(extra)
    return env


def _ready(url: str, proc: subprocess.Popen[str], timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    status = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                status = response.status
                if status == 200:
                    return status
        except OSError:
            pass
        time.sleep(0.5)
    return status


def _run_until_ready_then_interrupt(env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.Popen(
        [*CLI, "dev"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        status = _ready(f"http://127.0.0.1:{env['CONNECTDESK_API_PORT']}/readyz", proc)
        assert status == 200, f"/readyz never answered 200 (last {status})"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, output


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _consumers(var_dir: Path) -> int:
    with sqlite3.connect(var_dir / "connectdesk.db") as conn:
        return int(conn.execute("SELECT count(*) FROM consumers").fetchone()[0])


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")), reason="the embedded stack runs on SQLite")
def test_dev_stack_starts_answers_ready_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    env = _env(tmp_path)

    code, output = _run_until_ready_then_interrupt(env)

    assert code == 0, output
    assert "ConnectDesk is running" in output and "Demo logins" in output
    temporal_port = int(env["CONNECTDESK_TEMPORAL_ADDRESS"].rsplit(":", 1)[1])
    for port in (temporal_port, int(env["CONNECTDESK_API_PORT"]), int(env["CONNECTDESK_TEMPORAL_UI_PORT"])):
        assert _port_free(port), f"port {port} still answers after Ctrl-C"
    assert _consumers(tmp_path) == 40
    assert (tmp_path / "temporal.db").exists()
    secret = tmp_path / "jwt_secret"  # made on the first start, for the owner's eyes only
    assert secret.stat().st_mode & 0o777 == 0o600
    first_secret = secret.read_text()

    code, output = _run_until_ready_then_interrupt(_env(tmp_path))

    assert code == 0, output
    assert "keeping it" in output
    assert _consumers(tmp_path) == 40
    assert secret.read_text() == first_secret  # kept across restarts: sessions survive them


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*CLI, "dev"],
            env=_env(tmp_path, CONNECTDESK_API_PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is already in use (CONNECTDESK_API_PORT)" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_wrong_setting_names_the_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "migrate"],
        env=_env(tmp_path, CONNECTDESK_API_PORT="eighty"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Invalid setting CONNECTDESK_API_PORT" in result.stderr
    assert "Traceback" not in result.stderr
