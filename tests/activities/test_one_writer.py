"""On SQLite the worker's writers take turns on an in-process lock, not in SQLite's busy handler:
a burst of concurrent writes (escalations falling due together) all land, none waits out the busy
timeout. Real database, activities run in ``ActivityEnvironment``."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from temporalio.testing import ActivityEnvironment

from db.models import RequestEvent
from db.session import make_engine, make_sessionmaker
from tests.activities.test_idempotency import RC, World, activities, open_request, projection, w  # noqa: F401

BURST = 40


async def _burst(acts: object) -> list[BaseException | None]:
    env = ActivityEnvironment()
    return await asyncio.gather(
        *(env.run(acts.project, projection(RC, "note_added", seq)) for seq in range(2, 2 + BURST)),  # type: ignore[attr-defined]
        return_exceptions=True,
    )


async def _events(w: World) -> int:  # noqa: F811
    async with w.sessionmaker() as session:
        return await session.scalar(select(func.count()).where(RequestEvent.request_id == RC)) or 0


async def test_a_burst_of_writes_all_land_with_no_wait_for_the_sqlite_lock(w: World, db_url: str) -> None:  # noqa: F811
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL takes concurrent writers itself")
    await open_request(w, w.inactive)
    # SQLite's own wait for the lock all but gone: a writer that finds it taken fails at once.
    engine = make_engine(db_url, sqlite_busy_timeout=0.001)
    try:
        unguarded = activities(make_sessionmaker(engine))
        unguarded._one_writer = None  # what the worker did before: every writer straight to SQLite
        failed = [r for r in await _burst(unguarded) if r is not None]
        assert failed and all("database is locked" in str(r) for r in failed)  # the burst collides

        guarded = activities(make_sessionmaker(engine))
        results = await _burst(guarded)
    finally:
        await engine.dispose()

    assert results == [None] * BURST  # every write landed: retried ones write nothing twice
    assert await _events(w) == 1 + BURST  # 'created' and each note once
