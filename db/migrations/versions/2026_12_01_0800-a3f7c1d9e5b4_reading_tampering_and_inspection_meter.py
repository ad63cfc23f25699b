"""reading tampering and inspection meter: readings marked suspected tampering (until a supervisor
clears them), and the meter a service order is on (an inspection raised from a flagged reading)

Revision ID: a3f7c1d9e5b4
Revises: a9d2f4c6e8b1 (chained after the search migration; both were written against e5b9c3d7f1a2)
Create Date: 2026-12-01 08:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a3f7c1d9e5b4"
down_revision: str | None = "a9d2f4c6e8b1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reading_tampering",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reading_id", sa.Integer(), nullable=False),
        sa.Column("consumer_id", sa.Integer(), nullable=False),
        sa.Column("marked_by", sa.String(length=120), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cleared_by", sa.String(length=120), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clearance_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(cleared_at IS NULL) = (cleared_by IS NULL)", name=op.f("ck_reading_tampering_cleared_by_whom")
        ),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["consumers.id"], name=op.f("fk_reading_tampering_consumer_id_consumers")
        ),
        sa.ForeignKeyConstraint(
            ["reading_id"], ["meter_readings.id"], name=op.f("fk_reading_tampering_reading_id_meter_readings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reading_tampering")),
    )
    op.create_index(
        op.f("ix_reading_tampering_consumer_id"), "reading_tampering", ["consumer_id"], unique=False
    )
    # one standing suspicion per reading; cleared ones are kept as its history
    op.create_index(
        "uq_reading_tampering_open_reading",
        "reading_tampering",
        ["reading_id"],
        unique=True,
        sqlite_where=sa.text("cleared_at IS NULL"),
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    # batch: SQLite adds a foreign key by copying the table (service_orders has no triggers)
    with op.batch_alter_table("service_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meter_number", sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_service_orders_meter_number_meters"), "meters", ["meter_number"], ["meter_number"]
        )


def downgrade() -> None:
    with op.batch_alter_table("service_orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_service_orders_meter_number_meters"), type_="foreignkey")
        batch_op.drop_column("meter_number")
    op.drop_index("uq_reading_tampering_open_reading", table_name="reading_tampering")
    op.drop_index(op.f("ix_reading_tampering_consumer_id"), table_name="reading_tampering")
    op.drop_table("reading_tampering")
