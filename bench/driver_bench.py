"""What one statement costs the process through each async database driver, in one run.

    python bench/driver_bench.py                 # SQLite: aiosqlite as it comes, and db.sqlite_driver
    python bench/driver_bench.py --postgres      # and asyncpg on a fresh PostgreSQL database

A small table in a temp SQLite file (and the same in PostgreSQL), then, for each engine, the same
statements one at a time through an AsyncSession, as the API and the worker send them: ``SELECT 1``,
one row by primary key (ORM entity), 20 rows (ORM entities), and an UPDATE committed. Printed: CPU
per statement (user + system of this process, all its threads, microseconds), wall time per
statement, and the trips each statement makes to the SQLite connection's thread. The limit is
asyncpg, whose connection lives on the event loop and needs no trips.

Results are merged into bench/results/driver.json under the database kind.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

from _support import add_database_options, fresh_database, machine, ms, new_parser, save_results
from rich.console import Console
from rich.table import Table
from sqlalchemy import String, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.session import make_engine, make_sessionmaker


class Base(DeclarativeBase):
    pass


class Box(Base):
    __tablename__ = "driver_bench_boxes"
    id: Mapped[int] = mapped_column(primary_key=True)
    shelf: Mapped[int] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]


STATEMENTS: dict[str, Callable[[int], Any]] = {
    "SELECT 1": lambda i: select(1),
    "one row by key (ORM)": lambda i: select(Box).where(Box.id == i % 1000 + 1),
    "20 rows (ORM)": lambda i: select(Box).where(Box.shelf == i % 50),
    "UPDATE, committed": lambda i: update(Box).where(Box.id == i % 1000 + 1).values(size=Box.size + 1),
}


async def _measure(engine: AsyncEngine, n: int) -> dict[str, dict[str, float]]:
    sessionmaker = make_sessionmaker(engine)
    out: dict[str, dict[str, float]] = {}
    async with sessionmaker() as session:
        trips = await _trip_counter(session)
        for name, statement in STATEMENTS.items():
            for warm in (True, False):  # the first pass fills the statement cache
                cpu, wall, sent = process_time(), perf_counter(), len(trips)
                for i in range(n if not warm else 50):
                    result = await session.execute(statement(i))
                    if name.startswith("UPDATE"):
                        await session.commit()
                    else:
                        result.all()
                done = n if not warm else 50
                if not warm:
                    out[name] = {
                        "cpu_us": (process_time() - cpu) * 1e6 / done,
                        "wall_us": (perf_counter() - wall) * 1e6 / done,
                        "trips": (len(trips) - sent) / done if trips is not None else 0.0,
                    }
    return out


async def _trip_counter(session: AsyncSession) -> list[Any]:
    """Counts the calls the session's SQLite connection sends to its thread (none for asyncpg)."""
    raw = (await (await session.connection()).get_raw_connection()).driver_connection
    sent: list[Any] = []
    execute = getattr(raw, "_execute", None)
    if execute is None or session.get_bind().dialect.name != "sqlite":
        return sent

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(fn)
        return await execute(fn, *args, **kwargs)

    raw._execute = counted
    return sent


async def _fill(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(
            Box.__table__.insert(),
            [{"id": i, "shelf": i % 50, "label": f"box {i}", "size": i} for i in range(1, 1001)],
        )


async def bench(args: Any, tmp: Path, console: Console) -> dict[str, Any]:
    load_before = os.getloadavg()
    sqlite_url = f"sqlite+aiosqlite:///{tmp / 'driver.db'}"
    engines: dict[str, AsyncEngine] = {
        # the dialect's own aiosqlite connection (same WAL and pragmas): SQLAlchemy without db.sqlite_driver
        "aiosqlite, as it comes": make_engine(sqlite_url, sqlite_one_trip=False),
        "db.sqlite_driver (make_engine)": make_engine(sqlite_url),
    }
    figures: dict[str, Any] = {}
    async with fresh_database(
        sqlite_path=tmp / "unused.db", prefix="driver_bench", postgres=args.postgres,
        database_url=args.database_url, admin_url=args.admin_url, keep=args.keep,
    ) as url:  # fmt: skip
        if url.startswith("postgresql"):
            engines["asyncpg (the limit)"] = make_engine(url)
        await _fill(engines["db.sqlite_driver (make_engine)"])
        if "asyncpg (the limit)" in engines:
            await _fill(engines["asyncpg (the limit)"])
        for name, engine in engines.items():
            console.print(f"[bold]{name}[/] {args.statements} of each statement …")
            figures[name] = await _measure(engine, args.statements)
            await engine.dispose()

    table = Table(
        title="per statement through an AsyncSession: CPU µs (all threads) / wall µs / trips to the thread"
    )
    table.add_column("statement")
    for name in figures:
        table.add_column(name, justify="right")
    for statement in STATEMENTS:
        cells = []
        for name in figures:
            f = figures[name][statement]
            cells.append(f"{ms(f['cpu_us'])} / {ms(f['wall_us'])} / {f['trips']:g}")
        table.add_row(statement, *cells)
    console.print(table)
    return {"statements": args.statements, "figures": figures, **machine(load_before, os.getloadavg())}


def main() -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--statements", type=int, default=2000, help="times each statement is sent")
    add_database_options(parser)
    args = parser.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 150)
    with tempfile.TemporaryDirectory(prefix="driver-bench-") as tmp:
        result = asyncio.run(bench(args, Path(tmp), console))
    kind = "postgresql" if args.postgres or (args.database_url or "").startswith("postgresql") else "sqlite"
    path = save_results("driver", kind, result)
    print(f"results: {path} [{kind}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
