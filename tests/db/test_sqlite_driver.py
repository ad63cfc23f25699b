"""db/sqlite_driver.py: a statement in one trip to the SQLite connection's thread, with the results,
row counts, errors and transactions aiosqlite gives. Runs on its own SQLite file whatever database
the suite is on: it is the SQLite engine's driver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db import sqlite_driver
from db.session import make_engine, make_sessionmaker

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("size", Integer, nullable=False),
)
MANY = sqlite_driver.BATCH * 2 + 7  # past the first batch and a second one


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(items), [{"name": f"item-{i:04d}", "size": i} for i in range(MANY)])
    yield engine
    await engine.dispose()


async def _trips(session: AsyncSession) -> list[Any]:
    """Every call the session's connection sends to its thread, from now on."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    assert isinstance(raw, sqlite_driver.Connection)
    sent: list[Any] = []
    execute = raw._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(fn)
        return await execute(fn, *args, **kwargs)

    raw._execute = counted  # type: ignore[method-assign]
    return sent


async def test_a_select_and_a_write_each_take_one_trip(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session:
        sent = await _trips(session)

        assert (
            await session.execute(select(items.c.size).where(items.c.name == "item-0005"))
        ).scalar_one() == 5
        assert len(sent) == 1  # aiosqlite: cursor, execute, fetchall, close
        changed = await session.execute(
            update(items).where(items.c.size < 10).values(size=items.c.size + 1000)
        )
        assert changed.rowcount == 10  # type: ignore[attr-defined]
        assert len(sent) == 2


async def test_long_results_arrive_whole_and_in_order(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session:
        everything = (await session.execute(select(items.c.size).order_by(items.c.id))).scalars().all()
        streamed = [
            size
            async for size in (
                await session.stream_scalars(
                    select(items.c.size).order_by(items.c.id).execution_options(yield_per=50)
                )
            )
        ]
        first = (await session.execute(select(items.c.size).order_by(items.c.id))).first()

    assert everything == streamed == list(range(MANY))
    assert first is not None and first[0] == 0


async def test_inserts_give_their_row_ids_and_counts(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session, session.begin():
        added = await session.execute(insert(items).values(name="one more", size=1))
        many = await session.execute(insert(items), [{"name": f"extra-{i}", "size": i} for i in range(3)])
        assert added.inserted_primary_key == (MANY + 1,)
        assert many.rowcount == 3  # type: ignore[attr-defined]
    async with make_sessionmaker(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(items)) == MANY + 4


async def test_a_refused_write_raises_and_the_transaction_rolls_back(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session:
        await session.execute(insert(items).values(name="kept only if committed", size=1))
        with pytest.raises(IntegrityError):
            await session.execute(insert(items).values(name="item-0001", size=2))
        await session.rollback()
        assert await session.scalar(select(func.count()).select_from(items)) == MANY
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
