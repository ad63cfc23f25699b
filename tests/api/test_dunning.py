"""The dunning endpoints: runs listed, run now, pause and resume, for supervisors and admins only;
idempotent writes; no schedule is 409 and Temporal down is 503 + Retry-After."""

from __future__ import annotations

import asyncio
import contextlib

from temporalio.service import RPCError

from settings import Settings
from tests.api.conftest import ApiFactory, Stack, auth
from tests.workflows.dunning_book import seed_book
from worker import start_schedules
from workflows.dunning_schemas import schedule_id

RUNS = "/api/v1/admin/dunning-runs"
SCHEDULE = "/api/v1/admin/dunning-schedule"


async def test_run_now_pause_resume_and_the_runs(stack: Stack, dev_env: object, task_queue: str) -> None:
    client = dev_env.client  # type: ignore[attr-defined]
    prefix = f"{task_queue}/"
    handle = client.get_schedule_handle(schedule_id(prefix))
    async with stack.sessionmaker() as session:
        await seed_book(session)
        await session.commit()
    await start_schedules(
        client, Settings(workflow_id_prefix=prefix, temporal_task_queue=task_queue), stack.sessionmaker
    )
    sup = stack.as_("supervisor")
    try:
        for role in ("csr",):
            for method, url in (
                ("GET", RUNS),
                ("POST", RUNS),
                ("GET", SCHEDULE),
                ("POST", f"{SCHEDULE}/pause"),
            ):
                refused = await stack.client.request(method, url, headers=stack.as_(role))
                assert refused.status_code == 403, (method, url)
                assert refused.headers["content-type"] == "application/problem+json"

        shown = await stack.client.get(SCHEDULE, headers=sup)
        assert shown.status_code == 200, shown.text
        assert shown.json()["paused"] is False and shown.json()["times"] == ["02:00"]

        paused = await stack.client.post(f"{SCHEDULE}/pause", headers=sup | {"Idempotency-Key": "p-1"})
        assert paused.status_code == 200 and paused.json()["paused"] is True
        assert "supervisor" in paused.json()["note"]
        again = await stack.client.post(f"{SCHEDULE}/pause", headers=sup | {"Idempotency-Key": "p-1"})
        assert again.json() == paused.json() and again.headers["Idempotent-Replayed"] == "true"
        resumed = await stack.client.post(f"{SCHEDULE}/resume", headers=stack.as_("admin"))
        assert resumed.status_code == 200 and resumed.json()["paused"] is False

        started = await stack.client.post(RUNS, headers=sup | {"Idempotency-Key": "run-1"})
        assert started.status_code == 202, started.text
        for _ in range(200):
            page = (await stack.client.get(RUNS, headers=sup)).json()
            if page["items"] and page["items"][0]["status"] == "completed":
                break
            await asyncio.sleep(0.1)
        assert page["total"] == 1
        run = page["items"][0]
        # the book's already_open consumer has no open request here: it gets one too
        assert run["created"] == 3 and len(run["created_requests"]) == 3
        assert run["skipped"] == {"protected": 1, "service_off": 1}
        for request_id in run["created_requests"]:
            detail = await stack.client.get(f"/api/v1/requests/{request_id}", headers=sup)
            assert detail.status_code == 200 and detail.json()["reason"] == "Non-payment"
        replay = await stack.client.post(RUNS, headers=sup | {"Idempotency-Key": "run-1"})
        assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"

        signed_in = await stack.client.post(
            "/api/v1/auth/session", json={"username": "supervisor", "password": "pass-word"}
        )
        assert signed_in.status_code in (200, 204), signed_in.text
        page = await stack.client.get("/dunning")
        assert page.status_code == 200
        assert run["created_requests"][0] in page.text and "Pause" in page.text
    finally:
        with contextlib.suppress(RPCError):
            await handle.delete()
        for request_id in run["created_requests"] if "run" in locals() else []:
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(f"{prefix}{request_id}").terminate(reason="test finished")

    gone = await stack.client.post(RUNS, headers=sup)
    assert gone.status_code == 409 and gone.headers["content-type"] == "application/problem+json"
    assert "turned off" in gone.json()["detail"]


async def test_temporal_down_is_503_with_retry_after(
    api_client_for: ApiFactory, db_url: str, staff: dict[str, object]
) -> None:
    async with api_client_for(
        database_url=db_url, temporal_address="127.0.0.1:9", temporal_rpc_timeout_seconds=0.5
    ) as client:
        for method, url in (("GET", SCHEDULE), ("POST", RUNS), ("POST", f"{SCHEDULE}/pause")):
            answer = await client.request(method, url, headers=auth(staff["supervisor"]))
            assert answer.status_code == 503, (method, url, answer.text)
            assert answer.headers["Retry-After"] and answer.json()["dependency"] == "temporal"
        listed = await client.get(RUNS, headers=auth(staff["supervisor"]))
        assert listed.status_code == 200 and listed.json()["items"] == []
