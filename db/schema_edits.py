"""Schema edits Alembic's operations cannot make in place on both databases.

``replace_check``: swap the list of values a CHECK constraint admits (the portable enums of
``db.base.str_enum``). PostgreSQL drops and re-adds the constraint. SQLite cannot alter one, and a
batch copy of a table would trip the triggers that name it (``requests``' search text), so there it
edits the table's stored definition in place — SQLite's documented procedure for changing CHECK
constraints (https://www.sqlite.org/lang_altertable.html, "making other kinds of table schema
changes"). Only for widening (or for narrowing after the rows outside were rewritten): the
database does not re-check existing rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


def in_list(column: str, values: Sequence[str]) -> str:
    """The SQL of ``column IN ('a', 'b')``, spelled as SQLAlchemy spells an enum's check."""
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def replace_check(table: str, name: str, old: str, new: str) -> None:
    """Replace the CHECK constraint ``name`` on ``table``, whose SQL is ``old``, by ``new``."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({new})")
        return
    found = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    )
    sql = found.scalar_one()
    if old not in sql:
        raise RuntimeError(f"{table}'s {name} is not the expected check: {old}")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t"),
        {"sql": sql.replace(old, new), "t": table},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))
