"""SQLite for the async engine in one trip per statement: aiosqlite, with a cursor that executes and
fetches together.

aiosqlite runs each call on its connection's own thread and hands the result back to the event loop.
SQLAlchemy's adapter makes four such trips for every SELECT (create the cursor, execute, fetch the
rows, close the cursor) and three for every write. Each trip is a queue put, a thread wake-up, a GIL
hand-over and a loop wake-up: about 0.2 ms of CPU on the 2-core machine, so ``SELECT 1`` cost
0.83 ms against asyncpg's 0.39 ms, and an action's dozen statements spent a few milliseconds on
trips alone (bench/README.md).

``Cursor`` does a statement's work in one trip: it creates the sqlite3 cursor, executes, reads the
first ``BATCH`` rows and, when that was all of them, closes the cursor, then answers with the rows,
``description``, ``rowcount`` and ``lastrowid``. A longer result (a streamed export) fetches the rest
in further trips, as aiosqlite would. Every sqlite3 call still runs on the connection's thread, in
the order it was asked for, so transactions and errors behave exactly as with aiosqlite.

``make_engine`` plugs it in through SQLAlchemy's ``async_creator_fn``: the dialect works out the
connection's arguments (the file, the busy timeout, its connection factory) as it always does.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, TypeVar

import aiosqlite

BATCH = 256
"""Rows fetched in the statement's own trip; a longer result costs a trip per further batch."""

T = TypeVar("T")
_Outcome = tuple[list[Any], bool, Any, int, int | None, sqlite3.Cursor | None]


class Cursor:
    """The aiosqlite cursor interface SQLAlchemy's adapter uses, a trip per statement."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None  # open only while rows are left to fetch
        self._rows: deque[Any] = deque()
        self._more = False
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _run(self, sql: str, parameters: Any, many: bool) -> _Outcome:
        """On the connection's thread: execute, read the first batch, close when it was all."""
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            rows = cursor.fetchmany(BATCH) if cursor.description else []
        except BaseException:
            cursor.close()
            raise
        more = len(rows) == BATCH
        outcome = (
            rows,
            more,
            cursor.description,
            cursor.rowcount,
            cursor.lastrowid,
            cursor if more else None,
        )
        if not more:
            cursor.close()
        return outcome

    async def _statement(self, sql: str, parameters: Any, *, many: bool) -> Cursor:
        await self.close()  # a cursor executed again drops what its last statement left
        (
            rows,
            self._more,
            self.description,
            self.rowcount,
            self.lastrowid,
            self._cursor,
        ) = await self._connection.run(self._run, sql, parameters, many)
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> Cursor:
        return await self._statement(sql, () if parameters is None else parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Cursor:
        return await self._statement(sql, parameters, many=True)

    async def _fetch(self, size: int | None) -> list[Any]:
        """Up to ``size`` more rows (all with None) from the open cursor, closing it once drained."""
        cursor = self._cursor
        if cursor is None:
            return []

        def fetch() -> list[Any]:
            rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
            if size is None or len(rows) < size:
                cursor.close()
            return rows

        rows = await self._connection.run(fetch)
        if size is None or len(rows) < size:
            self._cursor, self._more = None, False
        return rows

    async def fetchone(self) -> Any:
        if not self._rows and self._more:
            self._rows.extend(await self._fetch(BATCH))
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        size = self.arraysize if size is None else size
        if len(self._rows) < size and self._more:
            self._rows.extend(await self._fetch(max(size - len(self._rows), BATCH)))
        return [self._rows.popleft() for _ in range(min(size, len(self._rows)))]

    async def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        if self._more:
            rows.extend(await self._fetch(None))
        return rows

    async def __aiter__(self) -> AsyncIterator[Any]:
        while (row := await self.fetchone()) is not None:
            yield row

    async def close(self) -> None:
        self._rows.clear()
        cursor, self._cursor, self._more = self._cursor, None, False
        if cursor is not None:
            await self._connection.run(cursor.close)


class Connection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are ``Cursor``: made without a trip, a trip a statement."""

    def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the connection's thread (aiosqlite's queue, in order)."""
        result: T = await self._execute(fn, *args)  # type: ignore[no-untyped-call]
        return result


def connect(database: str, **kwargs: Any) -> Connection:
    """What SQLAlchemy's aiosqlite dialect calls with the arguments it would give ``aiosqlite.connect``."""
    connection = Connection(lambda: sqlite3.connect(database, **kwargs), 64)
    connection._thread.daemon = True  # as the dialect does for its own: never hold the process open
    return connection
