"""complaints: a consumer's complaints, opened, worked on and resolved

Revision ID: f6c0d4e8a2b3
Revises: d4a8b2c6e0f1
Create Date: 2026-12-01 07:15:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6c0d4e8a2b3"
down_revision: str | None = "d4a8b2c6e0f1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = ("Billing", "Service quality", "Outage", "Meter", "Staff conduct", "Other")
STATUSES = ("Open", "In progress", "Resolved")


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consumer_id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(*CATEGORIES, name="complaint_category", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum(*STATUSES, name="complaint_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("resolution_notes", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.CheckConstraint(
            "(status = 'Resolved') = (resolved_at IS NOT NULL)",
            name=op.f("ck_complaints_resolved_when_resolved"),
        ),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["consumers.id"], name=op.f("fk_complaints_consumer_id_consumers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index("ix_complaints_consumer", "complaints", ["consumer_id", "opened_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_complaints_consumer", table_name="complaints")
    op.drop_table("complaints")
