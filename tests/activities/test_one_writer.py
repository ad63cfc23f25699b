"""On SQLite the worker's writers take turns (db.writers), not SQLite's busy handler: a burst of
concurrent writes (escalations falling due together), from this worker and from another process
writing the same database, all land; none waits out the busy timeout. Real database, activities
run in ``ActivityEnvironment``."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from activities.request import RequestActivities
from db import writers
from db.models import RequestEvent
from db.session import make_engine, make_sessionmaker
from tests.activities.test_idempotency import RC, World, activities, open_request, projection, w  # noqa: F401

BURST = 40


async def _burst(*acts: RequestActivities) -> list[BaseException | None]:
    """BURST notes, dealt round-robin to ``acts`` (one per process writing the database)."""
    env = ActivityEnvironment()
    return await asyncio.gather(
        *(
            env.run(acts[seq % len(acts)].project, projection(RC, "note_added", seq))
            for seq in range(2, 2 + BURST)
        ),
        return_exceptions=True,
    )


async def _events(w: World) -> int:  # noqa: F811
    async with w.sessionmaker() as session:
        return await session.scalar(select(func.count()).where(RequestEvent.request_id == RC)) or 0


async def test_a_burst_of_writes_all_land_with_no_wait_for_the_sqlite_lock(w: World, db_url: str) -> None:  # noqa: F811
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL takes concurrent writers itself")
    await open_request(w, w.inactive)
    # SQLite's own wait for the lock all but gone: a writer that finds it taken fails at once. Two
    # engines on one file stand for two processes (the API and a worker, or two workers): each
    # has its own queue, and they meet at the file lock.
    engines = [make_engine(db_url, sqlite_busy_timeout=0.001) for _ in range(2)]
    for engine in engines:
        writers.register(engine, timeout=30.0)  # the turn itself waits as long as it takes
    try:
        unguarded = [activities(make_sessionmaker(engine)) for engine in engines]
        for acts in unguarded:
            acts._bind = None  # what the worker did before: every writer straight to SQLite
        failed = [r for r in await _burst(*unguarded) if r is not None]
        assert failed and all("database is locked" in str(r) for r in failed)  # the burst collides

        results = await _burst(*(activities(make_sessionmaker(engine)) for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()

    assert results == [None] * BURST  # every write landed: retried ones write nothing twice
    assert await _events(w) == 1 + BURST  # 'created' and each note once
