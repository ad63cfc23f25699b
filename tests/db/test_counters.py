"""The dashboard totals, kept by triggers, always equal a count of the rows they summarise —
whatever writes the rows: the ORM, a bulk UPDATE, a DELETE, several rows in one statement."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Consumer, ConsumerTotal, RequestCount, ServiceRequest
from domain.consumers.types import ConsumerStatus
from domain.request.types import RequestStatus, RequestType, SlaState
from tests import factories


async def _request_counts(session: AsyncSession) -> tuple[dict[Any, int], dict[Any, int]]:
    """(the counter table without zero rows, a GROUP BY over the requests)."""
    kept = {
        (r.request_type, r.status, r.sla_status): r.n
        for r in await session.scalars(select(RequestCount))
        if r.n
    }
    counted = {
        (t, s, sla): n
        for t, s, sla, n in await session.execute(
            select(
                ServiceRequest.request_type, ServiceRequest.status, ServiceRequest.sla_status, func.count()
            ).group_by(ServiceRequest.request_type, ServiceRequest.status, ServiceRequest.sla_status)
        )
    }
    return kept, counted


async def _consumer_totals(
    session: AsyncSession,
) -> tuple[dict[Any, tuple[int, Decimal]], dict[Any, tuple[int, Decimal]]]:
    kept = {
        t.status: (t.n, Decimal(t.balance_cents) / 100)
        for t in await session.scalars(select(ConsumerTotal))
        if t.n or t.balance_cents
    }
    counted: dict[Any, tuple[int, Decimal]] = {}
    for status, balance in await session.execute(select(Consumer.status, Consumer.balance)):
        n, total = counted.get(status, (0, Decimal(0)))
        counted[status] = (n + 1, total + Decimal(str(balance)).quantize(Decimal("0.01")))
    return kept, counted


async def test_request_counts_follow_inserts_updates_and_deletes(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        consumers = [await factories.consumer(session) for _ in range(4)]
        rows = [
            await factories.request_row(
                session, c.id, status=RequestStatus.COMPLETED, sla_status=SlaState.MET
            )
            for c in consumers
        ]
        await factories.request_row(session, consumers[0].id)  # Pending, On Track
        await session.commit()
        kept, counted = await _request_counts(session)
        assert kept == counted
        assert kept[(RequestType.RECONNECTION, RequestStatus.COMPLETED, SlaState.MET)] == 4

        # One statement changing several rows, one changing nothing the totals group by.
        await session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.id.in_([rows[0].id, rows[1].id]))
            .values(status=RequestStatus.CLOSED, sla_status=SlaState.BREACHED)
        )
        await session.execute(update(ServiceRequest).values(notes="touched"))
        await session.execute(delete(ServiceRequest).where(ServiceRequest.id == rows[2].id))
        await session.commit()

        kept, counted = await _request_counts(session)
        assert kept == counted
        assert kept == {
            (RequestType.RECONNECTION, RequestStatus.COMPLETED, SlaState.MET): 1,
            (RequestType.RECONNECTION, RequestStatus.CLOSED, SlaState.BREACHED): 2,
            (RequestType.RECONNECTION, RequestStatus.PENDING, SlaState.ON_TRACK): 1,
        }


async def test_request_counts_ignore_a_rolled_back_change(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        consumer = await factories.consumer(session)
        await factories.request_row(session, consumer.id)
        await session.commit()
        await factories.request_row(session, consumer.id, status=RequestStatus.COMPLETED)
        await session.rollback()

        kept, counted = await _request_counts(session)
        assert kept == counted == {(RequestType.RECONNECTION, RequestStatus.PENDING, SlaState.ON_TRACK): 1}


async def test_consumer_totals_follow_status_and_balance_exactly(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        a = await factories.consumer(session, status=ConsumerStatus.ACTIVE, balance=Decimal("10.10"))
        b = await factories.consumer(session, status=ConsumerStatus.ACTIVE, balance=Decimal("0.20"))
        await factories.consumer(session, status=ConsumerStatus.INACTIVE, balance=Decimal("99.99"))
        await session.commit()
        # A bulk insert in one statement, as a migration or import would write.
        await session.execute(
            insert(Consumer),
            [{**(await _consumer_values(n)), "balance": Decimal("0.10")} for n in range(30)],
        )
        # Many small changes whose REAL sum would drift: 0.1 thirty times is not 3.0 in floating point.
        await session.execute(
            update(Consumer).where(Consumer.id == a.id).values(balance=Consumer.balance - Decimal("10.00"))
        )
        await session.execute(
            update(Consumer).where(Consumer.id == b.id).values(status=ConsumerStatus.DISCONNECTED)
        )
        await session.execute(update(Consumer).values(phone="555-0100"))  # touches neither status nor balance
        await session.commit()

        kept, counted = await _consumer_totals(session)
        assert kept == counted
        assert kept[ConsumerStatus.ACTIVE] == (31, Decimal("3.10"))
        assert kept[ConsumerStatus.DISCONNECTED] == (1, Decimal("0.20"))

        await session.execute(delete(Consumer).where(Consumer.status == ConsumerStatus.INACTIVE))
        await session.commit()
        kept, counted = await _consumer_totals(session)
        assert kept == counted
        assert ConsumerStatus.INACTIVE not in kept


async def _consumer_values(n: int) -> dict[str, Any]:
    from datetime import date

    from domain.consumers.types import Category

    return dict(
        account_number=f"BULK-{n:05d}", first_name="Bulk", last_name=f"Load{n}", phone="555-0000",
        service_address="1 Main St", category=Category.RESIDENTIAL, sub_category="Standard",
        status=ConsumerStatus.ACTIVE, customer_since=date(2020, 1, 1),
    )  # fmt: skip
