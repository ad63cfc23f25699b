"""The final notice against the payment due date and its validity (issue 15's notice steps), on the
time-skipping server and a real database: New York's notice waits until 20 days after the due date
of the oldest unpaid bill and the request is never stuck on "record the due date"; California counts
60 days' delinquency from it; a Pennsylvania notice that expired while a protection held the request
is replaced by a new one, with the contact attempts starting again after it.

Actions go in as signals (the test server stops skipping time once a client awaits an update).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from db.models import Communication, Consumer, ConsumerProtection, Payment, RequestEvent
from domain.consumers.types import PaymentMethod, PaymentStatus
from domain.disconnection.profile import CALIFORNIA_WATER, NEW_YORK, PENNSYLVANIA
from domain.disconnection.protections import ProtectionKind
from domain.request.types import Channel
from tests.workflows.conftest import World
from tests.workflows.lawful import state_of, until, use_profile
from workflows.schemas import NoticeStage, ProtectionsChanged

NON_PAYMENT = "Non-payment"


async def _owes_since(world: World, days_ago: int, amount: str = "210.00") -> None:
    """The consumer owes ``amount`` on a bill whose payment failed, due ``days_ago`` days ago."""
    assert world.active_consumer is not None
    consumer_id = world.active_consumer.id
    today = (await world.env.get_current_time()).date()
    async with world.sessionmaker() as session:
        await session.execute(
            update(Consumer).where(Consumer.id == consumer_id).values(balance=Decimal(amount))
        )
        session.add(
            Payment(
                consumer_id=consumer_id, reference=f"BILL-{days_ago}", due_date=today - timedelta(days=days_ago),
                paid_on=None, amount=Decimal(amount), method=PaymentMethod.BANK_TRANSFER,
                status=PaymentStatus.FAILED,
            )
        )  # fmt: skip
        await session.commit()


async def _events(world: World, request_id: str) -> list[RequestEvent]:
    async with world.sessionmaker() as session:
        rows = await session.scalars(
            select(RequestEvent).where(RequestEvent.request_id == request_id).order_by(RequestEvent.id)
        )
        return list(rows.all())


async def _start(world: World) -> Any:
    assert world.active_consumer is not None
    handle = await world.start(consumer=world.active_consumer, reason=NON_PAYMENT)
    await handle.signal("acknowledge", {"actor": "csr"})
    return handle


async def _notice_sent(world: World, handle: Any, count: int = 1) -> None:
    async def sent() -> bool:
        return [e.kind for e in await _events(world, handle.id)].count("final_notice_sent") >= count

    await until(sent, f"{count} final notice(s)")


async def test_new_york_sends_the_notice_20_days_after_the_due_date_and_is_not_stuck(
    own_timed_world: World,
) -> None:
    world = own_timed_world
    await use_profile(world, NEW_YORK)
    await _owes_since(world, days_ago=5)
    due = (await world.env.get_current_time()).date() - timedelta(days=5)
    handle = await _start(world)

    async def announced() -> bool:
        return any("to be sent on" in e.detail for e in await _events(world, handle.id))

    await until(announced, "the notice's day announced")
    kinds = [e.kind for e in await _events(world, handle.id)]
    assert "final_notice_sent" not in kinds  # 15 days too early
    assert any((due + timedelta(days=20)).isoformat() in e.detail for e in await _events(world, handle.id))

    await world.env.sleep(timedelta(days=16))
    await _notice_sent(world, handle)
    notices = (await state_of(handle)).notices
    assert notices is not None and notices.final_notice is not None
    assert notices.final_notice.local_day == due + timedelta(days=20)
    assert notices.blocked is None  # the due date is known: no "record it first"
    assert notices.earliest_lawful_moment is not None
    assert notices.earliest_lawful_moment.astimezone(NEW_YORK.zone).date() >= due + timedelta(days=35)


async def test_california_counts_60_days_delinquency_from_the_due_date(own_timed_world: World) -> None:
    world = own_timed_world
    await use_profile(world, CALIFORNIA_WATER)
    await _owes_since(world, days_ago=10)
    due = (await world.env.get_current_time()).date() - timedelta(days=10)
    handle = await _start(world)
    await _notice_sent(world, handle)  # no wait after the due date in California

    async def judged() -> bool:
        notices = (await state_of(handle)).notices
        return notices is not None and notices.earliest_lawful_moment is not None

    await until(judged, "an earliest lawful moment")
    notices = (await state_of(handle)).notices
    assert notices is not None and notices.blocked is None and notices.earliest_lawful_moment is not None
    assert notices.earliest_lawful_moment.astimezone(CALIFORNIA_WATER.zone).date() >= due + timedelta(days=60)


async def test_an_expired_pennsylvania_notice_is_replaced_once_the_hold_lifts(own_timed_world: World) -> None:
    world = own_timed_world
    await use_profile(world, PENNSYLVANIA.model_copy(update={"moratoria": ()}))
    handle = await _start(world)
    await _notice_sent(world, handle)
    first = (await state_of(handle)).notices
    assert first is not None and first.final_notice is not None
    now = await world.env.get_current_time()
    assert world.active_consumer is not None
    async with world.sessionmaker() as session:
        session.add(ConsumerProtection(
            consumer_id=world.active_consumer.id, kind=ProtectionKind.DISPUTE_UNDER_REVIEW, starts_at=now,
            ends_at=now + timedelta(days=75), renewals=0, recorded_by="csr", recorded_at=now,
        ))  # fmt: skip
        await session.commit()
    await handle.signal("protections_changed", ProtectionsChanged(what="dispute recorded", by="csr"))

    async def held() -> bool:
        notices = (await state_of(handle)).notices
        return notices is not None and bool(notices.holds)

    await until(held, "held by the dispute")
    await world.env.sleep(timedelta(days=70))  # the notice (valid 60 days) expires under the hold
    await asyncio.sleep(0.3)
    assert [e.kind for e in await _events(world, handle.id)].count("final_notice_sent") == 1  # not while held

    await world.env.sleep(timedelta(days=6))  # the dispute ends
    await _notice_sent(world, handle, count=2)
    renewed = [e for e in await _events(world, handle.id) if e.kind == "final_notice_sent"][-1]
    assert renewed.detail.startswith("New final notice (the final notice of")
    assert "expired" in renewed.detail

    async def restarted() -> bool:
        notices = (await state_of(handle)).notices
        return (
            notices is not None
            and notices.final_notice is not None
            and notices.final_notice.local_day > first.final_notice.local_day
        )  # type: ignore[union-attr]

    await until(restarted, "the notice steps restarted")
    notices = (await state_of(handle)).notices
    assert notices is not None
    assert notices.stage is NoticeStage.FINAL_NOTICE_PERIOD and notices.contact_attempts == []


async def test_a_profile_that_wants_it_in_writing_sends_the_final_notice_by_letter(
    own_timed_world: World,
) -> None:
    world = own_timed_world
    written = PENNSYLVANIA.final_notice.model_copy(update={"by_letter": True})
    await use_profile(world, PENNSYLVANIA.model_copy(update={"moratoria": (), "final_notice": written}))
    handle = await _start(world)
    await _notice_sent(world, handle)

    notices = (await state_of(handle)).notices
    assert notices is not None and notices.final_notice is not None
    assert notices.final_notice.channel is Channel.LETTER
    sent = next(e for e in await _events(world, handle.id) if e.kind == "final_notice_sent")
    assert "by letter to" in sent.detail and "queued for printing" in sent.detail
    async with world.sessionmaker() as session:
        channels = (
            await session.scalars(select(Communication.channel).where(Communication.request_id == handle.id))
        ).all()
    assert Channel.LETTER in channels and Channel.EMAIL not in channels


async def test_a_consumer_with_no_email_or_phone_gets_a_letter(own_timed_world: World) -> None:
    world = own_timed_world
    await use_profile(world, PENNSYLVANIA.model_copy(update={"moratoria": ()}))
    assert world.active_consumer is not None
    async with world.sessionmaker() as session:
        await session.execute(
            update(Consumer).where(Consumer.id == world.active_consumer.id).values(email="", phone="")
        )
        await session.commit()
    handle = await _start(world)
    await _notice_sent(world, handle)

    notices = (await state_of(handle)).notices
    assert notices is not None and notices.final_notice is not None
    assert notices.final_notice.channel is Channel.LETTER  # not an SMS to nowhere
