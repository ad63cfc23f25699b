"""sign-in protection: failure counters per account and address; a token version per user

Revision ID: a7c3e9d1f2b5
Revises: f1a2b3c4d5e6
Create Date: 2026-12-01 04:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c3e9d1f2b5"
down_revision: str | None = "f1a2b3c4d5e6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signin_failures",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('account', 'address')", name=op.f("ck_signin_failures_scope")),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_signin_failures_failures")),
        sa.PrimaryKeyConstraint("scope", "subject", name=op.f("pk_signin_failures")),
    )
    op.create_index(
        op.f("ix_signin_failures_last_failure_at"), "signin_failures", ["last_failure_at"], unique=False
    )
    # NOT NULL with a server default: existing rows get 0 on both databases, no table rebuild.
    op.add_column("users", sa.Column("token_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("users", "token_version")
    op.drop_index(op.f("ix_signin_failures_last_failure_at"), table_name="signin_failures")
    op.drop_table("signin_failures")
