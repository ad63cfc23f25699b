"""Apply or roll back Alembic migrations from code (the CLI, the dev stack and the tests use this)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from db.session import make_engine
from settings import ROOT

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """Alembic's config; works from a checkout (alembic.ini) and from an installed package alike."""
    ini = ROOT / "alembic.ini"
    cfg = Config(str(ini)) if ini.exists() else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


async def _run(url: str, fn: object, *args: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:

            def _call(sync_conn: Connection) -> None:
                cfg = alembic_config(url)
                cfg.attributes["connection"] = sync_conn
                fn(cfg, *args)  # type: ignore[operator]

            await conn.run_sync(_call)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    await _run(url, command.upgrade, revision)


async def refresh_statistics(url: str) -> None:
    """ANALYZE: the planner's row counts and value spreads. PostgreSQL's autovacuum keeps them
    fresh; SQLite keeps none until told, and without them it picks, for example, the status
    index and then sorts 90,000 history rows instead of walking the creation-date index (600 ms
    against 10). ``connectdesk migrate`` runs this after every upgrade, the seeder after seeding."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str = "base") -> None:
    await _run(url, command.downgrade, revision)


async def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


def head_revision(url: str = "") -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]
