"""SQLite: trigram full-text tables for partial search

PostgreSQL serves partial, case-insensitive search with pg_trgm GIN indexes (earlier revisions).
SQLite has no such index: ``LIKE '%ann%'`` read every consumer (and, searching requests by name,
every request: 300+ ms at 100,000). FTS5's trigram tokenizer (SQLite 3.34+) is the SQLite
equivalent: ``consumer_search`` indexes first name, last name and account number,
``request_search`` the request ID (for fragments such as "000123"; an ID prefix such as
"RC-2026-0" is a range on the unique index instead), both external-content tables over the real
rows (nothing stored twice) kept by triggers. Nothing changes on PostgreSQL.

Revision ID: c2e8f5a1d6b4
Revises: b7d4e2f1a9c3
Create Date: 2026-11-23 15:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "c2e8f5a1d6b4"
down_revision: str | None = "b7d4e2f1a9c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (FTS table, source table, indexed columns: a change to one of them re-indexes the row)
SEARCH_TABLES = (
    ("consumer_search", "consumers", ("first_name", "last_name", "account_number")),
    ("request_search", "requests", ("request_id",)),
)


def _statements(fts: str, table: str, columns: tuple[str, ...]) -> list[str]:
    cols = ", ".join(columns)

    def values(row: str) -> str:
        return ", ".join(f"{row}.{c}" for c in columns)

    add = f"INSERT INTO {fts} (rowid, {cols}) VALUES (NEW.id, {values('NEW')});"
    remove = f"INSERT INTO {fts} ({fts}, rowid, {cols}) VALUES ('delete', OLD.id, {values('OLD')});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', content_rowid='id', "
        "tokenize='trigram')",
        f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {cols} ON {table} BEGIN {remove} {add} END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for fts, table, columns in SEARCH_TABLES:
        for statement in _statements(fts, table, columns):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for fts, _, _ in SEARCH_TABLES:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{event}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")
