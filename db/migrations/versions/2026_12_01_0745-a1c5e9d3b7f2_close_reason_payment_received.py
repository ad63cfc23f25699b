"""close reason "Payment received": a payment cancels a pending non-payment disconnection

Revision ID: a1c5e9d3b7f2
Revises: e5b9c3d7f1a2
Create Date: 2026-12-01 07:45:00+00:00

The close reason is a VARCHAR with a CHECK constraint (``ck_requests_close_reason``); this widens
the check. PostgreSQL drops and re-adds it. SQLite cannot alter a constraint, and a batch copy of
``requests`` would trip the search-text triggers that name it, so it edits the table's stored
definition in place — SQLite's documented procedure for changing CHECK constraints
(https://www.sqlite.org/lang_altertable.html, "making other kinds of table schema changes"):
safe here because the new check admits every row the old one did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c5e9d3b7f2"
down_revision: str | None = "e5b9c3d7f1a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("Issue resolved", "Duplicate request", "Cancelled by consumer", "No consumer response", "Other")
NEW = (*OLD, "Payment received")
NAME = "ck_requests_close_reason"


def _check(values: Sequence[str]) -> str:
    return "close_reason IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _swap(old: Sequence[str], new: Sequence[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"ALTER TABLE requests DROP CONSTRAINT {NAME}")
        op.execute(f"ALTER TABLE requests ADD CONSTRAINT {NAME} CHECK ({_check(new)})")
        return
    table_sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'requests'"))
    sql = table_sql.scalar_one()
    if _check(old) not in sql:
        raise RuntimeError(f"requests' {NAME} is not the expected check: {_check(old)}")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'requests'"),
        {"sql": sql.replace(_check(old), _check(new))},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))


def upgrade() -> None:
    _swap(OLD, NEW)


def downgrade() -> None:
    # the old check has no room for it: a request a payment closed reads as closed for "Other"
    op.execute(
        "UPDATE requests SET close_reason = 'Other', "
        "close_notes = 'Payment received. ' || COALESCE(close_notes, '') "
        "WHERE close_reason = 'Payment received'"
    )
    _swap(NEW, OLD)
