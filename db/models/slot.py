from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class TimeSlot(Base):
    """An admin-configured visit window (2-hour blocks by default) with a capacity per day."""

    __tablename__ = "time_slots"
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="ends_after_start"),
        CheckConstraint("capacity_per_day > 0", name="capacity_positive"),
        UniqueConstraint("start_time", "end_time", name="uq_time_slots_window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(40))
    start_time: Mapped[time]
    end_time: Mapped[time]
    capacity_per_day: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)


class SlotDay(Base):
    """Seats taken in one slot on one day.

    The CHECK makes overbooking impossible whatever the code does: a booking increments
    ``booked`` with a guarded UPDATE, and the database refuses ``booked > capacity``.
    """

    __tablename__ = "slot_days"
    __table_args__ = (CheckConstraint("booked >= 0 AND booked <= capacity", name="within_capacity"),)

    slot_id: Mapped[int] = mapped_column(ForeignKey("time_slots.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)


class SlotBooking(Base):
    """A request's seat in a slot on a day; one per request."""

    __tablename__ = "slot_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32), unique=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("time_slots.id"))
    day: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
