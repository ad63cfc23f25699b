"""Protections against a non-payment cut: a consumer's (medical certificate, life support, a
vulnerable household, a payment arrangement, a dispute) and admin-declared weather emergencies.

Rows are never deleted: ending one records who ended it, when and why, so the consumer's history
(and the audit log) shows every protection that ever held.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.disconnection.protections import ProtectionKind, WeatherHazard


class ConsumerProtection(Base):
    """A protection recorded on a consumer; in force from ``starts_at`` until ``ends_at`` or
    ``ended_at``, whichever comes first (neither: until someone ends it)."""

    __tablename__ = "consumer_protections"
    __table_args__ = (
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("renewals >= 0", name="renewals_not_negative"),
        # weather emergencies have their own table; moratoria live in the jurisdiction profile
        CheckConstraint("kind NOT IN ('weather_emergency', 'seasonal_moratorium')", name="kind_is_consumers"),
        Index("ix_consumer_protections_consumer", "consumer_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    kind: Mapped[ProtectionKind] = mapped_column(str_enum(ProtectionKind, "protection_kind"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    renewals: Mapped[int] = mapped_column(default=0)
    evidence_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(120))
    end_reason: Mapped[str | None] = mapped_column(String(300))


class WeatherEmergencyDeclaration(Base):
    """An admin-declared cold or heat emergency, everywhere or in one service area."""

    __tablename__ = "weather_emergencies"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_weather_emergencies_ends_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard: Mapped[WeatherHazard] = mapped_column(str_enum(WeatherHazard, "weather_hazard"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    service_area: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(String(500), default="")
    declared_by: Mapped[str] = mapped_column(String(120))
    declared_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(120))
