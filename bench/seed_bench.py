"""Time the demo-data seeder on a fresh database and record rows/s per table.

    python bench/seed_bench.py --consumers 100000                  # temp SQLite file
    python bench/seed_bench.py --consumers 100000 --postgres       # fresh PostgreSQL database
    python bench/seed_bench.py --database-url postgresql+asyncpg://user@host/empty_db

The database is migrated first (not timed as seeding). Results are printed and merged into
bench/results/seed.json under the database kind, so SQLite and PostgreSQL figures sit side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

from _support import add_database_options, fresh_database, machine, new_parser, save_results
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.migrate import upgrade
from db.seed import SeedSummary, seed
from db.session import make_engine

TARGET_SECONDS = 120.0


async def _server_version(url: str) -> str:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            query = "SELECT version()" if engine.dialect.name == "postgresql" else "SELECT sqlite_version()"
            return str((await conn.execute(text(query))).scalar_one())
    finally:
        await engine.dispose()


async def _run(url: str, consumers: int, seed_value: int, quiet: bool) -> tuple[SeedSummary, float, str]:
    began = perf_counter()
    await upgrade(url)
    migrate_seconds = perf_counter() - began
    version = await _server_version(url)

    engine = make_engine(url)
    try:
        if quiet:
            return await seed(engine, consumers=consumers, seed=seed_value), migrate_seconds, version
        with Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            refresh_per_second=4,
        ) as bar:
            tasks: dict[str, Any] = {}

            def progress(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total or 1)
                bar.update(tasks[phase], completed=done if total else 1)

            summary = await seed(engine, consumers=consumers, seed=seed_value, progress=progress)
        return summary, migrate_seconds, version
    finally:
        await engine.dispose()


def _report(kind: str, summary: SeedSummary, migrate_seconds: float) -> dict[str, Any]:
    table = Table(title=f"seed on {kind}: {summary.rows['consumers']:,} consumers")
    for column in ("table", "rows", "insert s", "rows/s"):
        table.add_column(column, justify="left" if column == "table" else "right")
    phases: dict[str, dict[str, float]] = {}
    for name, rows in summary.rows.items():
        seconds = summary.insert_seconds.get(name, 0.0)
        rate = rows / seconds if seconds else 0.0
        phases[name] = {"rows": rows, "insert_seconds": round(seconds, 3), "rows_per_second": round(rate)}
        table.add_row(name, f"{rows:,}", f"{seconds:.2f}", f"{rate:,.0f}" if seconds > 0.01 else "-")
    inserting = sum(summary.insert_seconds.values())
    generating = summary.seconds - inserting
    table.add_section()
    table.add_row("inserting", "", f"{inserting:.2f}", f"{summary.total_rows / inserting:,.0f}")
    table.add_row("generating, hashing", "", f"{generating:.2f}", "")
    table.add_row(
        "total",
        f"{summary.total_rows:,}",
        f"{summary.seconds:.2f}",
        f"{summary.total_rows / summary.seconds:,.0f}",
    )
    console = Console()
    console.print(table)
    verdict = "[green]under" if summary.seconds < TARGET_SECONDS else "[red]OVER"
    console.print(f"{verdict} the {TARGET_SECONDS:.0f} s target[/] (migrations took {migrate_seconds:.2f} s)")
    return {
        "consumers": summary.rows["consumers"],
        "total_rows": summary.total_rows,
        "seconds": round(summary.seconds, 3),
        "rows_per_second": round(summary.total_rows / summary.seconds),
        "insert_seconds": round(inserting, 3),
        "other_seconds": round(generating, 3),
        "migrate_seconds": round(migrate_seconds, 3),
        "phases": phases,
    }


async def _bench(args: argparse.Namespace, sqlite_path: Path) -> tuple[str, SeedSummary, float, str]:
    """Pick or create the database, then migrate and seed it; a database created here is dropped after."""
    async with fresh_database(
        sqlite_path=sqlite_path, prefix="seed_bench", postgres=args.postgres,
        database_url=args.database_url, admin_url=args.admin_url, keep=args.keep,
    ) as url:  # fmt: skip
        summary, migrate_seconds, version = await _run(url, args.consumers, args.seed, args.quiet)
    return make_url(url).get_backend_name(), summary, migrate_seconds, version


def main() -> int:
    parser = new_parser(__doc__)
    parser.add_argument("--consumers", type=int, default=100_000)
    add_database_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args()

    load_before = os.getloadavg()  # other work on the machine skews the figures; record it
    with tempfile.TemporaryDirectory(prefix="seed-bench-") as tmp:
        sqlite_path = Path(tmp) / "seed.db"
        kind, summary, migrate_seconds, version = asyncio.run(_bench(args, sqlite_path))
        result = _report(kind, summary, migrate_seconds)
        if not (args.database_url or args.postgres):
            result["database_bytes"] = sum(p.stat().st_size for p in Path(tmp).glob("seed.db*"))
    result.update({"server_version": version, **machine(load_before, os.getloadavg())})
    path = save_results("seed", kind, result)
    print(f"results: {path} [{kind}]")
    return 0  # a missed target is printed and recorded, never an exit status


if __name__ == "__main__":
    sys.exit(main())
