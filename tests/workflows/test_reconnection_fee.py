"""The reconnection fee (issue 16, point 4) on the dev server with a real database: the profile's fee
for the moment of the work is added to the balance once, on completion, with a timeline entry; a
supervisor's waiver (with a reason) means no fee, and cannot be given twice; a disconnection has no
fee to waive."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError

from db.models import Consumer, RequestEvent
from domain.consumers.types import UtilityType
from domain.disconnection.fees import reconnection_fee
from domain.disconnection.profile import CALIFORNIA_WATER, ReconnectionFeeRule
from tests.workflows.conftest import World
from tests.workflows.lawful import use_profile
from workflows.actions import Acknowledge, Activate, MeterChoiceBody, SelectPlan, WaiveFee
from workflows.request import RequestWorkflow

FEES = CALIFORNIA_WATER.model_copy(
    update={
        "reconnection_fee": ReconnectionFeeRule(business_hours=Decimal("40.00"), after_hours=Decimal("95.00"))
    }
)


async def _balance(world: World) -> Decimal:
    async with world.sessionmaker() as session:
        balance = await session.scalar(select(Consumer.balance).where(Consumer.id == world.consumer.id))
    assert balance is not None
    return Decimal(balance)


async def _events(world: World, request_id: str) -> list[RequestEvent]:
    async with world.sessionmaker() as session:
        rows = await session.scalars(
            select(RequestEvent).where(RequestEvent.request_id == request_id).order_by(RequestEvent.id)
        )
        return list(rows.all())


async def _reconnect(world: World, handle: object) -> datetime:
    today = (await world.env.get_current_time()).date()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))  # type: ignore[attr-defined]
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))  # type: ignore[attr-defined]
    done = await handle.execute_update(  # type: ignore[attr-defined]
        RequestWorkflow.activate,
        Activate(actor="csr", meters=[
            MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=world.meters["elec"].meter_number,
                            reading=Decimal("150.5"), reading_date=today),
            MeterChoiceBody(utility=UtilityType.WATER, meter_number=world.meters["water"].meter_number,
                            reading=Decimal("120"), reading_date=today),
        ]),
    )  # fmt: skip
    assert done.state.status.value == "Completed"
    events = [e for e in await _events(world, handle.id) if e.kind == "completed"]  # type: ignore[attr-defined]
    return events[0].occurred_at


async def test_the_fee_for_the_moment_of_the_work_is_added_once_on_completion(world: World) -> None:
    await use_profile(world, FEES)
    before = await _balance(world)
    handle = await world.start()

    completed_at = await _reconnect(world, handle)

    quote = reconnection_fee(FEES, at=completed_at)
    assert quote is not None
    assert await _balance(world) == before + quote.amount
    charged = [e for e in await _events(world, handle.id) if e.kind == "fee_charged"]
    assert (
        len(charged) == 1
        and f"${quote.amount:,.2f}" in charged[0].detail
        and quote.basis in charged[0].detail
    )


async def test_a_waived_fee_is_not_charged_and_cannot_be_waived_twice(world: World) -> None:
    await use_profile(world, FEES)
    before = await _balance(world)
    handle = await world.start()

    waived = await handle.execute_update(
        RequestWorkflow.waive_fee,  # type: ignore[attr-defined]
        WaiveFee(actor="supervisor", reason="Cut in error"),
    )
    assert waived.state.fee_waived == "by supervisor: Cut in error"
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await handle.execute_update(
            RequestWorkflow.waive_fee,  # type: ignore[attr-defined]
            WaiveFee(actor="supervisor", reason="Again"),
        )
    assert "already waived" in str(again.value.cause)

    await _reconnect(world, handle)

    assert await _balance(world) == before
    kinds = [e.kind for e in await _events(world, handle.id)]
    assert kinds.count("fee_waived") == 1 and "fee_charged" not in kinds


async def test_no_fee_rule_no_fee(world: World) -> None:
    await use_profile(world, FEES.model_copy(update={"reconnection_fee": None}))
    before = await _balance(world)
    handle = await world.start()

    await _reconnect(world, handle)

    assert await _balance(world) == before
    assert "fee_charged" not in [e.kind for e in await _events(world, handle.id)]
