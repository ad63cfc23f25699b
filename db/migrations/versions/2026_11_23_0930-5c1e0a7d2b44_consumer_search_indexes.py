"""consumer search indexes

Case-insensitive consumer search (first or last name, account number; partial match) at
100,000 consumers, through indexes on lower(first_name), lower(last_name), lower(account_number):

- PostgreSQL: pg_trgm GIN indexes, so ``lower(col) LIKE '%x%'`` (and ``=``) is an index scan.
- SQLite: plain B-tree indexes on the same expressions, same names; they serve equality and
  range (prefix) look-ups — an infix LIKE still scans on SQLite.

Revision ID: 5c1e0a7d2b44
Revises: 99544ebee5a5
Create Date: 2026-11-23 09:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "5c1e0a7d2b44"
down_revision: str | None = "99544ebee5a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# index name → the column it indexes, lower-cased
SEARCH_INDEXES = {
    "ix_consumers_lower_first_name": "first_name",
    "ix_consumers_lower_last_name": "last_name",
    "ix_consumers_lower_account_number": "account_number",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in SEARCH_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON consumers USING gin (lower({column}) gin_trgm_ops)")
    else:
        for name, column in SEARCH_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON consumers (lower({column}))")


def downgrade() -> None:
    for name in SEARCH_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP EXTENSION IF EXISTS pg_trgm")
