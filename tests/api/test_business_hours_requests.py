"""A request captures the business calendar at creation (issue 17, point 1): a target measured in
business hours starts its workflow with the calendar resolved (holidays included) and gets its due
time on it, while a regulated reconnection deadline stays calendar time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from db import business_calendar
from db.models import ServiceRequest
from db.system_settings import load_sla_settings, save_sla_settings
from domain.business_calendar import CalendarSettings, Closure
from domain.business_time import add_business_time
from tests.api.conftest import Stack
from tests.api.test_reconnection_fee import SIX_HOURS, _save_profile
from workflows.schemas import StartRequest

CALENDAR = CalendarSettings(
    time_zone="America/New_York",
    holidays_country="US",
    holidays_subdivision="NY",
    closures=(Closure(date=date(2031, 12, 26), label="Boxing Day"),),
)


async def _policy(stack: Stack, **business_hours: bool) -> None:
    async with stack.sessionmaker() as session:
        sla = (await load_sla_settings(session)).model_copy(update=business_hours)
        await save_sla_settings(session, sla, by="admin")
        await business_calendar.save_calendar_settings(session, CALENDAR, by="admin")
        await session.commit()


async def _create(stack: Stack, reason: str) -> str:
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": reason},
        headers=stack.as_("csr"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["request_id"])


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)  # SQLite: naive


async def _start_input(env: WorkflowEnvironment, task_queue: str, request_id: str) -> StartRequest:
    """What the workflow was started with, read back from its history."""
    history = await env.client.get_workflow_handle(f"{task_queue}/{request_id}").fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [start] = await env.client.data_converter.decode(started.input.payloads, [StartRequest])
    assert isinstance(start, StartRequest)
    return start


async def test_a_business_hours_target_carries_the_calendar_into_the_workflow(
    stack: Stack, dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    await _policy(stack, ack_business_hours=True, response_business_hours=True)

    request_id = await _create(stack, "Seasonal return")

    start = await _start_input(dev_env, task_queue, request_id)
    sla, calendar = start.sla, start.sla.calendar
    assert (sla.ack_business_hours, sla.response_business_hours, sla.resolution_business_hours) == (
        True, True, False,
    )  # fmt: skip
    assert calendar is not None and calendar.time_zone == "America/New_York"
    year = start.created_at.astimezone(calendar.zone).year
    for y in (year, year + 1, year + 2):  # the creation year and the two after it
        assert date(y, 12, 25) in calendar.closed_days and date(y, 7, 4) in calendar.closed_days
    assert date(2031, 12, 26) in calendar.closed_days  # the admin's closure
    # the row's due times: acknowledgement in business hours, resolution in calendar time
    async with stack.sessionmaker() as session:
        row = await session.scalar(select(ServiceRequest).where(ServiceRequest.request_id == request_id))
        assert row is not None
    created = _utc(row.created_at)
    assert _utc(row.ack_due_at) == add_business_time(calendar, created, timedelta(minutes=sla.ack_minutes))
    assert _utc(row.resolution_due_at) == created + timedelta(minutes=sla.resolution_minutes)


async def test_calendar_time_targets_carry_no_calendar(
    stack: Stack, dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    await _policy(stack)

    start = await _start_input(dev_env, task_queue, await _create(stack, "Seasonal return"))

    assert start.sla.calendar is None
    assert not (start.sla.ack_business_hours or start.sla.resolution_business_hours)


async def test_a_regulated_reconnection_deadline_stays_calendar_time(
    stack: Stack, dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    await _save_profile(stack, SIX_HOURS)
    await _policy(stack, ack_business_hours=True, resolution_business_hours=True)

    request_id = await _create(stack, "Outstanding balance cleared")

    start = await _start_input(dev_env, task_queue, request_id)
    assert start.sla.ack_business_hours is True and start.sla.calendar is not None
    assert start.sla.resolution_business_hours is False  # the regulator's 6 hours run 24/7
    assert abs(timedelta(minutes=start.sla.resolution_minutes) - timedelta(hours=6)) < timedelta(minutes=1)
    detail: dict[str, Any] = (
        await stack.client.get(f"/api/v1/requests/{request_id}", headers=stack.as_("csr"))
    ).json()
    due = next(c["due_at"] for c in detail["sla"] if c["target"] == "resolution")
    target = datetime.fromisoformat(due) - datetime.fromisoformat(detail["created_at"])
    assert abs(target - timedelta(hours=6)) < timedelta(minutes=1)
