from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.consumers.types import MeterStatus, UtilityType, VerificationStatus


class UtilityService(Base):
    """A utility the company supplies (electricity, water) and the unit it is read in."""

    __tablename__ = "utility_services"

    code: Mapped[UtilityType] = mapped_column(str_enum(UtilityType, "utility_type"), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(16))


class Meter(Base):
    __tablename__ = "meters"
    __table_args__ = (
        CheckConstraint("last_reading IS NULL OR last_reading >= 0", name="last_reading_not_negative"),
        Index("ix_meters_utility_status", "utility", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_number: Mapped[str] = mapped_column(String(20), unique=True)
    device_number: Mapped[str] = mapped_column(String(20), unique=True)
    utility: Mapped[UtilityType] = mapped_column(ForeignKey("utility_services.code"))
    meter_type: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(60))
    installation_date: Mapped[date]
    status: Mapped[MeterStatus] = mapped_column(str_enum(MeterStatus, "meter_status"))
    last_reading: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    last_reading_date: Mapped[date | None]


class MeterAssignment(Base):
    """A meter serving a consumer from ``assigned_on`` until ``unassigned_on``.

    A meter serves at most one consumer at a time (partial unique index on open assignments);
    ``request_id`` makes an assignment written by a request's activity idempotent.
    """

    __tablename__ = "meter_assignments"
    __table_args__ = (
        Index(
            "uq_meter_assignments_open_meter",
            "meter_id",
            unique=True,
            sqlite_where=text("unassigned_on IS NULL"),
            postgresql_where=text("unassigned_on IS NULL"),
        ),
        UniqueConstraint("request_id", "meter_id", name="uq_meter_assignments_request_meter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"), index=True)
    request_id: Mapped[str | None] = mapped_column(String(32))
    assigned_on: Mapped[date]
    unassigned_on: Mapped[date | None]
    initial_reading: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    final_reading: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))


class MeterReading(Base):
    __tablename__ = "meter_readings"
    __table_args__ = (
        UniqueConstraint("meter_id", "reading_date", name="uq_meter_readings_meter_date"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    consumer_id: Mapped[int | None] = mapped_column(ForeignKey("consumers.id"), index=True)
    reading_date: Mapped[date]
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    verification_status: Mapped[VerificationStatus] = mapped_column(
        str_enum(VerificationStatus, "verification_status")
    )
    recorded_at: Mapped[datetime | None]


class ReadingTampering(Base):
    """A reading marked *suspected tampering* (who, when, why) until a supervisor clears it.

    Rows are kept when cleared (who cleared it, when, how it was resolved), so a reading's history
    shows every suspicion; at most one stands per reading (partial unique index on open marks).
    """

    __tablename__ = "reading_tampering"
    __table_args__ = (
        Index(
            "uq_reading_tampering_open_reading",
            "reading_id",
            unique=True,
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
        CheckConstraint("(cleared_at IS NULL) = (cleared_by IS NULL)", name="cleared_by_whom"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reading_id: Mapped[int] = mapped_column(ForeignKey("meter_readings.id"))
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"), index=True)
    marked_by: Mapped[str] = mapped_column(String(120))
    marked_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)
    cleared_by: Mapped[str | None] = mapped_column(String(120))
    cleared_at: Mapped[datetime | None]
    clearance_note: Mapped[str | None] = mapped_column(Text)
