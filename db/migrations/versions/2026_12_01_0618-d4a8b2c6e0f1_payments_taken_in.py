"""payments taken in: when a payment was received, where from and who recorded it; longer references

Revision ID: d4a8b2c6e0f1
Revises: c9e5a1b3d7f0
Create Date: 2026-12-01 06:18:54.775419+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4a8b2c6e0f1"
down_revision: str | None = "c9e5a1b3d7f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("recorded_by", sa.String(length=120), nullable=True))
        batch_op.alter_column(
            "reference",
            existing_type=sa.VARCHAR(length=32),
            type_=sa.String(length=64),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column(
            "reference",
            existing_type=sa.String(length=64),
            type_=sa.VARCHAR(length=32),
            existing_nullable=False,
        )
        batch_op.drop_column("recorded_by")
        batch_op.drop_column("source")
        batch_op.drop_column("received_at")
