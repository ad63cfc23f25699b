"""``connectdesk`` — run and administer ConnectDesk from a terminal."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.config import console, err_console, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

app = typer.Typer(help="ConnectDesk: reconnection and disconnection requests.", no_args_is_help=True)


@app.command()
def migrate(
    revision: str = typer.Argument("head", help="Target revision"),
    down: bool = typer.Option(False, "--down", help="Downgrade to REVISION instead (use 'base' for empty)"),
) -> None:
    """Apply (or roll back) database migrations; after an upgrade, refresh the planner's statistics."""
    from sqlalchemy.engine import make_url

    from db.migrate import current_revision, downgrade, refresh_statistics, upgrade

    settings = load_settings()
    target = "base" if down and revision == "head" else revision
    asyncio.run((downgrade if down else upgrade)(settings.db_url, target))
    if not down:
        asyncio.run(refresh_statistics(settings.db_url))
    now = asyncio.run(current_revision(settings.db_url))
    shown = make_url(settings.db_url).render_as_string(hide_password=True)
    console.print(f"Database {shown} is at revision [bold]{now or 'base (empty)'}[/]")


async def run_seed(url: str, consumers: int, seed: int, *, only_if_empty: bool) -> bool:
    """Seed with a progress bar; returns False when skipped because the database has data."""
    from db.seed import SeedError, is_empty
    from db.seed import seed as seed_data
    from db.session import make_engine

    engine = make_engine(url)
    try:
        if only_if_empty and not await is_empty(engine):
            return False
        with Progress(
            TextColumn("[bold]{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            tasks: dict[str, int] = {}

            def report(phase: str, done: int, total: int) -> None:
                if phase not in tasks:
                    tasks[phase] = progress.add_task(phase, total=total)
                progress.update(tasks[phase], completed=done, total=total)

            try:
                # Dates relative to today, so demo bills and schedules look current.
                summary = await seed_data(
                    engine, consumers=consumers, seed=seed, progress=report, today=date.today()
                )
            except SeedError as exc:
                err_console.print(f"[red]Not seeded:[/] {exc}")
                raise typer.Exit(1) from None
        table = Table("table", "rows", title=f"Seeded in {summary.seconds:.1f} s")
        for name, count in summary.rows.items():
            table.add_row(name, f"{count:,}")
        console.print(table)
        vips = await refresh_vip_flags(engine)
        console.print(f"VIP crown by the configured rule: {vips:,} consumers changed")
        return True
    finally:
        await engine.dispose()


async def refresh_vip_flags(engine: AsyncEngine) -> int:
    """Recompute every consumer's stored VIP flag under the configured rule; how many changed."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from api.consumers.profile import refresh_all_vip

    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        return await refresh_all_vip(session=session, rule=load_settings().vip_rule)


@app.command("refresh-vip")
def refresh_vip() -> None:
    """Recompute every consumer's VIP crown under the configured VIP rule (CONNECTDESK_VIP_*).

    Run it daily (tenure and bills falling due change the rule's inputs with time alone), after
    changing the VIP settings, and once after upgrading to the one-rule VIP flag (the backfill).
    """
    from db.session import make_engine

    async def run() -> int:
        engine = make_engine(load_settings().db_url)
        try:
            return await refresh_vip_flags(engine)
        finally:
            await engine.dispose()

    console.print(f"VIP crown by the configured rule: {asyncio.run(run()):,} consumers changed")


@app.command()
def seed(
    consumers: int = typer.Option(1000, "--consumers", "-n", min=1, help="How many consumers to create"),
    seed_value: int = typer.Option(42, "--seed", help="Random seed; the same seed gives the same data"),
) -> None:
    """Fill an empty, migrated database with deterministic demo data."""
    settings = load_settings()
    asyncio.run(run_seed(settings.db_url, consumers, seed_value, only_if_empty=False))


# Seconds a stopping API process gives in-flight requests; then it ends what is still open — the
# live-event streams, which never finish by themselves (browsers reconnect to another process).
API_SHUTDOWN_GRACE = 30


@app.command()
def api() -> None:
    """Serve the JSON API and the web UI (uvicorn)."""
    import uvicorn

    from cli.config import require_free_ports, require_signing_key

    settings = load_settings()
    require_signing_key(settings)
    require_free_ports({"CONNECTDESK_API_PORT": (settings.api_host, settings.api_port)})
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_dir:  # several processes: each writes its series here, /metrics sums them
        shutil.rmtree(metrics_dir, ignore_errors=True)
        Path(metrics_dir).mkdir(parents=True)
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=settings.api_workers,
        timeout_graceful_shutdown=API_SHUTDOWN_GRACE,  # in-flight requests finish; live streams are cut
        log_config=None,  # the app logs as CONNECTDESK_LOG_FORMAT says (JSON lines by default)
    )


@app.command()
def worker() -> None:
    """Run a Temporal worker for the request workflows."""
    import worker as worker_module

    settings = load_settings()
    sys.exit(asyncio.run(worker_module.main(settings)))


@app.command()
def dev() -> None:
    """The embedded stack: migrate, seed an empty database, start Temporal, the worker and the API."""
    from cli.dev import run_dev_stack

    sys.exit(run_dev_stack(load_settings()))
