"""The request lifecycle end to end on the time-skipping server, with a real database."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.mail import Mailer
from activities.request import RequestActivities
from db.models import (
    BillingAccount,
    Communication,
    Consumer,
    Meter,
    MeterAssignment,
    RequestEvent,
    ServiceRequest,
)
from domain.consumers.types import ConsumerStatus, MeterStatus, UtilityType
from domain.request.types import CloseReason, RequestStatus, SlaState
from settings import Settings
from tests.workflows.conftest import World
from worker import build_worker
from workflows.actions import Acknowledge, Activate, Close, MeterChoiceBody, PutOnHold, Resume, SelectPlan
from workflows.request import RequestWorkflow


async def _row(world: World, request_id: str) -> ServiceRequest:
    async with world.sessionmaker() as session:
        row = await session.scalar(select(ServiceRequest).where(ServiceRequest.request_id == request_id))
        assert row is not None
        return row


async def _events(world: World, request_id: str) -> list[str]:
    async with world.sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(RequestEvent.kind)
                    .where(RequestEvent.request_id == request_id)
                    .order_by(RequestEvent.id)
                )
            ).all()
        )


async def test_whole_reconnection(any_runner_world: World) -> None:
    world = any_runner_world
    handle = await world.start()
    today = (await world.env.get_current_time()).date()

    ack = await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    assert ack.state.status is RequestStatus.IN_PROGRESS
    assert (
        await _row(world, handle.id)
    ).status is RequestStatus.IN_PROGRESS  # projected before the update returned

    held = await handle.execute_update(
        RequestWorkflow.put_on_hold, PutOnHold(actor="csr", reason="Awaiting payment")
    )
    assert held.state.status is RequestStatus.ON_HOLD
    assert "resume" in held.state.allowed_actions
    resumed = await handle.execute_update(RequestWorkflow.resume, Resume(actor="csr"))
    assert resumed.state.status is RequestStatus.IN_PROGRESS

    chosen = await handle.execute_update(
        RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id)
    )
    assert chosen.state.plan is not None and chosen.state.plan.short_name == "RES-STD"
    assert "activate" in chosen.state.allowed_actions

    done = await handle.execute_update(
        RequestWorkflow.activate,
        Activate(
            actor="csr",
            meters=[
                MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=world.meters["elec"].meter_number,
                            reading=Decimal("150.5"), reading_date=today),
                MeterChoiceBody(utility=UtilityType.WATER, meter_number=world.meters["water"].meter_number,
                            reading=Decimal("120"), reading_date=today),
            ],
        ),
    )  # fmt: skip
    assert done.state.status is RequestStatus.COMPLETED
    result = await handle.result()
    assert result.status is RequestStatus.COMPLETED

    row = await _row(world, handle.id)
    assert row.status is RequestStatus.COMPLETED
    assert row.resolution_state is SlaState.MET and row.ack_state is SlaState.MET
    assert row.plan_id == world.plan.id
    async with world.sessionmaker() as session:
        consumer = await session.get(Consumer, world.consumer.id)
        assert consumer is not None
        assert consumer.status is ConsumerStatus.ACTIVE
        assert consumer.locked_by_request is None
        meter = await session.get(Meter, world.meters["elec"].id)
        assert (
            meter is not None
            and meter.status is MeterStatus.ASSIGNED
            and meter.last_reading == Decimal("150.50")
        )
        assignments = await session.scalar(
            select(func.count())
            .select_from(MeterAssignment)
            .where(MeterAssignment.consumer_id == consumer.id)
        )
        assert assignments == 2
        billing = (
            await session.scalars(select(BillingAccount).where(BillingAccount.consumer_id == consumer.id))
        ).all()
        assert [(b.plan_id, b.active) for b in billing] == [(world.plan.id, True)]
        confirmations = await session.scalar(
            select(func.count()).select_from(Communication).where(Communication.request_id == handle.id)
        )
        assert confirmations == 1
    assert await _events(world, handle.id) == [
        "created", "acknowledged", "put_on_hold", "resumed", "plan_selected", "completed",
    ]  # fmt: skip


async def test_invalid_action_is_refused_and_changes_nothing(world: World) -> None:
    handle = await world.start()

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(RequestWorkflow.put_on_hold, PutOnHold(actor="csr", reason="x"))

    assert "acknowledge it first" in str(refused.value.cause)
    state = await handle.query(RequestWorkflow.state)
    assert state.status is RequestStatus.PENDING
    assert await _events(world, handle.id) == ["created"]


async def test_plan_for_another_category_is_refused_with_both_categories_named(world: World) -> None:
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.other_plan.id)
        )

    message = str(refused.value.cause)
    assert "Commercial / Small Business" in message and "Residential / Standard" in message
    assert (await handle.query(RequestWorkflow.state)).plan is None


async def test_close_releases_the_lock_and_records_the_reason(world: World) -> None:
    handle = await world.start()
    async with world.sessionmaker() as session:
        consumer = await session.get(Consumer, world.consumer.id)
        assert consumer is not None and consumer.locked_by_request == handle.id

    out = await handle.execute_update(
        RequestWorkflow.close,
        Close(actor="csr", reason=CloseReason.CANCELLED_BY_CONSUMER, notes="Changed mind"),
    )

    assert out.state.status is RequestStatus.CLOSED
    assert (await handle.result()).status is RequestStatus.CLOSED
    row = await _row(world, handle.id)
    assert row.close_reason is CloseReason.CANCELLED_BY_CONSUMER and row.close_notes == "Changed mind"
    async with world.sessionmaker() as session:
        consumer = await session.get(Consumer, world.consumer.id)
        assert consumer is not None and consumer.locked_by_request is None


@pytest.mark.parametrize(
    ("sandboxed", "runner"), [(True, SandboxedWorkflowRunner), (False, UnsandboxedWorkflowRunner)]
)
async def test_the_worker_runs_workflows_on_the_runner_its_settings_name(
    world: World, sandboxed: bool, runner: type
) -> None:
    activities = RequestActivities(world.sessionmaker, Mailer("", 25, "desk@utility.example"), "s@example")
    built = build_worker(
        world.env.client,
        Settings(worker_sandboxed=sandboxed),
        activities,
        task_queue=f"runner-{uuid.uuid4()}",
    )
    assert isinstance(built.config()["workflow_runner"], runner)
