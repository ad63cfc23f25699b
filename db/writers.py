"""SQLite's writers take turns in the order they asked, across processes, instead of polling for the
lock in SQLite's busy handler.

SQLite lets one connection write at a time. A writer that finds the lock taken waits in the busy
handler, which sleeps and tries again: 1, 2, 5, 10, 15, 20, 25 ms and then 25 to 100 ms between
tries. Whoever tries at the moment the lock comes free wins it, so a writer that has waited a while
(and sleeps 100 ms between tries) loses to each newcomer (trying every few ms): under 16 concurrent
lifecycles the API's creates and the worker's projections waited up to 1.1 s for a lock held a few
ms at a time (bench/README.md), the whole tail of the p99.

A turn is two locks. In each process, writers queue on an ``asyncio.Lock`` (first come, first
served, woken the moment the previous writer is done). The writer at its head takes an exclusive
``flock`` on ``<database>-writer`` next to the database file: every process that writes through a
turn (the API, each worker) shares it. The head tries that lock every millisecond, the only one in
its process to do so, so at most one poll per process per millisecond. The kernel drops a
process's ``flock`` when it dies, so a writer killed mid-transaction never blocks the others. A
writer that does not take a turn still writes safely: SQLite's own lock decides, as before.

PostgreSQL takes concurrent writers itself: no turns there (``turn`` is a no-op).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator
from time import monotonic

from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

POLL = 0.001
"""Seconds between the head writer's tries for the file lock."""


class Turns:
    """The writers' queue of one SQLite database in this process."""

    def __init__(self, database: str | None, timeout: float) -> None:
        self.path = f"{database}-writer" if database else None  # None: in memory, this process only
        self.timeout = timeout
        self._queue = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the turn: begin the write transaction inside, and commit or roll back before leaving.

        Raises OperationalError ("database is locked", as SQLite would) when the turn has not come
        within ``timeout`` seconds: the caller answers 503, or its activity is retried.
        """
        deadline = monotonic() + self.timeout
        try:
            await asyncio.wait_for(self._queue.acquire(), timeout=self.timeout)
        except TimeoutError:
            raise _locked(self.timeout) from None
        try:
            if self.path is None:
                yield
                return
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                await _flock(fd, deadline, self.timeout)
                yield
            finally:
                os.close(fd)  # drops the flock
        finally:
            self._queue.release()


async def _flock(fd: int, deadline: float, timeout: float) -> None:
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if monotonic() >= deadline:
                raise _locked(timeout) from None
            await asyncio.sleep(POLL)


def _locked(timeout: float) -> OperationalError:
    return OperationalError(
        None, None, sqlite3.OperationalError(f"database is locked (no writer's turn within {timeout:g} s)")
    )


_TURNS: weakref.WeakKeyDictionary[Engine, Turns] = weakref.WeakKeyDictionary()


def register(engine: AsyncEngine, timeout: float) -> None:
    """Give ``engine`` (SQLite) its writers' queue; ``db.session.make_engine`` calls this."""
    database = make_url(engine.url).database
    _TURNS[engine.sync_engine] = Turns(None if database in (None, "", ":memory:") else database, timeout)


def turn(bind: AsyncEngine | None) -> contextlib.AbstractAsyncContextManager[None]:
    """A writer's turn on ``bind``'s database; nothing to wait for on PostgreSQL (or without a bind)."""
    turns = _TURNS.get(bind.sync_engine) if bind is not None else None
    return turns.turn() if turns is not None else contextlib.nullcontext()
