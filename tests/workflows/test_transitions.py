"""Every lifecycle action tried from every status, through the real workflow (dev server).

The expected table is written out by hand from the FAQ; the workflow's validators must agree.
"""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from domain.request.types import CloseReason, RequestStatus
from tests.workflows.conftest import World
from workflows.actions import Acknowledge, Close, PutOnHold, Resume, SelectPlan
from workflows.request import RequestWorkflow

# status reached → action → expected status afterwards (None: refused)
EXPECTED: dict[RequestStatus, dict[str, RequestStatus | None]] = {
    RequestStatus.PENDING: {
        "acknowledge": RequestStatus.IN_PROGRESS,
        "put_on_hold": None,
        "resume": None,
        "select_plan": None,
        "close": RequestStatus.CLOSED,
    },
    RequestStatus.IN_PROGRESS: {
        "acknowledge": None,
        "put_on_hold": RequestStatus.ON_HOLD,
        "resume": None,
        "select_plan": RequestStatus.IN_PROGRESS,
        "close": RequestStatus.CLOSED,
    },
    RequestStatus.ON_HOLD: {
        "acknowledge": None,
        "put_on_hold": None,
        "resume": RequestStatus.IN_PROGRESS,
        "select_plan": None,
        "close": RequestStatus.CLOSED,
    },
}


def _update(action: str, world: World) -> tuple[Any, Any]:
    return {
        "acknowledge": (RequestWorkflow.acknowledge, Acknowledge(actor="csr")),
        "put_on_hold": (RequestWorkflow.put_on_hold, PutOnHold(actor="csr", reason="Waiting")),
        "resume": (RequestWorkflow.resume, Resume(actor="csr")),
        "select_plan": (RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id)),
        "close": (RequestWorkflow.close, Close(actor="csr", reason=CloseReason.OTHER, notes="matrix")),
    }[action]


async def _reach(world: World, status: RequestStatus) -> WorkflowHandle[RequestWorkflow, object]:
    handle = await world.start()
    if status is not RequestStatus.PENDING:
        await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    if status is RequestStatus.ON_HOLD:
        await handle.execute_update(RequestWorkflow.put_on_hold, PutOnHold(actor="csr", reason="Waiting"))
    return handle


@pytest.mark.parametrize(
    ("status", "action"),
    [(status, action) for status, actions in EXPECTED.items() for action in actions],
    ids=lambda v: str(v).replace(" ", "_"),
)
async def test_action_from_status(world: World, status: RequestStatus, action: str) -> None:
    handle = await _reach(world, status)
    events_before = await world.events(handle.id)
    update, arg = _update(action, world)
    expected = EXPECTED[status][action]

    if expected is None:
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(update, arg)
        assert (await handle.query(RequestWorkflow.state)).status is status
        assert await world.events(handle.id) == events_before  # refused: nothing written
    else:
        outcome = await handle.execute_update(update, arg)
        assert outcome.state.status is expected
        assert (await world.row(handle.id)).status is expected


async def test_a_closed_request_refuses_every_action(world: World) -> None:
    handle = await _reach(world, RequestStatus.PENDING)
    await handle.execute_update(*_update("close", world))
    await handle.result()

    for action in ("acknowledge", "put_on_hold", "resume", "close"):
        with pytest.raises(Exception, match="(?i)completed|closed|not found"):
            await handle.execute_update(*_update(action, world))
