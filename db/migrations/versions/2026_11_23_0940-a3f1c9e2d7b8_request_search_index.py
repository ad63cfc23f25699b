"""request search index

Partial, case-insensitive search by request ID at 100,000 requests: a pg_trgm GIN index on
lower(request_id) on PostgreSQL (the extension comes with the consumer search indexes), a plain
expression index on SQLite (equality and prefix look-ups).

Revision ID: a3f1c9e2d7b8
Revises: 5c1e0a7d2b44
Create Date: 2026-11-23 09:40:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "a3f1c9e2d7b8"
down_revision: str | None = "5c1e0a7d2b44"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_requests_lower_request_id ON requests USING gin (lower(request_id) gin_trgm_ops)")
    else:
        op.execute("CREATE INDEX ix_requests_lower_request_id ON requests (lower(request_id))")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_requests_lower_request_id")
