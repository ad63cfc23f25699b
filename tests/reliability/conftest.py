"""The fault suite's scale (a light pass in `make test`, the full one in `make prove`) and the
table of figures printed at the end of the run."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from settings import ROOT
from tests.conftest import database_kind
from tests.reliability.report import Result, table
from tests.reliability.rig import Rig, Scale, build_rig

FULL = os.environ.get("RELIABILITY") == "full"

SCALE = (
    Scale(
        requests=150,
        arrival_every=0.5,
        concurrency=60,
        think=(0.5, 2.0),
        first_fault=8.0,
        fault_every=20.0,
        worker_uptime=(3.0, 6.0),
        max_worker_kills=1000,
        dev_server_restarts=2,
        outage_seconds=10.0,
        load_timeout=900.0,
        settle_timeout=180.0,
    )
    if FULL
    else Scale(
        requests=20,
        arrival_every=0.4,
        concurrency=20,
        think=(0.2, 0.8),
        first_fault=3.0,
        fault_every=8.0,
        worker_uptime=(3.0, 5.0),
        max_worker_kills=2,
        dev_server_restarts=1,
        outage_seconds=6.0,
        load_timeout=240.0,
        settle_timeout=90.0,
    )
)

ARTIFACTS = ROOT / "tests" / "artifacts" / "reliability"
RESULTS: list[Result] = []


@pytest.fixture
def scale() -> Scale:
    return SCALE


@pytest.fixture
async def rig(
    request: pytest.FixtureRequest, tmp_path: Path, db_url: str, sessionmaker: Any
) -> AsyncIterator[Rig]:
    try:
        async with build_rig(tmp_path, db_url, sessionmaker, SCALE) as built:
            yield built
    finally:
        _keep_logs(tmp_path, ARTIFACTS / f"{request.node.name}-{database_kind()}")


def _keep_logs(var_dir: Path, runs: Path, keep: int = 5) -> None:
    """The worker's and the dev server's logs and the evidence of what went wrong (one file per
    request: the client's attempts, the timeline, the workflow history), kept beyond pytest's
    temporary directories: one directory per run, the last ``keep`` runs (a failure that happens
    once in a while is not overwritten by the next, passing run)."""
    kept = runs / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    kept.mkdir(parents=True, exist_ok=True)
    for log in var_dir.glob("*.log"):
        shutil.copyfile(log, kept / log.name)
    if (var_dir / "evidence").is_dir():
        shutil.copytree(var_dir / "evidence", kept / "evidence", dirs_exist_ok=True)
    for old in sorted(p for p in runs.iterdir() if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def record(result: Result) -> list[str]:
    """Keep the scenario's figures for the table; return what must be zero and is not."""
    RESULTS.append(result)
    return result.violations()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if RESULTS:
        mode = "full (make prove)" if FULL else "light"
        terminalreporter.write_sep("=", f"fault suite — {mode} — database {database_kind()}")
        terminalreporter.write_line(table(RESULTS))
