"""Service on, service off (issue 15, point 1): a disconnection's kind decides what it leaves behind,
and a reconnection re-energises a temporarily disconnected consumer's meters in place."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from api.consumers import accounts
from db.models import BillingAccount, Consumer, Meter, MeterAssignment, MeterReading
from domain.consumers.types import ConsumerStatus, MeterStatus, UtilityType
from domain.disconnection.rules import DisconnectionKind
from domain.request.types import RequestStatus, RequestType
from tests.workflows.conftest import World
from workflows.actions import (
    Acknowledge,
    Activate,
    FinalReadingBody,
    MeterChoiceBody,
    RecordFinalReadings,
    SelectPlan,
)
from workflows.request import RequestWorkflow
from workflows.schemas import StartRequest


async def _disconnect(world: World, reason: str, *, kind_in_start: bool = True) -> StartRequest:
    """Run a disconnection of the world's Active consumer to completion; its start input."""
    assert world.active_consumer is not None
    start = await world.start_request(consumer=world.active_consumer, reason=reason)
    if not kind_in_start:  # as a request started before kinds existed
        start = start.model_copy(update={"disconnection_kind": None})
    handle = await world.env.client.start_workflow(
        RequestWorkflow.run, start, id=start.request_id, task_queue=world.task_queue
    )
    world.started.append(handle)
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    done = await handle.execute_update(
        RequestWorkflow.record_final_readings,
        RecordFinalReadings(actor="csr", readings=[FinalReadingBody(
            meter_number=world.meters["in_service"].meter_number, reading=Decimal("612.40"), reading_date=date.today())]),
    )  # fmt: skip
    assert done.state.status is RequestStatus.COMPLETED
    return start


async def _consumer_and_meter(world: World) -> tuple[Consumer, Meter, list[MeterAssignment]]:
    assert world.active_consumer is not None
    async with world.sessionmaker() as session:
        consumer = await session.get(Consumer, world.active_consumer.id)
        meter = await session.get(Meter, world.meters["in_service"].id)
        assert consumer is not None and meter is not None
        assignments = (
            await session.scalars(select(MeterAssignment).where(MeterAssignment.meter_id == meter.id))
        ).all()
        return consumer, meter, list(assignments)


async def test_temporary_disconnection_keeps_the_meters_assigned_with_service_off(world: World) -> None:
    async with world.sessionmaker() as session:
        before = (await accounts.dashboard(session=session)).temporarily_disconnected.count

    start = await _disconnect(world, "Seasonal closure")

    assert start.disconnection_kind is DisconnectionKind.TEMPORARY
    consumer, meter, assignments = await _consumer_and_meter(world)
    assert consumer.status is ConsumerStatus.TEMPORARILY_DISCONNECTED
    assert consumer.locked_by_request is None
    assert meter.status is MeterStatus.ASSIGNED and meter.last_reading == Decimal("612.40")
    assert [(a.consumer_id, a.unassigned_on) for a in assignments] == [(consumer.id, None)]
    async with world.sessionmaker() as session:
        billing = (await session.scalars(select(BillingAccount).where(BillingAccount.active))).all()
        assert [b for b in billing if b.consumer_id == consumer.id] == []
        # the consumer dashboard's figure counts them
        after = (await accounts.dashboard(session=session)).temporarily_disconnected.count
    assert after == before + 1
    assert (await world.events(start.request_id))[-1] == "completed"


async def test_permanent_disconnection_leaves_the_consumer_inactive_and_the_meters_free(world: World) -> None:
    start = await _disconnect(world, "Consumer request")

    assert start.disconnection_kind is DisconnectionKind.PERMANENT
    consumer, meter, assignments = await _consumer_and_meter(world)
    assert consumer.status is ConsumerStatus.INACTIVE
    assert meter.status is MeterStatus.AVAILABLE
    assert [(a.unassigned_on, a.final_reading) for a in assignments] == [(date.today(), Decimal("612.40"))]


async def test_a_disconnection_started_before_kinds_takes_its_reasons_kind(world: World) -> None:
    """A running request with no kind in its start completes by its reason's kind (the patch)."""
    await _disconnect(world, "Safety hazard", kind_in_start=False)

    consumer, meter, assignments = await _consumer_and_meter(world)
    assert consumer.status is ConsumerStatus.TEMPORARILY_DISCONNECTED
    assert meter.status is MeterStatus.ASSIGNED and assignments[0].unassigned_on is None


async def test_reconnecting_a_temporarily_disconnected_consumer_re_energises_their_meters(
    world: World,
) -> None:
    await _disconnect(world, "Seasonal closure")
    consumer, _, _ = await _consumer_and_meter(world)

    handle = await world.start(consumer=consumer)
    assert (await handle.query(RequestWorkflow.state)).request_type is RequestType.RECONNECTION
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))
    own = world.meters["in_service"].meter_number
    new_water = world.meters["water"].meter_number
    done = await handle.execute_update(
        RequestWorkflow.activate,
        Activate(actor="csr", meters=[
            MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=own, reading=Decimal("613"), reading_date=date.today()),
            MeterChoiceBody(utility=UtilityType.WATER, meter_number=new_water, reading=Decimal("100"), reading_date=date.today()),
        ]),
    )  # fmt: skip

    assert done.state.status is RequestStatus.COMPLETED
    consumer, meter, assignments = await _consumer_and_meter(world)
    assert consumer.status is ConsumerStatus.ACTIVE
    # re-energised in place: the same assignment, still open; the reading recorded
    assert meter.status is MeterStatus.ASSIGNED and meter.last_reading == Decimal("613")
    assert [(a.consumer_id, a.unassigned_on) for a in assignments] == [(consumer.id, None)]
    async with world.sessionmaker() as session:
        readings = (
            await session.scalars(select(MeterReading.value).where(MeterReading.meter_id == meter.id))
        ).all()
        water = await session.get(Meter, world.meters["water"].id)
        billing = (
            await session.scalars(
                select(BillingAccount).where(BillingAccount.consumer_id == consumer.id, BillingAccount.active)
            )
        ).all()
    assert Decimal("613") in readings
    assert water is not None and water.status is MeterStatus.ASSIGNED
    assert [b.plan_id for b in billing] == [world.plan.id]
    timeline = await world.events(handle.id)
    assert timeline[-1] == "completed"


async def test_a_meter_swapped_at_reconnection_is_released(world: World) -> None:
    await _disconnect(world, "Seasonal closure")
    consumer, _, _ = await _consumer_and_meter(world)
    handle = await world.start(consumer=consumer)
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))

    await handle.execute_update(
        RequestWorkflow.activate,
        Activate(actor="csr", meters=[
            MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=world.meters["elec"].meter_number, reading=Decimal("105"), reading_date=date.today()),
            MeterChoiceBody(utility=UtilityType.WATER, meter_number=world.meters["water"].meter_number, reading=Decimal("100"), reading_date=date.today()),
        ]),
    )  # fmt: skip

    consumer, old, assignments = await _consumer_and_meter(world)
    assert consumer.status is ConsumerStatus.ACTIVE
    assert old.status is MeterStatus.AVAILABLE
    assert [(a.unassigned_on, a.final_reading) for a in assignments] == [(date.today(), Decimal("612.40"))]
