"""Nightly dunning on the dev server over a real database: a seeded book gets exactly the expected
requests, a second run of the cycle creates none, and the schedule survives worker restarts."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from sqlalchemy import select
from temporalio.client import Client, ScheduleDescription
from temporalio.service import RPCError

from db.models import Consumer, DunningRun, ServiceRequest
from domain.disconnection.dunning import DunningRunStatus, SkipReason
from domain.request.types import RequestType
from settings import Settings
from tests.workflows.conftest import World
from tests.workflows.dunning_book import seed_book
from worker import start_schedules
from workflows.dunning import DunningWorkflow
from workflows.dunning_schemas import DunningProgress, DunningStart, schedule_id
from workflows.schedules import schedule_times


async def _run(world: World, prefix: str, batch_size: int = 2) -> DunningProgress:
    return await world.env.client.execute_workflow(
        DunningWorkflow.run,
        DunningStart(workflow_id_prefix=prefix, batch_size=batch_size),
        id=f"{prefix}dunning-run-{uuid.uuid4().hex[:8]}",
        task_queue=world.task_queue,
    )


async def test_dunning_creates_the_expected_requests_once(world: World) -> None:
    prefix = f"{world.task_queue}/"
    async with world.sessionmaker() as session:
        book = await seed_book(session)
        await session.commit()
    already = await world.start_request(consumer=book.already_open, reason="Moving out")

    first = await _run(world, prefix)

    assert len(first.created_requests) == 2
    async with world.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(ServiceRequest).where(ServiceRequest.request_id.in_(first.created_requests))
            )
        ).all()
        assert {r.consumer_id for r in rows} == book.expected
        for row in rows:
            assert row.request_type is RequestType.DISCONNECTION
            assert row.reason == "Non-payment"
            assert row.created_by is None  # the system
            assert row.idempotency_key == f"dunning-{first.policy.cycle.isoformat()}-{row.consumer_id}"
            locked = await session.get(Consumer, row.consumer_id)
            assert locked is not None and locked.locked_by_request == row.request_id
    for request_id in first.created_requests:
        await world.wait_for_claim(request_id)  # its request workflow started and wrote 'created'
        world.started.append(world.env.client.get_workflow_handle(f"{prefix}{request_id}"))
        assert (await world.events(request_id))[0] == "created"
    assert first.found == 5  # due, due_collection, protected, service_off, already_open
    assert first.skipped == {SkipReason.PROTECTED: 1, SkipReason.SERVICE_OFF: 1, SkipReason.ALREADY_OPEN: 1}
    assert already.request_id not in first.created_requests

    second = await _run(world, prefix, batch_size=100)

    assert second.created_requests == []
    assert second.found == 5
    assert second.skipped == {
        SkipReason.ALREADY_CREATED: 2, SkipReason.PROTECTED: 1, SkipReason.SERVICE_OFF: 1,
        SkipReason.ALREADY_OPEN: 1,
    }  # fmt: skip
    async with world.sessionmaker() as session:
        dunned = (
            await session.scalars(select(ServiceRequest).where(ServiceRequest.reason == "Non-payment"))
        ).all()
        assert len(dunned) == 2
        runs = (await session.scalars(select(DunningRun).order_by(DunningRun.id))).all()
    assert [r.status for r in runs] == [DunningRunStatus.COMPLETED] * 2
    assert runs[0].created == 2 and runs[0].created_requests == first.created_requests
    assert runs[0].skipped == {"protected": 1, "service_off": 1, "already_open": 1}
    assert runs[1].created == 0 and runs[1].skipped["already_created"] == 2


def _times(described: ScheduleDescription) -> list[str]:
    """When the schedule runs, as the server holds it (it turns a cron expression into calendars)."""
    return schedule_times(described.schedule.spec)


async def _schedule_ids(client: Client, sid: str) -> list[str]:
    return [s.id async for s in await client.list_schedules() if s.id == sid]


async def test_the_schedule_survives_restarts_and_is_never_duplicated(world: World) -> None:
    client = world.env.client
    prefix = f"{world.task_queue}/"
    settings = Settings(workflow_id_prefix=prefix, temporal_task_queue=world.task_queue)
    sid = schedule_id(prefix)
    handle = client.get_schedule_handle(sid)
    try:
        # two workers starting at once: one creates, the other updates; neither fails
        await asyncio.gather(*(start_schedules(client, settings, world.sessionmaker) for _ in range(2)))
        described = await handle.describe()
        assert _times(described) == ["02:00"]
        assert described.schedule.spec.time_zone_name == "America/New_York"  # the profile's zone
        assert described.schedule.policy.overlap.name == "SKIP"
        await handle.pause(note="Paused by supervisor")

        # a restart with a new time: updated in place, still paused
        moved = Settings(
            workflow_id_prefix=prefix, temporal_task_queue=world.task_queue,
            dunning_cron="30 3 * * *", dunning_time_zone="America/Chicago",
        )  # fmt: skip
        await start_schedules(client, moved, world.sessionmaker)
        described = await handle.describe()
        assert _times(described) == ["03:30"]
        assert described.schedule.spec.time_zone_name == "America/Chicago"
        assert described.schedule.state.paused and described.schedule.state.note == "Paused by supervisor"
        for _ in range(100):  # the list is eventually consistent
            if found := await _schedule_ids(client, sid):
                break
            await asyncio.sleep(0.1)
        assert found == [sid]

        # turned off: the next start deletes it
        await start_schedules(
            client, Settings(workflow_id_prefix=prefix, dunning_enabled=False), world.sessionmaker
        )
        try:
            await handle.describe()
            raise AssertionError("the schedule is still there")
        except RPCError as exc:
            assert "not found" in exc.message.lower()
    finally:
        with contextlib.suppress(RPCError):
            await handle.delete()
