"""dunning_runs: what each nightly dunning run found, skipped and created

Revision ID: b4e8d2f6a0c3
Revises: a3f7c1d9e5b4
Create Date: 2026-12-01 08:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4e8d2f6a0c3"
down_revision: str | None = "a3f7c1d9e5b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("running", "completed")


def upgrade() -> None:
    op.create_table(
        "dunning_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("cycle", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*STATUSES, name="dunning_run_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("min_arrears", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("after_days", sa.Integer(), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("created_requests", sa.JSON(), nullable=False),
        sa.CheckConstraint("found >= 0 AND created >= 0", name=op.f("ck_dunning_runs_counts_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_runs")),
        sa.UniqueConstraint("workflow_id", name=op.f("uq_dunning_runs_workflow_id")),
    )
    op.create_index("ix_dunning_runs_started_at", "dunning_runs", ["started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dunning_runs_started_at", table_name="dunning_runs")
    op.drop_table("dunning_runs")
