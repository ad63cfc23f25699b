"""A payment cancels a pending non-payment disconnection (issue 16, point 2), on the time-skipping
server and a real database: wherever the request waits, a payment that leaves too little owed
closes it at once (Payment received, the timeline naming the payment, the consumer told once even
when the signal comes twice); a partial payment is noted and changes nothing else; a lost signal
is made up for when the request next reads its facts, and the cut itself is refused.

Actions go in as signals (the test server stops skipping time once a client awaits an update),
except the final readings at the very end.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.models import Communication, Consumer, Payment
from domain.consumers.types import PaymentMethod, PaymentStatus
from domain.disconnection.profile import PENNSYLVANIA
from domain.request.types import CloseReason, RequestStatus
from tests.workflows.conftest import World
from tests.workflows.lawful import state_of, until, use_profile
from workflows.actions import FinalReadingBody, RecordFinalReadings
from workflows.request import RequestWorkflow
from workflows.schemas import PAYMENT_RECEIVED, NoticeStage, PaymentReceived

NON_PAYMENT = "Non-payment"
PA_ALL_YEAR = PENNSYLVANIA.model_copy(update={"moratoria": (), "min_arrears": Decimal("25.00")})


async def _started(world: World, *, owed: Decimal = Decimal("180.00")) -> Any:
    assert world.active_consumer is not None
    await use_profile(world, PA_ALL_YEAR)
    async with world.sessionmaker() as session:
        await session.execute(
            update(Consumer).where(Consumer.id == world.active_consumer.id).values(balance=owed)
        )
        await session.commit()
    handle = await world.start(consumer=world.active_consumer, reason=NON_PAYMENT)
    await handle.signal("acknowledge", {"actor": "csr"})

    async def noticed() -> bool:
        notices = (await state_of(handle)).notices
        return notices is not None and notices.stage is NoticeStage.FINAL_NOTICE_PERIOD

    await until(noticed, "the final notice period")
    return handle


async def _pay(world: World, amount: str, reference: str) -> PaymentReceived:
    """What the API does before it signals: the payment recorded and the balance lowered, committed."""
    assert world.active_consumer is not None
    consumer_id = world.active_consumer.id
    now = await world.env.get_current_time()
    async with world.sessionmaker() as session:
        session.add(
            Payment(
                consumer_id=consumer_id, reference=reference, due_date=now.date(), paid_on=now.date(),
                amount=Decimal(amount), method=PaymentMethod.CASH, status=PaymentStatus.PROCESSED,
                received_at=now, source="desk", recorded_by="csr",
            )
        )  # fmt: skip
        await session.execute(
            update(Consumer)
            .where(Consumer.id == consumer_id)
            .values(balance=Consumer.balance - Decimal(amount))
        )
        await session.commit()
        balance = await session.scalar(select(Consumer.balance).where(Consumer.id == consumer_id))
    assert balance is not None
    return PaymentReceived(
        reference=reference, amount=Decimal(amount), balance=balance, received_at=now, by="csr"
    )


async def _closed(handle: Any) -> None:
    async def reached() -> bool:
        return (await state_of(handle)).status is RequestStatus.CLOSED

    await until(reached, "closed")


async def _told(world: World, request_id: str) -> list[Communication]:
    async with world.sessionmaker() as session:
        rows = await session.scalars(
            select(Communication).where(
                Communication.request_id == request_id,
                Communication.subject.like("Disconnection cancelled%"),
            )
        )
        return list(rows.all())


async def test_a_full_payment_mid_notice_closes_at_once_and_tells_the_consumer_once(
    own_timed_world: World,
) -> None:
    world = own_timed_world
    handle = await _started(world)

    payment = await _pay(world, "180.00", "PAY-FULL-1")
    await handle.signal(PAYMENT_RECEIVED, payment)
    await handle.signal(PAYMENT_RECEIVED, payment)  # the API's retry, or the webhook's
    await _closed(handle)
    await asyncio.sleep(0.5)  # room for a second (wrong) notification

    row = await world.row(handle.id)
    assert row.status is RequestStatus.CLOSED
    assert row.close_reason is CloseReason.PAYMENT_RECEIVED
    assert row.slot_id is None
    events = await world.events(handle.id)
    assert events.count("closed") == 1 and events.count("consumer_notified") == 1
    assert len(await _told(world, handle.id)) == 1
    assert (await state_of(handle)).notices is not None


async def test_a_payment_leaving_arrears_under_the_threshold_cancels(own_timed_world: World) -> None:
    world = own_timed_world
    handle = await _started(world)

    await handle.signal(PAYMENT_RECEIVED, await _pay(world, "160.00", "PAY-MOST"))  # leaves $20 < $25
    await _closed(handle)

    row = await world.row(handle.id)
    assert row.close_reason is CloseReason.PAYMENT_RECEIVED
    assert row.close_notes is not None and "$20.00" in row.close_notes


async def test_a_partial_payment_is_noted_and_changes_nothing_else(own_timed_world: World) -> None:
    world = own_timed_world
    handle = await _started(world)

    await handle.signal(PAYMENT_RECEIVED, await _pay(world, "100.00", "PAY-PART"))  # leaves $80

    async def noted() -> bool:
        return "payment_received" in await world.events(handle.id)

    await until(noted, "the partial payment on the timeline")
    state = await state_of(handle)
    assert state.status is RequestStatus.IN_PROGRESS
    assert state.notices is not None and state.notices.stage is NoticeStage.FINAL_NOTICE_PERIOD
    assert await _told(world, handle.id) == []


async def test_a_lost_signal_is_made_up_for_at_the_next_timer(own_timed_world: World) -> None:
    world = own_timed_world
    handle = await _started(world)

    await _pay(world, "180.00", "PAY-NO-SIGNAL")  # recorded, but the signal never arrives
    await world.env.sleep(timedelta(days=11))  # the notice period ends: the facts are read again
    await _closed(handle)

    row = await world.row(handle.id)
    assert row.close_reason is CloseReason.PAYMENT_RECEIVED
    assert "contact_attempt" not in await world.events(handle.id)


async def test_the_cut_is_refused_and_the_request_closed_when_a_payment_came_unannounced(
    own_timed_world: World,
) -> None:
    world = own_timed_world
    handle = await _started(world)
    await _pay(world, "180.00", "PAY-AT-THE-DOOR")  # recorded, but the signal never arrives
    meter = world.meters["in_service"]
    assert meter is not None
    today = (await world.env.get_current_time()).date()
    readings = [FinalReadingBody(meter_number=meter.meter_number, reading=Decimal("640"), reading_date=today)]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            RequestWorkflow.record_final_readings,  # type: ignore[attr-defined]
            RecordFinalReadings(actor="csr", readings=readings),
        )

    # refused at the cut's own check of the facts (or, if the test server skipped to the next
    # timer first, because that timer's check had already closed the request)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "TransitionRefused"
    assert "payment" in cause.message.lower() or "closed" in cause.message.lower()
    assert "completed" not in await world.events(handle.id)
    await _closed(handle)
    assert (await world.row(handle.id)).close_reason is CloseReason.PAYMENT_RECEIVED
