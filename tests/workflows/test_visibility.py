"""Supervisors find requests in the Temporal UI by search attributes and read a summary on each."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from tests.workflows.conftest import World
from workflows.actions import Acknowledge
from workflows.request import RequestWorkflow


async def _ids(client: Client, query: str, expected: str) -> list[str]:
    found: list[str] = []
    for _ in range(100):  # visibility is eventually consistent
        found = [wf.id async for wf in client.list_workflows(query)]
        if expected in found:
            return found
        await asyncio.sleep(0.1)
    return found


async def test_search_attributes_follow_the_request(world: World) -> None:
    handle = await world.start()
    client = world.env.client
    account = world.consumer.account_number

    pending = await _ids(client, f'AccountNumber = "{account}" AND RequestStatus = "Pending"', handle.id)
    assert pending == [handle.id]

    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    query = (
        f'AccountNumber = "{account}" AND RequestStatus = "In Progress" AND RequestType = "Reconnection" '
        'AND Priority = "Medium" AND SlaStatus = "On Track" AND EscalationLevel = 0'
    )
    assert await _ids(client, query, handle.id) == [handle.id]


async def test_each_execution_carries_a_summary_and_current_details(world: World) -> None:
    handle = await world.start()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))

    description = await handle.describe()

    summary = await description.static_summary()
    assert summary is not None and world.consumer.account_number in summary and "Reconnection" in summary
    details = await handle.query("__temporal_workflow_metadata")
    assert "In Progress" in details.current_details
    assert world.consumer.account_number in details.current_details
