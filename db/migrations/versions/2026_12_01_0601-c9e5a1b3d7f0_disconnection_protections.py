"""disconnection protections: a consumer's protections against a non-payment cut, and weather emergencies

Revision ID: c9e5a1b3d7f0
Revises: b8d4f0e2a3c6
Create Date: 2026-12-01 06:01:26.816890+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c9e5a1b3d7f0"
down_revision: str | None = "b8d4f0e2a3c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weather_emergencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "hazard",
            sa.Enum("cold", "heat", name="weather_hazard", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_area", sa.String(length=120), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("declared_by", sa.String(length=120), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=120), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_weather_emergencies_ends_after_start")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weather_emergencies")),
    )
    with op.batch_alter_table("weather_emergencies", schema=None) as batch_op:
        batch_op.create_index("ix_weather_emergencies_ends_at", ["ends_at"], unique=False)

    op.create_table(
        "consumer_protections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consumer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "medical_certificate",
                "life_support",
                "vulnerable_household",
                "payment_arrangement",
                "dispute_under_review",
                "weather_emergency",
                "seasonal_moratorium",
                name="protection_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("evidence_document_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=120), nullable=True),
        sa.Column("end_reason", sa.String(length=300), nullable=True),
        sa.CheckConstraint(
            "ends_at IS NULL OR ends_at > starts_at", name=op.f("ck_consumer_protections_ends_after_start")
        ),
        sa.CheckConstraint(
            "kind NOT IN ('weather_emergency', 'seasonal_moratorium')",
            name=op.f("ck_consumer_protections_kind_is_consumers"),
        ),
        sa.CheckConstraint("renewals >= 0", name=op.f("ck_consumer_protections_renewals_not_negative")),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["consumers.id"], name=op.f("fk_consumer_protections_consumer_id_consumers")
        ),
        sa.ForeignKeyConstraint(
            ["evidence_document_id"],
            ["documents.id"],
            name=op.f("fk_consumer_protections_evidence_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_protections")),
    )
    with op.batch_alter_table("consumer_protections", schema=None) as batch_op:
        batch_op.create_index("ix_consumer_protections_consumer", ["consumer_id", "starts_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consumer_protections", schema=None) as batch_op:
        batch_op.drop_index("ix_consumer_protections_consumer")

    op.drop_table("consumer_protections")
    with op.batch_alter_table("weather_emergencies", schema=None) as batch_op:
        batch_op.drop_index("ix_weather_emergencies_ends_at")

    op.drop_table("weather_emergencies")
