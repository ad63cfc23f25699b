"""``INSERT … ON CONFLICT DO NOTHING`` for whichever database the session is on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Any) -> Any:
    """A dialect insert that supports ``on_conflict_do_nothing``."""
    assert session.bind is not None  # every session here is bound to the app's engine
    return dialect_insert(session.bind.dialect.name, table)


def dialect_insert(dialect: str, table: Any) -> Any:
    """``insert_for`` by the dialect's name, for a statement built once and kept."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
