"""Scheduling without losers: a create that names no slot books the earliest seat actually free,
moving on when a concurrent create took the one it saw; only a create that named a full slot is 409."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from db.models import SlotBooking, SlotDay
from domain.consumers.types import ConsumerStatus
from tests import factories
from tests.api.conftest import Stack

CONCURRENT = 50


async def test_fifty_concurrent_creates_without_a_slot_all_get_a_seat(stack: Stack) -> None:
    async with stack.sessionmaker() as session:
        consumers = [
            await factories.consumer(session, status=ConsumerStatus.INACTIVE) for _ in range(CONCURRENT)
        ]
        await session.commit()

    answers = await asyncio.gather(
        *(
            stack.client.post(
                "/api/v1/requests",
                json={"consumer_id": c.id, "reason": "Other"},
                headers={**stack.as_("csr"), "Prefer": "return=minimal"},
            )
            for c in consumers
        )
    )

    assert [a.status_code for a in answers] == [201] * CONCURRENT, [
        a.text for a in answers if a.status_code != 201
    ]
    async with stack.sessionmaker() as session:
        bookings = int(await session.scalar(select(func.count()).select_from(SlotBooking)) or 0)
        days = (await session.scalars(select(SlotDay))).all()
    assert bookings == CONCURRENT  # every create booked a seat
    assert all(d.booked <= d.capacity for d in days)
    assert sum(d.booked for d in days) == CONCURRENT
    # seats were filled earliest first: every day but the last is full
    filled = sorted(days, key=lambda d: d.day)
    assert all(d.booked == d.capacity for d in filled[:-1])


async def test_a_create_that_names_a_full_slot_is_409(stack: Stack) -> None:
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    async with stack.sessionmaker() as session:
        consumers = [await factories.consumer(session, status=ConsumerStatus.INACTIVE) for _ in range(4)]
        await session.commit()
    body = {"reason": "Other", "slot_id": stack.slot.id, "preferred_date": day.isoformat()}

    answers = [
        await stack.client.post(
            "/api/v1/requests", json={"consumer_id": c.id, **body}, headers=stack.as_("csr")
        )
        for c in consumers
    ]

    assert [a.status_code for a in answers] == [201, 201, 201, 409]  # capacity 3
    assert answers[-1].json()["type"] == "/problems/slot-full"
