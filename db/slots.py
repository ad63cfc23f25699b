"""Booking seats in time slots, safe under concurrency on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from sqlalchemy import BindParameter, Date, bindparam, delete, insert, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SlotBooking, SlotDay, TimeSlot
from db.upsert import dialect_insert


class SlotFull(Exception):
    """The slot has no seat left on that day."""


@functools.cache
def _booking(dialect: str) -> tuple[Any, Any, Any]:
    """``book_slot``'s statements for ``dialect``, built once (every create with a slot runs them):
    the slot-day row if missing, the guarded seat count, the booking."""
    slot_id: BindParameter[int] = bindparam("slot")
    day: BindParameter[date] = bindparam("on_day", type_=Date)
    ensure_day = (
        dialect_insert(dialect, SlotDay)
        .from_select(
            ["slot_id", "day", "capacity", "booked"],
            select(TimeSlot.id, day, TimeSlot.capacity_per_day, literal(0)).where(TimeSlot.id == slot_id),
        )
        .on_conflict_do_nothing()
    )
    take_seat = (
        update(SlotDay)
        .where(SlotDay.slot_id == slot_id, SlotDay.day == day, SlotDay.booked < SlotDay.capacity)
        .values(booked=SlotDay.booked + 1)
    )
    return ensure_day, take_seat, insert(SlotBooking)


async def book_slot(session: AsyncSession, *, request_id: str, slot_id: int, day: date) -> None:
    """Take one seat for ``request_id``; raises SlotFull when none is left. Does not commit.

    The guarded UPDATE is atomic on both databases, and the CHECK on ``slot_days`` refuses
    overbooking even if a caller forgot the guard.
    """
    assert session.bind is not None  # every session here is bound to the app's engine
    ensure_day, take_seat, booking = _booking(session.bind.dialect.name)
    connection = await session.connection()
    await connection.execute(ensure_day, {"slot": slot_id, "on_day": day})
    taken = await connection.execute(take_seat, {"slot": slot_id, "on_day": day})
    if taken.rowcount != 1:
        raise SlotFull(f"Time slot {slot_id} is fully booked on {day.isoformat()}")
    await connection.execute(booking, {"request_id": request_id, "slot_id": slot_id, "day": day})


_GIVE_BACK = (  # built once, as the booking's: every close and cancellation runs them
    update(SlotDay)
    .where(
        tuple_(SlotDay.slot_id, SlotDay.day).in_(
            select(SlotBooking.slot_id, SlotBooking.day).where(
                SlotBooking.request_id == bindparam("request_id")
            )
        ),
        SlotDay.booked > 0,
    )
    .values(booked=SlotDay.booked - 1)
)
_UNBOOK = delete(SlotBooking).where(SlotBooking.request_id == bindparam("request_id"))


async def release_slot(session: AsyncSession, *, request_id: str) -> None:
    """Give back ``request_id``'s seat, if it holds one. Idempotent. Does not commit."""
    connection = await session.connection()
    await connection.execute(_GIVE_BACK, {"request_id": request_id})
    await connection.execute(_UNBOOK, {"request_id": request_id})
