"""follow_ups: "remind me" on a request (the workflow's durable timer, projected for the dashboard)

Revision ID: b7e3f1a5c9d2
Revises: f8c2b6d0e4a7
Create Date: 2026-12-02 09:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7e3f1a5c9d2"
down_revision: str | None = "f8c2b6d0e4a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["requests.request_id"], name=op.f("fk_follow_ups_request_id_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("key", name=op.f("uq_follow_ups_key")),
    )
    op.create_index("ix_follow_ups_state_due", "follow_ups", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_follow_ups_state_due", table_name="follow_ups")
    op.drop_table("follow_ups")
