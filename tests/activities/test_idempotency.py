"""Idempotent activities: each writing activity run twice with the same input (a Temporal retry,
or a re-run after a worker crash) leaves exactly one effect; refusals are typed and write nothing.

The activities run in ``ActivityEnvironment`` against the real test database (no mocks).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.mail import Mailer
from activities.request import RequestActivities
from db.models import (
    BillingAccount,
    Communication,
    Consumer,
    Meter,
    MeterAssignment,
    MeterReading,
    Plan,
    PlanService,
    RequestEvent,
    ServiceOrder,
    ServiceRequest,
    SlotBooking,
    SlotDay,
)
from db.session import make_engine, make_sessionmaker
from db.slots import book_slot
from domain.consumers.types import (
    BillingCycle,
    Category,
    ConsumerStatus,
    MeterStatus,
    PaymentMode,
    ServiceOrderType,
    UtilityType,
)
from domain.request.types import (
    Channel,
    CloseReason,
    Direction,
    Priority,
    RequestStatus,
    RequestType,
    SlaState,
    SlaTarget,
    Visibility,
)
from tests import factories
from tests.factories import utc
from workflows.schemas import (
    ActivationCheck,
    AssignedMeter,
    CommunicationRecord,
    Completion,
    Escalation,
    MeterLookup,
    PlanCheck,
    PlanSelection,
    Projection,
    Release,
    RowChanges,
    ServiceOrderRecord,
    StartRequest,
)

NOW = utc(2026, 11, 2, 10)
TODAY = NOW.date()
RC = "RC-2026-000001"
DC = "DC-2026-000002"

Sessions = async_sessionmaker[AsyncSession]


# ---- setup -----------------------------------------------------------------------------------


@dataclass
class World:
    sessionmaker: Sessions
    acts: RequestActivities
    inactive: Consumer  # to reconnect
    active: Consumer  # to disconnect: meter "in_service" and an active billing account
    plan: Plan
    retired_plan: Plan
    meters: dict[str, Meter]


def activities(sessionmaker: Sessions) -> RequestActivities:
    return RequestActivities(sessionmaker, Mailer("", 25, "x@example.com"), "sup@example.com")


def _plan(short_name: str, *, active: bool = True) -> Plan:
    return Plan(
        name=f"Plan {short_name}", short_name=short_name, category=Category.RESIDENTIAL,
        sub_category="Standard", monthly_fee=Decimal("25.00"), rates={}, features=[], active=active,
        services=[PlanService(utility=UtilityType.ELECTRICITY, metered=True),
                  PlanService(utility=UtilityType.WATER, metered=True)],
    )  # fmt: skip


@pytest.fixture
async def w(sessionmaker: Sessions) -> World:
    async with sessionmaker() as session:
        await factories.utilities(session)
        inactive = await factories.consumer(session, status=ConsumerStatus.INACTIVE)
        active = await factories.consumer(session, status=ConsumerStatus.ACTIVE)
        plan, retired = _plan("RES-STD"), _plan("RES-OLD", active=False)
        session.add_all([plan, retired])
        meters = {
            "elec": await factories.meter(session, UtilityType.ELECTRICITY),
            "water": await factories.meter(session, UtilityType.WATER),
            "busy": await factories.meter(session, status=MeterStatus.MAINTENANCE),
            "in_service": await factories.meter(
                session, status=MeterStatus.ASSIGNED, last_reading=Decimal("500.00")
            ),
        }
        session.add_all([
            MeterAssignment(meter_id=meters["in_service"].id, consumer_id=active.id, assigned_on=date(2025, 1, 1)),
            BillingAccount(consumer_id=active.id, plan_id=plan.id, billing_cycle=BillingCycle.MONTHLY,
                           payment_mode=PaymentMode.MANUAL, cycle_start=date(2025, 1, 1),
                           next_bill_date=date(2026, 11, 1)),
        ])  # fmt: skip
        await session.commit()
    return World(sessionmaker, activities(sessionmaker), inactive, active, plan, retired, meters)


async def twice(fn: Any, arg: Any) -> tuple[Any, Any]:
    """Run an activity twice with the identical input, as a retry would."""
    env = ActivityEnvironment()
    return await env.run(fn, arg), await env.run(fn, arg)


def start(consumer: Consumer, request_id: str, request_type: RequestType, **extra: Any) -> StartRequest:
    return StartRequest(
        request_id=request_id, consumer_id=consumer.id, account_number=consumer.account_number,
        consumer_name=consumer.full_name, consumer_category=consumer.category,
        consumer_sub_category=consumer.sub_category, request_type=request_type,
        reason="Payment cleared", created_by="csr", created_at=NOW, **extra,
    )  # fmt: skip


async def written(w: World, start: StartRequest) -> StartRequest:
    """``start`` with its row written, as the API's create writes it before starting the workflow."""
    async with w.sessionmaker() as session:
        await factories.written_request(session, start)
        await session.commit()
    return start


async def open_request(w: World, consumer: Consumer, request_id: str = RC, **extra: Any) -> None:
    kind = RequestType.DISCONNECTION if request_id.startswith("DC") else RequestType.RECONNECTION
    opened = await written(w, start(consumer, request_id, kind, **extra))
    await ActivityEnvironment().run(w.acts.record_created, opened)


def projection(request_id: str, kind: str, seq: int = 1, **changes: Any) -> Projection:
    return Projection(
        request_id=request_id, event_key=f"{request_id}:{seq:04d}:{kind}", occurred_at=NOW,
        actor="csr", kind=kind, detail=f"{kind} detail", changes=RowChanges(**changes),
    )  # fmt: skip


def message(
    request_id: str, consumer: Consumer, key: str, *, channel: Channel = Channel.EMAIL,
    direction: Direction = Direction.TO_CUSTOMER, projection: Projection | None = None,
) -> CommunicationRecord:  # fmt: skip
    return CommunicationRecord(
        request_id=request_id, consumer_id=consumer.id, key=key, channel=channel, direction=direction,
        visibility=Visibility.INTERNAL if direction is Direction.INTERNAL else Visibility.CONSUMER,
        subject="About your request", body="Hello", author="csr", occurred_at=NOW, projection=projection,
    )  # fmt: skip


def completion(w: World, request_id: str, consumer: Consumer, meters: dict[str, str]) -> Completion:
    """``meters``: world meter name -> reading."""
    p = projection(request_id, "completed", 5, status=RequestStatus.COMPLETED, resolved_at=NOW)
    return Completion(
        request_id=request_id,
        consumer_id=consumer.id,
        request_type=RequestType.DISCONNECTION if request_id.startswith("DC") else RequestType.RECONNECTION,
        plan_id=w.plan.id if request_id.startswith("RC") else None,
        meters=[
            AssignedMeter(
                utility=w.meters[name].utility,
                meter_number=w.meters[name].meter_number,
                reading=Decimal(reading),
                reading_date=TODAY,
            )
            for name, reading in meters.items()
        ],
        projection=p,
        notice=message(request_id, consumer, f"{p.event_key}:confirmation"),
    )


async def count(w: World, model: Any, *where: Any) -> int:
    async with w.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def kinds(w: World, request_id: str) -> list[str]:
    async with w.sessionmaker() as session:
        rows = await session.scalars(
            select(RequestEvent.kind).where(RequestEvent.request_id == request_id).order_by(RequestEvent.id)
        )
        return list(rows)


async def fetch(w: World, model: Any, *where: Any) -> Any:
    async with w.sessionmaker() as session:
        found = await session.scalar(select(model).where(*where))
        assert found is not None
        return found


async def refused(coro: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await coro
    assert caught.value.non_retryable
    return caught.value


# ---- each writing activity, twice ------------------------------------------------------------


async def test_record_created_twice_claims_the_row_once(w: World) -> None:
    await twice(w.acts.record_created, await written(w, start(w.inactive, RC, RequestType.RECONNECTION)))

    assert await count(w, ServiceRequest, ServiceRequest.request_id == RC) == 1
    assert await kinds(w, RC) == ["created"]
    row = await fetch(w, ServiceRequest, ServiceRequest.request_id == RC)
    assert (row.status, row.consumer_id, row.created_at) == (RequestStatus.PENDING, w.inactive.id, NOW)
    consumer = await fetch(w, Consumer, Consumer.id == w.inactive.id)
    assert consumer.locked_by_request == RC


async def test_project_twice_writes_one_event_and_applies_its_changes(w: World) -> None:
    await open_request(w, w.inactive)
    ack = projection(RC, "acknowledged", status=RequestStatus.IN_PROGRESS, ack_state=SlaState.MET,
                     acknowledged_at=NOW)  # fmt: skip

    await twice(w.acts.project, ack)

    assert await kinds(w, RC) == ["created", "acknowledged"]
    row = await fetch(w, ServiceRequest, ServiceRequest.request_id == RC)
    assert (row.status, row.ack_state, row.acknowledged_at) == (RequestStatus.IN_PROGRESS, SlaState.MET, NOW)


async def test_a_late_rerun_of_project_does_not_undo_later_transitions(w: World) -> None:
    await open_request(w, w.inactive)
    ack = projection(RC, "acknowledged", 1, status=RequestStatus.IN_PROGRESS)
    hold = projection(RC, "put_on_hold", 2, status=RequestStatus.ON_HOLD)
    env = ActivityEnvironment()

    for p in (ack, hold, ack):
        await env.run(w.acts.project, p)

    assert await kinds(w, RC) == ["created", "acknowledged", "put_on_hold"]
    row = await fetch(w, ServiceRequest, ServiceRequest.request_id == RC)
    assert row.status is RequestStatus.ON_HOLD


@pytest.mark.parametrize("with_projection", [True, False], ids=["with-projection", "without"])
async def test_communicate_twice_writes_one_communication_and_one_event(
    w: World, with_projection: bool
) -> None:
    await open_request(w, w.inactive)
    p = projection(RC, "response_sent", first_response_at=NOW) if with_projection else None
    record = message(RC, w.inactive, f"{RC}:0001:communication", projection=p)

    await twice(w.acts.communicate, record)

    assert await count(w, Communication, Communication.idempotency_key == record.key) == 1
    assert await kinds(w, RC) == (["created", "response_sent"] if with_projection else ["created"])


async def test_create_service_order_twice_returns_the_same_order(w: World) -> None:
    await open_request(w, w.inactive)
    p = projection(RC, "service_order_created")
    record = ServiceOrderRecord(
        request_id=RC, consumer_id=w.inactive.id, key=f"{p.event_key}:order",
        service_type=ServiceOrderType.RECONNECTION, description="Reconnect at the meter box",
        scheduled_date=date(2026, 11, 5), occurred_at=NOW, projection=p,
    )  # fmt: skip

    first, second = await twice(w.acts.create_service_order, record)

    assert first == second
    assert first.order_number.startswith("SO-")
    assert await count(w, ServiceOrder, ServiceOrder.request_id == RC) == 1
    assert await kinds(w, RC) == ["created", "service_order_created"]


async def assert_reconnected_once(w: World) -> None:
    meter_ids = [w.meters["elec"].id, w.meters["water"].id]
    assert await kinds(w, RC) == ["created", "completed"]
    for meter_id in meter_ids:
        assert await count(w, MeterAssignment, MeterAssignment.meter_id == meter_id) == 1
        assert await count(w, MeterReading, MeterReading.meter_id == meter_id) == 1
        meter = await fetch(w, Meter, Meter.id == meter_id)
        assert meter.status is MeterStatus.ASSIGNED
    assert await count(w, BillingAccount, BillingAccount.consumer_id == w.inactive.id) == 1
    account = await fetch(w, BillingAccount, BillingAccount.consumer_id == w.inactive.id)
    assert (account.request_id, account.plan_id, account.active) == (RC, w.plan.id, True)
    assert await count(w, Communication, Communication.request_id == RC) == 1
    consumer = await fetch(w, Consumer, Consumer.id == w.inactive.id)
    assert (consumer.status, consumer.locked_by_request) == (ConsumerStatus.ACTIVE, None)
    row = await fetch(w, ServiceRequest, ServiceRequest.request_id == RC)
    assert row.status is RequestStatus.COMPLETED


async def test_complete_reconnection_twice_assigns_and_bills_once(w: World) -> None:
    await open_request(w, w.inactive)

    await twice(w.acts.complete, completion(w, RC, w.inactive, {"elec": "120.50", "water": "33"}))

    await assert_reconnected_once(w)


async def test_complete_rerun_by_a_fresh_worker_after_a_crash_changes_nothing(w: World, db_url: str) -> None:
    await open_request(w, w.inactive)
    done = completion(w, RC, w.inactive, {"elec": "120.50", "water": "33"})
    await ActivityEnvironment().run(w.acts.complete, done)

    # The worker died after the commit, before Temporal heard of it: a new process retries.
    engine = make_engine(db_url)
    try:
        await ActivityEnvironment().run(activities(make_sessionmaker(engine)).complete, done)
    finally:
        await engine.dispose()

    await assert_reconnected_once(w)


async def test_complete_disconnection_twice_unassigns_once(w: World) -> None:
    await open_request(w, w.active, DC)
    in_service = w.meters["in_service"].id

    await twice(w.acts.complete, completion(w, DC, w.active, {"in_service": "650"}))

    assert await kinds(w, DC) == ["created", "completed"]
    assignment = await fetch(w, MeterAssignment, MeterAssignment.meter_id == in_service)
    assert (assignment.unassigned_on, assignment.final_reading) == (TODAY, Decimal("650"))
    assert await count(w, MeterAssignment, MeterAssignment.meter_id == in_service) == 1
    assert await count(w, MeterReading, MeterReading.meter_id == in_service) == 1
    meter = await fetch(w, Meter, Meter.id == in_service)
    assert (meter.status, meter.last_reading) == (MeterStatus.AVAILABLE, Decimal("650"))
    consumer = await fetch(w, Consumer, Consumer.id == w.active.id)
    assert (consumer.status, consumer.locked_by_request) == (ConsumerStatus.INACTIVE, None)
    billing = (BillingAccount.consumer_id == w.active.id, BillingAccount.active)
    assert await count(w, BillingAccount, *billing) == 0
    assert await count(w, Communication, Communication.request_id == DC) == 1


async def test_release_twice_frees_the_lock_and_the_slot_seat_once(w: World) -> None:
    day = date(2026, 11, 5)
    async with w.sessionmaker() as session:
        slot = await factories.time_slot(session, capacity=2)
        await session.commit()
    await open_request(w, w.inactive, slot_id=slot.id, preferred_date=day)
    async with w.sessionmaker() as session:
        await book_slot(session, request_id=RC, slot_id=slot.id, day=day)
        await session.commit()
    seats = (SlotDay.slot_id == slot.id, SlotDay.day == day)
    assert (await fetch(w, SlotDay, *seats)).booked == 1
    closing = Release(
        consumer_id=w.inactive.id,
        projection=projection(RC, "closed", status=RequestStatus.CLOSED, resolved_at=NOW,
                              close_reason=CloseReason.CANCELLED_BY_CONSUMER),
    )  # fmt: skip

    await twice(w.acts.release, closing)

    assert (await fetch(w, SlotDay, *seats)).booked == 0
    assert await count(w, SlotBooking, SlotBooking.request_id == RC) == 0
    consumer = await fetch(w, Consumer, Consumer.id == w.inactive.id)
    assert consumer.locked_by_request is None
    assert await kinds(w, RC) == ["created", "closed"]


async def test_escalate_twice_writes_one_event_and_one_notice(w: World) -> None:
    await open_request(w, w.inactive)
    p = projection(RC, "escalated", escalation_level=1, priority=Priority.HIGH, sla_status=SlaState.BREACHED)
    escalation = Escalation(
        request_id=RC, consumer_id=w.inactive.id, level=1, target=SlaTarget.ACKNOWLEDGEMENT, projection=p,
        notice=message(RC, w.inactive, f"{p.event_key}:notice", channel=Channel.SYSTEM,
                       direction=Direction.INTERNAL),
    )  # fmt: skip

    await twice(w.acts.escalate, escalation)

    assert await kinds(w, RC) == ["created", "escalated"]
    notices = (Communication.request_id == RC, Communication.channel == Channel.SYSTEM)
    assert await count(w, Communication, *notices) == 1
    row = await fetch(w, ServiceRequest, ServiceRequest.request_id == RC)
    assert (row.escalation_level, row.priority) == (1, Priority.HIGH)


async def test_an_overlapping_attempt_of_project_does_not_fail_permanently(w: World) -> None:
    """After a start-to-close timeout Temporal retries while the first attempt may still be running:
    the retry's insert then hits the unique event_key, which is not an IntegrityViolation refusal."""
    await open_request(w, w.inactive)
    ack = projection(RC, "acknowledged", status=RequestStatus.IN_PROGRESS)
    async with w.sessionmaker() as first, first.begin():  # the first attempt, not committed yet
        first.add(RequestEvent(request_id=RC, event_key=ack.event_key, occurred_at=NOW, actor="csr",
                               kind="acknowledged", detail=""))  # fmt: skip
        await first.flush()
        retry = asyncio.create_task(ActivityEnvironment().run(w.acts.project, ack))
        await asyncio.sleep(0.5)  # the retry finds no event yet and waits on the first one's insert

    await retry

    assert await kinds(w, RC) == ["created", "acknowledged"]


# ---- refusals: typed, non-retryable, nothing written ----------------------------------------


def plan_check(plan_id: int) -> PlanCheck:
    return PlanCheck(
        plan_id=plan_id, consumer_category=Category.RESIDENTIAL, consumer_sub_category="Standard"
    )


async def test_check_plan_accepts_an_active_plan_for_the_category(w: World) -> None:
    view = await ActivityEnvironment().run(w.acts.check_plan, plan_check(w.plan.id))
    assert (view.plan_id, view.short_name) == (w.plan.id, "RES-STD")


async def test_check_plan_refuses_an_inactive_plan(w: World) -> None:
    error = await refused(ActivityEnvironment().run(w.acts.check_plan, plan_check(w.retired_plan.id)))
    assert error.type == "PlanNotEligible"


async def test_check_plan_refuses_an_unknown_plan(w: World) -> None:
    error = await refused(ActivityEnvironment().run(w.acts.check_plan, plan_check(999_999)))
    assert error.type == "PlanNotFound"


async def test_project_with_an_unknown_assignee_is_an_integrity_violation(w: World) -> None:
    await open_request(w, w.inactive)
    assign = projection(RC, "assigned", assigned_to=999_999)

    error = await refused(ActivityEnvironment().run(w.acts.project, assign))

    assert error.type == "IntegrityViolation"
    assert await kinds(w, RC) == ["created"]


async def test_complete_with_a_meter_in_maintenance_is_refused_and_writes_nothing(w: World) -> None:
    await open_request(w, w.inactive)
    done = completion(w, RC, w.inactive, {"elec": "120.50", "busy": "10"})

    error = await refused(ActivityEnvironment().run(w.acts.complete, done))

    assert error.type == "MeterUnavailable"
    assert await kinds(w, RC) == ["created"]
    consumer = await fetch(w, Consumer, Consumer.id == w.inactive.id)
    assert (consumer.status, consumer.locked_by_request) == (ConsumerStatus.INACTIVE, RC)
    elec = await fetch(w, Meter, Meter.id == w.meters["elec"].id)
    assert (elec.status, elec.last_reading) == (MeterStatus.AVAILABLE, Decimal("100.00"))
    for model in (MeterAssignment, MeterReading, Communication):
        assert await count(w, model, model.consumer_id == w.inactive.id) == 0
    assert await count(w, BillingAccount, BillingAccount.consumer_id == w.inactive.id) == 0


# ---- checked where written: select_plan, and complete with an activation to check ----------------


def selection(w: World, plan_id: int) -> PlanSelection:
    return PlanSelection(
        check=plan_check(plan_id), projection=projection(RC, "plan_selected", 2, plan_id=plan_id)
    )


async def test_select_plan_twice_checks_and_records_the_plan_once_named(w: World) -> None:
    await open_request(w, w.inactive)

    first, again = await twice(w.acts.select_plan, selection(w, w.plan.id))

    assert first == again and (first.plan_id, first.short_name) == (w.plan.id, "RES-STD")
    assert await kinds(w, RC) == ["created", "plan_selected"]
    event = await fetch(w, RequestEvent, RequestEvent.kind == "plan_selected")
    assert event.detail == "Plan selected: Plan RES-STD (RES-STD)."
    row = await fetch(w, ServiceRequest, ServiceRequest.request_id == RC)
    assert row.plan_id == w.plan.id


async def test_select_plan_refused_writes_nothing(w: World) -> None:
    await open_request(w, w.inactive)

    inactive = await refused(ActivityEnvironment().run(w.acts.select_plan, selection(w, w.retired_plan.id)))
    unknown = await refused(ActivityEnvironment().run(w.acts.select_plan, selection(w, 999_999)))

    assert (inactive.type, unknown.type) == ("PlanNotEligible", "PlanNotFound")
    assert await kinds(w, RC) == ["created"]
    assert (await fetch(w, ServiceRequest, ServiceRequest.request_id == RC)).plan_id is None


async def test_select_plan_retried_after_its_commit_answers_the_plan_though_it_was_retired(w: World) -> None:
    """The first attempt committed, then an admin retired the plan: the retry finds its event and
    answers the plan chosen, not a refusal the timeline would contradict."""
    await open_request(w, w.inactive)
    chosen = selection(w, w.plan.id)
    await ActivityEnvironment().run(w.acts.select_plan, chosen)
    async with w.sessionmaker() as session:
        plan = await session.get(Plan, w.plan.id)
        assert plan is not None
        plan.active = False
        await session.commit()

    view = await ActivityEnvironment().run(w.acts.select_plan, chosen)

    assert view.plan_id == w.plan.id and await kinds(w, RC) == ["created", "plan_selected"]


def checked(w: World, meters: dict[str, str]) -> Completion:
    return completion(w, RC, w.inactive, meters).model_copy(
        update={
            "activation": ActivationCheck(
                services=[(UtilityType.ELECTRICITY, True), (UtilityType.WATER, True)],
                plan_short_name="RES-STD",
                billing="Monthly billing, Manual",
            )
        }
    )


async def test_complete_checks_an_activation_against_its_meters_and_names_them(w: World) -> None:
    await open_request(w, w.inactive)

    await run_in(RC).run(w.acts.complete, checked(w, {"elec": "120.50", "water": "133"}))
    await run_in(RC).run(
        w.acts.complete, checked(w, {"elec": "120.50", "water": "133"})
    )  # a retry: not refused

    await assert_reconnected_once(w)
    event = await fetch(w, RequestEvent, RequestEvent.kind == "completed")
    assert event.detail.startswith("Reconnected and activated on plan RES-STD; meters: electricity ")
    assert event.detail.endswith("; Monthly billing, Manual.")


@pytest.mark.parametrize(
    ("meters", "code"),
    [
        ({"elec": "99.99", "water": "133"}, "reading_below_last"),
        ({"busy": "10", "water": "133"}, "meter_unavailable"),
        ({"elec": "120.50"}, "meter_required"),
    ],
)
async def test_complete_refuses_an_activation_its_meters_do_not_allow_and_writes_nothing(
    w: World, meters: dict[str, str], code: str
) -> None:
    await open_request(w, w.inactive)

    error = await refused(run_in(RC).run(w.acts.complete, checked(w, meters)))

    assert error.type == "TransitionRefused" and error.details == ({"code": code},)
    assert await kinds(w, RC) == ["created"]
    for model in (MeterAssignment, MeterReading, Communication, BillingAccount):
        assert await count(w, model, model.consumer_id == w.inactive.id) == 0


async def test_complete_refuses_an_unknown_meter(w: World) -> None:
    await open_request(w, w.inactive)
    done = checked(w, {"elec": "120.50", "water": "133"})
    done.meters[1] = done.meters[1].model_copy(update={"meter_number": "NO-SUCH-METER"})

    error = await refused(run_in(RC).run(w.acts.complete, done))

    assert error.details == ({"code": "meter_unknown"},) and "NO-SUCH-METER" in error.message
    assert await kinds(w, RC) == ["created"]


# ---- lookups when a lost workflow task runs them again ---------------------------------------------


def run_in(workflow_id: str) -> ActivityEnvironment:
    """An activity environment as if called by the workflow ``workflow_id`` (the request's ID,
    after the deployment's prefix)."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=workflow_id)
    return env


async def test_a_reconnection_lookup_after_its_own_completion_says_so(w: World) -> None:
    """A workflow task lost after the completion's local activity committed is run again: its
    lookup must not refuse the meters its own completion just assigned."""
    await open_request(w, w.inactive)
    lookup = MeterLookup(meter_numbers=[w.meters["elec"].meter_number])

    before = await run_in(f"prod/{RC}").run(w.acts.lookup_meters, lookup)
    await ActivityEnvironment().run(w.acts.complete, completion(w, RC, w.inactive, {"elec": "120.50"}))
    after = await run_in(f"prod/{RC}").run(w.acts.lookup_meters, lookup)
    other = await run_in("prod/RC-2026-999999").run(w.acts.lookup_meters, lookup)

    assert (before.completed_by_this_request, after.completed_by_this_request) == (False, True)
    assert [m.available for m in after.meters] == [False]  # the facts stay true; the flag says why
    assert other.completed_by_this_request is False  # another request is still refused the meter


async def test_a_disconnection_lookup_after_its_own_completion_still_names_its_meters(w: World) -> None:
    await open_request(w, w.active, DC)
    in_service = w.meters["in_service"].meter_number

    before = await run_in(DC).run(w.acts.consumer_meters, w.active.id)
    await ActivityEnvironment().run(w.acts.complete, completion(w, DC, w.active, {"in_service": "650"}))
    after = await run_in(DC).run(w.acts.consumer_meters, w.active.id)
    other = await run_in("DC-2026-999999").run(w.acts.consumer_meters, w.active.id)

    assert ([m.meter_number for m in before.meters], before.completed_by_this_request) == (
        [in_service],
        False,
    )
    assert ([m.meter_number for m in after.meters], after.completed_by_this_request) == ([in_service], True)
    assert (other.meters, other.completed_by_this_request) == ([], False)
