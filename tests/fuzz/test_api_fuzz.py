"""schemathesis over every operation of /openapi.json, against the real app, database and Temporal.

Signed in as an admin, the fuzzer fails a case when the app answers a 5xx, a status the document
does not list for the operation, another content type, a body outside the documented schema, or
a 405 without a true ``Allow``. ``make test`` runs a sample: the examples, fuzzing and stateful
phases (which follows the document's links: create a request, then act on it) with
``FUZZ_MAX_EXAMPLES`` = 5 cases per operation. ``make fuzz`` adds the coverage phase (every
parameter's bounds and wrong types) and raises the cases per operation; ``FUZZ_SEED`` replays a run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.fuzz.conftest import FUZZ_ADMIN, Served

pytestmark = pytest.mark.dev_server

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing,stateful")
MIN_CASES = int(os.environ.get("FUZZ_MIN_CASES", "100"))
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "allow_header_conformance",
)
# Signed in as the fuzz admin through the token endpoint, and again whenever a case answers 401
# (the fuzzer signs itself out too: sign-out ends every token of the user).
CONFIG = f"""
[auth.dynamic.openapi.OAuth2PasswordBearer]
path = "/api/v1/auth/token"
payload = {{ grant_type = "password", username = "{FUZZ_ADMIN[0]}", password = "{FUZZ_ADMIN[1]}" }}
payload_content_type = "application/x-www-form-urlencoded"
extract_selector = "/access_token"
retry_on = [401]
"""


async def _failing_activities(client: Client, task_queue: str) -> list[str]:
    """Activities of this run's workflows that keep failing: a 503 is documented, so the fuzzer
    alone would pass an action whose activity can never succeed and leaves its request stuck."""
    failing = []
    async for execution in client.list_workflows(f"TaskQueue = '{task_queue}'"):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        for activity in (await handle.describe()).raw_description.pending_activities:
            if activity.attempt >= 3:
                failing.append(
                    f"{execution.id}: {activity.activity_type.name}, attempt {activity.attempt}: "
                    f"{activity.last_failure.message}"
                )
    return failing


async def test_every_operation_survives_the_fuzzer(
    served: Served, tmp_path: Path, dev_client: Client, task_queue: str
) -> None:
    seed = int(os.environ.get("FUZZ_SEED") or random.randrange(2**32))
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    report = tmp_path / "report.json"
    args = [
        "--config-file", "schemathesis.toml", "run", f"{served.base_url}/openapi.json",
        "--checks", ",".join(CHECKS), "--phases", PHASES, "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(seed), "--workers", "1", "--request-timeout", "30", "--generation-database", "none",
        "--report", "json", "--report-json-path", str(report), "--no-color",
    ]  # fmt: skip
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    output, _ = await process.communicate()
    elapsed = time.monotonic() - started
    print(output.decode(errors="replace")[-30000:])
    summary = json.loads(report.read_text())
    cases = summary["test_cases"]["generated"]
    print(
        f"fuzz: {cases} cases over {summary['operations']['tested']} operations ({PHASES}), "
        f"{summary['test_cases']['with_failures']} failing, in {elapsed:.0f} s; FUZZ_SEED={seed}"
    )
    assert process.returncode == 0, f"schemathesis found failures; replay with FUZZ_SEED={seed}"
    assert summary["operations"]["tested"] == summary["operations"]["total"]
    assert cases >= MIN_CASES
    assert await _failing_activities(dev_client, task_queue) == []
