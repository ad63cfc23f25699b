"""resolution basis: why a request's resolution target is not the standard one (a regulated deadline)

Revision ID: c5f9e3a7b1d4
Revises: b4e8d2f6a0c3
Create Date: 2026-12-01 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5f9e3a7b1d4"
down_revision: str | None = "b4e8d2f6a0c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE (SQLite 3.35+ drops a column in place): a batch copy of ``requests`` would
# trip the search-text triggers that name it.
def upgrade() -> None:
    op.add_column("requests", sa.Column("resolution_basis", sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column("requests", "resolution_basis")
