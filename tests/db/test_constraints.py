"""Integrity lives in the schema: the database itself refuses what the rules forbid."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import SlotBooking, SlotDay
from db.slots import SlotFull, book_slot
from domain.request.types import RequestStatus
from tests import factories


async def test_duplicate_account_number_is_refused(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        await factories.consumer(session, account_number="WU-10001")
        await session.commit()

    async with sessionmaker() as session:
        with pytest.raises(IntegrityError, match="(?i)unique"):
            await factories.consumer(session, account_number="WU-10001")


async def test_duplicate_meter_number_is_refused(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        await factories.utilities(session)
        await factories.meter(session, meter_number="M-5678")
        await session.commit()
    async with sessionmaker() as session:
        with pytest.raises(IntegrityError, match="(?i)unique"):
            await factories.meter(session, meter_number="M-5678")


async def test_second_open_request_for_a_consumer_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        consumer = await factories.consumer(session)
        await factories.request_row(session, consumer.id, RequestStatus.ON_HOLD)
        await session.commit()

    async with sessionmaker() as session:
        with pytest.raises(IntegrityError, match="(?i)unique"):
            await factories.request_row(session, consumer.id, RequestStatus.PENDING)


async def test_closed_requests_do_not_block_a_new_one(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        consumer = await factories.consumer(session)
        await factories.request_row(session, consumer.id, RequestStatus.CLOSED)
        await factories.request_row(session, consumer.id, RequestStatus.COMPLETED)
        await factories.request_row(session, consumer.id, RequestStatus.PENDING)
        await session.commit()


async def test_slot_day_counter_cannot_exceed_capacity(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        slot = await factories.time_slot(session, capacity=2)
        session.add(SlotDay(slot_id=slot.id, day=date(2026, 12, 1), capacity=2, booked=3))
        with pytest.raises(IntegrityError, match="(?i)check|within_capacity"):
            await session.flush()


async def test_twenty_concurrent_bookings_of_a_slot_with_capacity_three(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    day = date(2026, 12, 2)
    async with sessionmaker() as session:
        slot = await factories.time_slot(session, capacity=3)
        await session.commit()

    async def attempt(n: int) -> bool:
        async with sessionmaker() as session:
            try:
                await book_slot(session, request_id=f"RC-C{n:04d}", slot_id=slot.id, day=day)
                await session.commit()
                return True
            except SlotFull:
                await session.rollback()
                return False

    results = await asyncio.gather(*(attempt(n) for n in range(20)))

    assert results.count(True) == 3
    async with sessionmaker() as session:
        booked = await session.scalar(
            select(SlotDay.booked).where(SlotDay.slot_id == slot.id, SlotDay.day == day)
        )
        bookings = await session.scalar(select(func.count()).select_from(SlotBooking))
    assert booked == 3
    assert bookings == 3
