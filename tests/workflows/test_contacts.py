"""Which communications meet the response target (the response-delivered patch): a delivered
e-mail or SMS (now sent through the SMS sender) and a logged call or visit that reached the
consumer do; a consumer-visible note or an unanswered call does not. And the billing an
activation chooses, written with the completion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from activities.mail import Mailer
from activities.request import RequestActivities
from db.models import BillingAccount, Communication
from domain.consumers.types import BillingCycle, PaymentMode, UtilityType
from domain.request.types import Channel, ContactOutcome, Direction, SlaTarget, Visibility
from settings import Settings
from tests.workflows.conftest import World, make_world
from worker import build_worker
from workflows.actions import (
    Acknowledge,
    Activate,
    AddNote,
    LogContact,
    MeterChoiceBody,
    SelectPlan,
    SendResponse,
)
from workflows.request import RequestWorkflow


class Texts:
    """An SMS sender that keeps what it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, to: str, body: str, key: str) -> bool:
        self.sent.append((to, body, key))
        return True


@pytest.fixture
async def texts() -> Texts:
    return Texts()


@pytest.fixture
async def sms_world(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    texts: Texts,
) -> AsyncIterator[World]:
    activities = RequestActivities(sessionmaker, Mailer("", 25, "d@x"), "s@x", texts)
    async with build_worker(dev_env.client, Settings(), activities, task_queue=task_queue):
        world = await make_world(dev_env, task_queue, sessionmaker)
        yield world
        await world.terminate_running()


async def _met(handle: object, target: SlaTarget = SlaTarget.RESPONSE) -> bool:
    state = await handle.query(RequestWorkflow.state)  # type: ignore[attr-defined]
    return next(c for c in state.sla if c.target is target).met_at is not None


async def test_a_note_or_an_unanswered_call_leaves_the_clock_and_a_call_that_reached_them_meets_it(
    sms_world: World,
) -> None:
    world = sms_world
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    note = AddNote(actor="csr", text="We are on it", visibility=Visibility.CONSUMER)
    await handle.execute_update(RequestWorkflow.add_note, note)
    assert not await _met(handle)
    missed = LogContact(actor="csr", channel=Channel.PHONE, direction=Direction.TO_CUSTOMER,
                        outcome=ContactOutcome.NO_ANSWER)  # fmt: skip
    assert (
        await handle.execute_update(RequestWorkflow.log_contact, missed)
    ).message == "Outbound call logged"
    assert not await _met(handle)
    reached = LogContact(actor="csr", channel=Channel.PHONE, direction=Direction.FROM_CUSTOMER,
                         outcome=ContactOutcome.REACHED, duration_minutes=3, notes="Asked for Friday")  # fmt: skip
    await handle.execute_update(RequestWorkflow.log_contact, reached)
    assert await _met(handle)
    row = await world.row(handle.id)
    assert row.first_response_at is not None

    async with world.sessionmaker() as session:
        calls = (
            await session.scalars(select(Communication).where(Communication.request_id == handle.id,
                                                              Communication.channel == Channel.PHONE))
        ).all()  # fmt: skip
    assert [(c.direction, c.outcome, c.duration_seconds) for c in calls] == [
        (Direction.TO_CUSTOMER, ContactOutcome.NO_ANSWER, None),
        (Direction.FROM_CUSTOMER, ContactOutcome.REACHED, 180),
    ]


async def test_an_sms_response_is_sent_through_the_sender_and_meets_the_target(
    sms_world: World, texts: Texts
) -> None:
    world = sms_world
    handle = await world.start()
    sms = SendResponse(actor="csr", channel=Channel.SMS, message="Reconnection booked for Friday")
    await handle.execute_update(RequestWorkflow.send_response, sms)
    assert await _met(handle)
    for _ in range(100):
        if texts.sent:
            break
        await asyncio.sleep(0.05)
    assert texts.sent == [
        (world.consumer.phone, "Reconnection booked for Friday", f"{handle.id}:0001:response")
    ]


async def test_a_call_cannot_be_sent_as_a_response(sms_world: World) -> None:
    handle = await sms_world.start()
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            RequestWorkflow.send_response, SendResponse(actor="csr", channel=Channel.PHONE, message="Called")
        )
    assert "use Log contact" in str(refused.value.cause)


async def test_the_activation_writes_the_chosen_billing(sms_world: World) -> None:
    world = sms_world
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))
    today = date.today()
    meters = [
        MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=world.meters["elec"].meter_number,
                        reading=Decimal("150"), reading_date=today),
        MeterChoiceBody(utility=UtilityType.WATER, meter_number=world.meters["water"].meter_number,
                        reading=Decimal("150"), reading_date=today),
    ]  # fmt: skip
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            RequestWorkflow.activate,
            Activate(actor="csr", meters=meters, payment_method=PaymentMode.AUTO_PAY),
        )
    assert "Auto-pay needs a payment method reference" in str(refused.value.cause)
    activation = Activate(actor="csr", meters=meters, billing_cycle=BillingCycle.QUARTERLY,
                          payment_method=PaymentMode.AUTO_PAY, payment_reference="MANDATE-7")  # fmt: skip
    await handle.execute_update(RequestWorkflow.activate, activation)
    async with world.sessionmaker() as session:
        account = await session.scalar(select(BillingAccount).where(BillingAccount.request_id == handle.id))
    assert account is not None
    assert (account.billing_cycle, account.payment_mode, account.payment_reference) == (
        BillingCycle.QUARTERLY, PaymentMode.AUTO_PAY, "MANDATE-7",
    )  # fmt: skip
    assert (account.next_bill_date.year * 12 + account.next_bill_date.month) - (
        account.cycle_start.year * 12 + account.cycle_start.month
    ) == 3
