"""Booking seats in time slots, safe under concurrency on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SlotBooking, SlotDay, TimeSlot
from db.upsert import insert_for


class SlotFull(Exception):
    """The slot has no seat left on that day."""


async def book_slot(session: AsyncSession, *, request_id: str, slot_id: int, day: date) -> None:
    """Take one seat for ``request_id``; raises SlotFull when none is left. Does not commit.

    The guarded UPDATE is atomic on both databases, and the CHECK on ``slot_days`` refuses
    overbooking even if a caller forgot the guard.
    """
    ensure_day = (
        insert_for(session, SlotDay)
        .from_select(
            ["slot_id", "day", "capacity", "booked"],
            select(TimeSlot.id, literal(day), TimeSlot.capacity_per_day, literal(0)).where(
                TimeSlot.id == slot_id
            ),
        )
        .on_conflict_do_nothing()
    )
    await session.execute(ensure_day)
    taken = await session.execute(
        update(SlotDay)
        .where(SlotDay.slot_id == slot_id, SlotDay.day == day, SlotDay.booked < SlotDay.capacity)
        .values(booked=SlotDay.booked + 1)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise SlotFull(f"Time slot {slot_id} is fully booked on {day.isoformat()}")
    session.add(SlotBooking(request_id=request_id, slot_id=slot_id, day=day))
    await session.flush()


async def release_slot(session: AsyncSession, *, request_id: str) -> None:
    """Give back ``request_id``'s seat, if it holds one. Idempotent. Does not commit."""
    booking = await session.scalar(select(SlotBooking).where(SlotBooking.request_id == request_id))
    if booking is None:
        return
    await session.execute(
        update(SlotDay)
        .where(SlotDay.slot_id == booking.slot_id, SlotDay.day == booking.day, SlotDay.booked > 0)
        .values(booked=SlotDay.booked - 1)
    )
    await session.execute(delete(SlotBooking).where(SlotBooking.id == booking.id))
