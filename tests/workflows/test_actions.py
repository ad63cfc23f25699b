"""Every action's refusals, the disconnection path, and signals — on the real dev server."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from db.models import Communication, Consumer, Meter, MeterAssignment, Plan, ServiceOrder
from domain.consumers.types import ConsumerStatus, MeterStatus, ServiceOrderType, UtilityType
from domain.request.types import Priority, RequestStatus, RequestType, Visibility
from tests import factories
from tests.workflows.conftest import World
from workflows.actions import (
    Acknowledge,
    Activate,
    AddNote,
    Assign,
    CreateServiceOrder,
    FinalReadingBody,
    MeterChoiceBody,
    RecordFinalReadings,
    SelectPlan,
    SetPriority,
)
from workflows.request import RequestWorkflow
from workflows.schemas import Outcome


async def _ready_to_activate(world: World) -> WorkflowHandle[RequestWorkflow, object]:
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))
    return handle


def _choice(
    world: World, key: str, utility: UtilityType, reading: str = "150", days_ago: int = 0
) -> MeterChoiceBody:
    from datetime import date

    return MeterChoiceBody(
        utility=utility,
        meter_number=world.meters[key].meter_number,
        reading=Decimal(reading),
        reading_date=date.today() - timedelta(days=days_ago),
    )


async def _refused(handle: WorkflowHandle[RequestWorkflow, object], update: object, arg: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, arg)  # type: ignore[call-overload]
    return str(refused.value.cause)


@pytest.mark.parametrize(
    ("meters", "expected"),
    [
        (lambda w: [_choice(w, "elec", UtilityType.ELECTRICITY)], "water"),  # metered service without a meter
        (
            lambda w: [_choice(w, "busy", UtilityType.ELECTRICITY), _choice(w, "water", UtilityType.WATER)],
            "not available",
        ),
        (
            lambda w: [_choice(w, "water", UtilityType.ELECTRICITY), _choice(w, "elec", UtilityType.WATER)],
            "water meter",
        ),
        (
            lambda w: [
                _choice(w, "elec", UtilityType.ELECTRICITY, "99.99"),
                _choice(w, "water", UtilityType.WATER),
            ],
            "below its last reading 100.00",
        ),
        (
            lambda w: [
                _choice(w, "elec", UtilityType.ELECTRICITY, days_ago=-3),
                _choice(w, "water", UtilityType.WATER),
            ],
            "in the future",
        ),
    ],
    ids=["missing-meter", "meter-unavailable", "wrong-utility", "reading-below-last", "date-in-future"],
)
async def test_activation_errors_are_refused_precisely_and_change_nothing(
    world: World, meters: object, expected: str
) -> None:
    handle = await _ready_to_activate(world)

    message = await _refused(handle, RequestWorkflow.activate, Activate(actor="csr", meters=meters(world)))  # type: ignore[operator]

    assert expected.lower() in message.lower(), message
    state = await handle.query(RequestWorkflow.state)
    assert state.status is RequestStatus.IN_PROGRESS and state.meters == []
    async with world.sessionmaker() as session:
        elec = await session.get(Meter, world.meters["elec"].id)
        consumer = await session.get(Consumer, world.consumer.id)
    assert elec is not None and elec.status is MeterStatus.AVAILABLE
    assert consumer is not None and consumer.status is ConsumerStatus.INACTIVE


async def test_inactive_plan_is_refused(world: World) -> None:
    async with world.sessionmaker() as session:
        plan = await session.get(Plan, world.plan.id)
        assert plan is not None
        plan.active = False
        await session.commit()
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    message = await _refused(
        handle, RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id)
    )

    assert "inactive" in message
    # checked where it is written, and refused: nothing written
    assert await world.events(handle.id) == ["created", "acknowledged"]


async def test_activate_without_a_plan_says_to_select_one(world: World) -> None:
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    message = await _refused(
        handle,
        RequestWorkflow.activate,
        Activate(actor="csr", meters=[_choice(world, "elec", UtilityType.ELECTRICITY)]),
    )

    assert "select and save a billing plan first" in message


async def test_whole_disconnection(world: World) -> None:
    assert world.active_consumer is not None
    handle = await world.start(consumer=world.active_consumer)
    assert (await handle.query(RequestWorkflow.state)).request_type is RequestType.DISCONNECTION
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    from datetime import date

    below = RecordFinalReadings(
        actor="csr",
        readings=[FinalReadingBody(meter_number=world.meters["in_service"].meter_number, reading=Decimal("499"), reading_date=date.today())],
    )  # fmt: skip
    assert "below its last reading" in await _refused(handle, RequestWorkflow.record_final_readings, below)

    final = RecordFinalReadings(
        actor="csr",
        readings=[FinalReadingBody(meter_number=world.meters["in_service"].meter_number, reading=Decimal("612.4"), reading_date=date.today())],
    )  # fmt: skip
    done: Outcome = await handle.execute_update(RequestWorkflow.record_final_readings, final)

    assert done.state.status is RequestStatus.COMPLETED
    async with world.sessionmaker() as session:
        consumer = await session.get(Consumer, world.active_consumer.id)
        meter = await session.get(Meter, world.meters["in_service"].id)
        assignment = await session.scalar(select(MeterAssignment).where(MeterAssignment.meter_id == meter.id))  # type: ignore[union-attr]
        notices = (
            await session.scalars(select(Communication).where(Communication.request_id == handle.id))
        ).all()
    assert (
        consumer is not None
        and consumer.status is ConsumerStatus.INACTIVE
        and consumer.locked_by_request is None
    )
    assert (
        meter is not None
        and meter.status is MeterStatus.AVAILABLE
        and meter.last_reading == Decimal("612.40")
    )
    assert assignment is not None and assignment.unassigned_on is not None
    assert assignment.final_reading == Decimal("612.40")
    assert [n.subject for n in notices] == ["Service disconnected"]


async def test_activate_is_refused_on_a_disconnection(world: World) -> None:
    assert world.active_consumer is not None
    handle = await world.start(consumer=world.active_consumer)
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    message = await _refused(
        handle,
        RequestWorkflow.activate,
        Activate(actor="csr", meters=[_choice(world, "elec", UtilityType.ELECTRICITY)]),
    )

    assert "record final readings instead" in message


async def test_notes_service_orders_priority_and_assignment(world: World) -> None:
    async with world.sessionmaker() as session:
        csr = await factories.user(session, "csr")
        await session.commit()
    handle = await world.start()

    await handle.execute_update(
        RequestWorkflow.add_note, AddNote(actor="csr", text="Called twice, no answer")
    )
    order = await handle.execute_update(
        RequestWorkflow.create_service_order,
        CreateServiceOrder(
            actor="csr", service_type=ServiceOrderType.INSPECTIONS, description="Check the seal"
        ),
    )
    await handle.execute_update(
        RequestWorkflow.set_priority, SetPriority(actor="supervisor", priority=Priority.HIGH)
    )
    out = await handle.execute_update(
        RequestWorkflow.assign, Assign(actor="supervisor", user_id=csr.id, user_name="csr")
    )

    assert order.message.startswith("Service order SO-")
    assert out.state.priority is Priority.HIGH and out.state.assignee == "csr"
    assert [o.service_type for o in out.state.service_orders] == [ServiceOrderType.INSPECTIONS]
    async with world.sessionmaker() as session:
        note = await session.scalar(select(Communication).where(Communication.request_id == handle.id))
        orders = (
            await session.scalars(select(ServiceOrder).where(ServiceOrder.request_id == handle.id))
        ).all()
    assert note is not None and note.visibility is Visibility.INTERNAL and note.author == "csr"
    assert [o.order_number for o in orders] == [out.state.service_orders[0].order_number]
    assert (await world.events(handle.id))[1:] == [
        "note_added",
        "service_order_created",
        "priority_changed",
        "assigned",
    ]
    assert (await world.row(handle.id)).first_response_at is None  # an internal note is not a response


async def _until(world: World, request_id: str, count: int) -> list[str]:
    for _ in range(200):
        events = await world.events(request_id)
        if len(events) >= count:
            return events
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} events, have {await world.events(request_id)}")


async def test_invalid_signal_is_logged_and_ignored_valid_signal_acts(world: World) -> None:
    handle = await world.start()

    await handle.signal("put_on_hold", {"actor": "ops", "reason": "testing"})
    await handle.signal("no_such_action", {"actor": "ops"})
    await handle.signal("send_response", {"actor": "ops", "channel": "carrier pigeon", "message": "hi"})
    events = await _until(world, handle.id, 4)
    assert events == ["created", "signal_refused", "signal_refused", "signal_refused"]
    assert (await handle.query(RequestWorkflow.state)).status is RequestStatus.PENDING

    await handle.signal("acknowledge", {"actor": "ops"})
    assert (await _until(world, handle.id, 5))[-1] == "acknowledged"
    assert (await handle.query(RequestWorkflow.state)).status is RequestStatus.IN_PROGRESS
    assert (await world.row(handle.id)).status is RequestStatus.IN_PROGRESS


async def test_assigning_an_unknown_user_is_refused_not_retried_forever(world: World) -> None:
    handle = await world.start()

    message = await _refused(
        handle, RequestWorkflow.assign, Assign(actor="supervisor", user_id=99999, user_name="ghost")
    )

    assert "refused this change" in message
    assert (await handle.query(RequestWorkflow.state)).assignee is None


async def test_an_action_in_the_first_workflow_task_waits_for_the_row(world: World) -> None:
    """Update-with-start delivers the action before the run method has written the row; the
    action's projection must not race ahead of it (it used to fail on the timeline's foreign key)."""
    start = await world.start_request()
    operation = WithStartWorkflowOperation(
        RequestWorkflow.run,
        start,
        id=start.request_id,
        task_queue=world.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )

    outcome = await world.env.client.execute_update_with_start_workflow(
        RequestWorkflow.acknowledge, Acknowledge(actor="csr"), start_workflow_operation=operation
    )
    world.started.append(await operation.workflow_handle())

    assert outcome.state.status is RequestStatus.IN_PROGRESS
    assert await world.events(start.request_id) == ["created", "acknowledged"]
    assert (await world.row(start.request_id)).status is RequestStatus.IN_PROGRESS


async def test_a_signal_sent_with_the_start_waits_for_the_row(world: World) -> None:
    start = await world.start_request()
    handle = await world.env.client.start_workflow(
        RequestWorkflow.run,
        start,
        id=start.request_id,
        task_queue=world.task_queue,
        start_signal="acknowledge",
        start_signal_args=[{"actor": "ops"}],
    )
    world.started.append(handle)

    assert await _until(world, handle.id, 2) == ["created", "acknowledged"]
    assert (await world.row(handle.id)).status is RequestStatus.IN_PROGRESS


def test_a_refusal_checked_where_it_is_written_carries_its_rule_code_for_the_refusal_counter() -> None:
    """The completion's and select-plan's refusals are counted by their rule's code, as a
    validator's are; other activity failures (typed errors without a code) are not refusals."""
    from temporalio.exceptions import ApplicationError

    from workflows.request import _refusal_code

    checked = ApplicationError("Reading below", {"code": "reading_below_last"}, type="TransitionRefused")
    assert _refusal_code(checked) == "reading_below_last"
    assert _refusal_code(ApplicationError("gone", type="PlanNotFound")) is None
    assert _refusal_code(ApplicationError("no code", type="TransitionRefused")) is None
