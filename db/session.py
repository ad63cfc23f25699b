"""Engines and sessions. Commit once, at the boundary of a request or an activity."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

import db.audit  # noqa: F401  (registers the audit log's flush listener on every session)
from db import sqlite_driver, writers

SQLITE_BUSY_TIMEOUT = 30.0
"""Seconds a SQLite writer waits for the write lock before "database is locked"."""


def make_engine(
    url: str, *, sqlite_busy_timeout: float = SQLITE_BUSY_TIMEOUT, sqlite_one_trip: bool = True, **kwargs: Any
) -> AsyncEngine:
    """An async engine; SQLite gets WAL, enforced foreign keys, a busy timeout for concurrent writers,
    a trip to its connection's thread per statement (``db.sqlite_driver``) and a queue for writers
    that take turns (``db.writers``, waiting as long as the busy timeout).

    A caller whose database calls may be cancelled on a deadline (the worker's local activities)
    passes a ``sqlite_busy_timeout`` under that deadline: a write cancelled while it waits inside
    SQLite for the lock can leave its connection holding a transaction, which locks every other
    writer out; one that gives up first fails cleanly, rolls back and is retried.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": sqlite_busy_timeout})
        engine = create_async_engine(url, **kwargs)

        if sqlite_one_trip:  # off only to measure against aiosqlite as it comes (bench/driver_bench.py)
            event.listen(engine.sync_engine, "do_connect", _one_trip_per_statement)
        writers.register(engine, sqlite_busy_timeout)  # writers that take turns (db.writers)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _one_trip_per_statement(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
    """Connect through ``db.sqlite_driver``, with the arguments the dialect worked out for aiosqlite."""
    params["async_creator_fn"] = sqlite_driver.connect


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
