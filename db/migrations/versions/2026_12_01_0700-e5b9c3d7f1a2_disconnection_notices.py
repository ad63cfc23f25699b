"""disconnection notices: a non-payment disconnection's notice steps and stage on the request row

Revision ID: e5b9c3d7f1a2
Revises: f6c0d4e8a2b3
Create Date: 2026-12-01 07:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5b9c3d7f1a2"
down_revision: str | None = "f6c0d4e8a2b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE (SQLite 3.35+ drops a column in place): a batch copy of ``requests`` would
# trip the search-text triggers that name it.
def upgrade() -> None:
    op.add_column("requests", sa.Column("disconnection_stage", sa.String(length=32), nullable=True))
    op.add_column("requests", sa.Column("notices", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("requests", "notices")
    op.drop_column("requests", "disconnection_stage")
