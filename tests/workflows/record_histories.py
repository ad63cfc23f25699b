"""Record workflow histories for the replay test: `python -m tests.workflows.record_histories [NAME ...]`.

Runs representative requests on a real dev server against a throwaway SQLite database and
writes each execution's history under tests/workflows/histories/. Name the scenarios to record
(default: all): re-record only a scenario you add; a change to workflow logic must still replay
the histories already checked in, recorded by the code that was deployed then.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from activities.mail import Mailer
from activities.request import RequestActivities
from cli.binaries import temporal_cli, temporal_test_server
from db.migrate import upgrade
from db.session import make_engine, make_sessionmaker
from domain.consumers.types import BillingCycle, PaymentMode, ServiceOrderType, UtilityType
from domain.request.types import Channel, CloseReason, ContactOutcome, Direction, Visibility
from settings import Settings
from tests.workflows.conftest import World, make_world
from worker import build_worker
from workflows import search_attributes
from workflows.actions import (
    Acknowledge,
    Activate,
    AddNote,
    Close,
    CreateServiceOrder,
    FinalReadingBody,
    LogContact,
    MeterChoiceBody,
    PutOnHold,
    RecordFinalReadings,
    Resume,
    SelectPlan,
    SendResponse,
)
from workflows.converter import data_converter
from workflows.request import RequestWorkflow
from workflows.schemas import SlaSettings

OUT = Path(__file__).parent / "histories"
Scenario = Callable[[World], Awaitable[None]]


async def _save(world: World, handle: object, name: str) -> None:
    history = await handle.fetch_history()  # type: ignore[attr-defined]
    (OUT / f"{name}.json").write_text(history.to_json())
    print("recorded", name)


async def reconnection(world: World, name: str = "reconnection_completed") -> None:
    handle = await world.start()
    today = (await world.env.get_current_time()).date()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(
        RequestWorkflow.send_response, SendResponse(actor="csr", channel=Channel.SMS, message="On our way")
    )
    await handle.execute_update(
        RequestWorkflow.add_note, AddNote(actor="csr", text="Gate code 1234", visibility=Visibility.INTERNAL)
    )
    await handle.execute_update(
        RequestWorkflow.put_on_hold, PutOnHold(actor="csr", reason="Awaiting payment")
    )
    await handle.execute_update(RequestWorkflow.resume, Resume(actor="csr"))
    await handle.execute_update(
        RequestWorkflow.create_service_order,
        CreateServiceOrder(
            actor="csr", service_type=ServiceOrderType.RECONNECTION, description="Restore supply"
        ),
    )
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))
    await handle.execute_update(RequestWorkflow.activate, Activate(actor="csr", meters=[
        MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=world.meters["elec"].meter_number, reading=Decimal("150"), reading_date=today),
        MeterChoiceBody(utility=UtilityType.WATER, meter_number=world.meters["water"].meter_number, reading=Decimal("120"), reading_date=today),
    ]))  # fmt: skip
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, name)


async def contacts_and_billing(world: World) -> None:
    """The response-delivered patch: a consumer-visible note and an unanswered call leave the
    response clock, an SMS response is sent (send_sms), a call that reached the consumer is logged;
    the activation chooses Quarterly Auto-pay."""
    handle = await world.start()
    today = (await world.env.get_current_time()).date()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(
        RequestWorkflow.add_note, AddNote(actor="csr", text="We will call", visibility=Visibility.CONSUMER)
    )
    await handle.execute_update(RequestWorkflow.log_contact, LogContact(
        actor="csr", channel=Channel.PHONE, direction=Direction.TO_CUSTOMER, outcome=ContactOutcome.NO_ANSWER))  # fmt: skip
    await handle.execute_update(
        RequestWorkflow.send_response, SendResponse(actor="csr", channel=Channel.SMS, message="Call us back")
    )
    await handle.execute_update(RequestWorkflow.log_contact, LogContact(
        actor="csr", channel=Channel.PHONE, direction=Direction.FROM_CUSTOMER, outcome=ContactOutcome.REACHED,
        duration_minutes=4, notes="Agreed Friday"))  # fmt: skip
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))
    await handle.execute_update(RequestWorkflow.activate, Activate(actor="csr", meters=[
        MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=world.meters["elec"].meter_number, reading=Decimal("150"), reading_date=today),
        MeterChoiceBody(utility=UtilityType.WATER, meter_number=world.meters["water"].meter_number, reading=Decimal("120"), reading_date=today),
    ], billing_cycle=BillingCycle.QUARTERLY, payment_method=PaymentMode.AUTO_PAY, payment_reference="MANDATE-1"))  # fmt: skip
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, "reconnection_contacts_billing")


async def disconnection(world: World, name: str = "disconnection_completed") -> None:
    assert world.active_consumer is not None
    handle = await world.start(consumer=world.active_consumer)
    today = (await world.env.get_current_time()).date()
    await handle.signal("put_on_hold", {"actor": "ops", "reason": "refused: still Pending"})
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(RequestWorkflow.record_final_readings, RecordFinalReadings(actor="csr", readings=[
        FinalReadingBody(meter_number=world.meters["in_service"].meter_number, reading=Decimal("640"), reading_date=today)]))  # fmt: skip
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, name)


async def escalation(world: World, name: str = "escalated_held_closed") -> None:
    created = await world.env.get_current_time()
    handle = await world.start(
        created_at=created, sla=SlaSettings(pause_resolution_on_hold=True, re_escalate_minutes=60)
    )
    await world.env.sleep(timedelta(hours=3))
    await handle.signal("acknowledge", {"actor": "csr"})
    await world.env.sleep(timedelta(minutes=1))
    await handle.signal("put_on_hold", {"actor": "csr", "reason": "Waiting"})
    await world.env.sleep(timedelta(hours=30))
    await handle.signal("resume", {"actor": "csr"})
    await world.env.sleep(timedelta(hours=40))
    await handle.signal(
        "close",
        {"actor": "supervisor", "reason": CloseReason.NO_CONSUMER_RESPONSE.value, "notes": "No answer"},
    )
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, name)


async def acknowledged_with_start(world: World, name: str = "acknowledged_with_start_closed") -> None:
    """The action arrives in the first workflow task (update-with-start): recorded with the
    ``row-before-actions`` patch, the action waiting for the row."""
    start = await world.start_request()
    operation = WithStartWorkflowOperation(
        RequestWorkflow.run, start, id=start.request_id, task_queue=world.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )  # fmt: skip
    await world.env.client.execute_update_with_start_workflow(
        RequestWorkflow.acknowledge, Acknowledge(actor="csr"), start_workflow_operation=operation
    )
    handle = await operation.workflow_handle()
    await handle.execute_update(
        RequestWorkflow.close,
        Close(actor="supervisor", reason=CloseReason.DUPLICATE_REQUEST, notes="Raised twice"),
    )
    await handle.result()
    await _save(world, handle, name)


async def retried_actions(world: World) -> None:
    """Actions sent under update IDs (a caller's Idempotency-Key) with their digest, each sent twice:
    the second of each pair is answered from the first, so the history holds each action once."""
    handle = await world.start()
    for _ in range(2):
        await handle.execute_update(
            RequestWorkflow.acknowledge, Acknowledge(actor="csr", digest="a" * 64), id="acknowledge/1/key-1"
        )
        await handle.execute_update(
            RequestWorkflow.add_note,
            AddNote(actor="csr", text="Retried note", visibility=Visibility.INTERNAL, digest="b" * 64),
            id="add_note/1/key-2",
        )
    await handle.execute_update(
        RequestWorkflow.close,
        Close(actor="csr", reason=CloseReason.CANCELLED_BY_CONSUMER, notes="Retried", digest="c" * 64),
        id="close/1/key-3",
    )
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, "retried_actions_closed")


async def disconnection_notices(world: World, name: str = "disconnection_notices_closed") -> None:
    """A non-payment disconnection under the ``disconnection-notices`` patch: the final notice, the
    notice period and two contact attempts on timers, a protection holding it and its expiry
    resuming it, ready for field work, then closed."""
    from datetime import datetime as _dt

    from db import disconnection as stored
    from db.models import ConsumerProtection
    from domain.disconnection.profile import PENNSYLVANIA
    from domain.disconnection.protections import ProtectionKind
    from workflows.schemas import ProtectionsChanged

    assert world.active_consumer is not None
    async with world.sessionmaker() as session:
        await stored.save_profile(session, PENNSYLVANIA.model_copy(update={"moratoria": ()}), by="admin")
        await session.commit()
    handle = await world.start(consumer=world.active_consumer, reason="Non-payment")
    await handle.signal("acknowledge", {"actor": "csr"})
    await world.env.sleep(timedelta(hours=1))
    now: _dt = await world.env.get_current_time()
    async with world.sessionmaker() as session:
        session.add(ConsumerProtection(
            consumer_id=world.active_consumer.id, kind=ProtectionKind.DISPUTE_UNDER_REVIEW, starts_at=now,
            ends_at=now + timedelta(days=2), renewals=0, recorded_by="csr", recorded_at=now,
        ))  # fmt: skip
        await session.commit()
    await handle.signal(RequestWorkflow.protections_changed, ProtectionsChanged(what="recorded", by="csr"))
    await world.env.sleep(timedelta(days=20))
    await handle.signal(
        "close", {"actor": "csr", "reason": CloseReason.CANCELLED_BY_CONSUMER.value, "notes": "Paid in full"}
    )
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, name)


async def disconnection_payment_cancelled(world: World) -> None:
    """A non-payment disconnection in its notice period: a partial payment noted, then one that
    clears the arrears closes it (Payment received), the signal delivered twice."""
    from sqlalchemy import update

    from db import disconnection as stored
    from db.models import Consumer
    from domain.disconnection.profile import PENNSYLVANIA
    from workflows.schemas import PAYMENT_RECEIVED, PaymentReceived

    assert world.active_consumer is not None
    consumer_id = world.active_consumer.id

    async def owes(amount: str) -> None:
        async with world.sessionmaker() as session:
            await session.execute(
                update(Consumer).where(Consumer.id == consumer_id).values(balance=Decimal(amount))
            )
            await session.commit()

    async with world.sessionmaker() as session:
        await stored.save_profile(session, PENNSYLVANIA.model_copy(update={"moratoria": ()}), by="admin")
        await session.commit()
    await owes("180")
    handle = await world.start(consumer=world.active_consumer, reason="Non-payment")
    await handle.signal("acknowledge", {"actor": "csr"})
    await world.env.sleep(timedelta(hours=1))
    now = await world.env.get_current_time()
    await owes("130")
    await handle.signal(PAYMENT_RECEIVED, PaymentReceived(
        reference="PAY-1", amount=Decimal("50"), balance=Decimal("130"), received_at=now, by="csr"))  # fmt: skip
    await world.env.sleep(timedelta(hours=1))
    await owes("0")
    full = PaymentReceived(
        reference="PAY-2", amount=Decimal("130"), balance=Decimal("0"), received_at=now, by="csr"
    )
    await handle.signal(PAYMENT_RECEIVED, full)
    await handle.signal(PAYMENT_RECEIVED, full)
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, "disconnection_payment_cancelled")


async def disconnection_notice_renewed(world: World) -> None:
    """A non-payment disconnection under the ``final-notice-renewal`` patch: its notice expires while
    a dispute holds it, a new notice goes out once the dispute ends, then it is closed."""
    from db import disconnection as stored
    from db.models import ConsumerProtection
    from domain.disconnection.profile import PENNSYLVANIA
    from domain.disconnection.protections import ProtectionKind
    from workflows.schemas import ProtectionsChanged

    assert world.active_consumer is not None
    async with world.sessionmaker() as session:
        await stored.save_profile(session, PENNSYLVANIA.model_copy(update={"moratoria": ()}), by="admin")
        await session.commit()
    handle = await world.start(consumer=world.active_consumer, reason="Non-payment")
    await handle.signal("acknowledge", {"actor": "csr"})
    await world.env.sleep(timedelta(hours=1))
    now = await world.env.get_current_time()
    async with world.sessionmaker() as session:
        session.add(ConsumerProtection(
            consumer_id=world.active_consumer.id, kind=ProtectionKind.DISPUTE_UNDER_REVIEW, starts_at=now,
            ends_at=now + timedelta(days=75), renewals=0, recorded_by="csr", recorded_at=now,
        ))  # fmt: skip
        await session.commit()
    await handle.signal(RequestWorkflow.protections_changed, ProtectionsChanged(what="recorded", by="csr"))
    await world.env.sleep(timedelta(days=77))
    await handle.signal(
        "close", {"actor": "csr", "reason": CloseReason.CANCELLED_BY_CONSUMER.value, "notes": ""}
    )
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, "disconnection_notice_renewed")


# The same requests again, recorded with the ``local-activities`` patch: their database
# activities are local ones (markers in the history), e-mails still regular activities.


def _recorded_as(scenario: Callable[..., Awaitable[None]], history: str, name: str) -> Scenario:
    """``scenario`` recorded again under ``history``, selectable on the command line as ``name``."""

    async def again(world: World) -> None:
        await scenario(world, history)

    again.__name__ = name
    return again


reconnection_local = _recorded_as(reconnection, "reconnection_completed_local", "reconnection_local")
disconnection_local = _recorded_as(disconnection, "disconnection_completed_local", "disconnection_local")
acknowledged_with_start_local = _recorded_as(
    acknowledged_with_start, "acknowledged_with_start_closed_local", "acknowledged_with_start_local"
)
escalation_local = _recorded_as(escalation, "escalated_held_closed_local", "escalation_local")


# Service on, service off (issue 15, point 1): a temporary disconnection (kind in its start), one
# started before kinds existed (the ``service-off-kinds`` patch decides its kind), and the
# reconnection that re-energises a temporarily disconnected consumer's meter in place.


async def _temporarily_disconnect(world: World, name: str, *, kind_in_start: bool) -> None:
    assert world.active_consumer is not None
    start = await world.start_request(consumer=world.active_consumer, reason="Seasonal closure")
    if not kind_in_start:
        start = start.model_copy(update={"disconnection_kind": None})
    handle = await world.env.client.start_workflow(
        RequestWorkflow.run, start, id=start.request_id, task_queue=world.task_queue
    )
    await world.wait_for_claim(start.request_id)
    today = (await world.env.get_current_time()).date()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(RequestWorkflow.record_final_readings, RecordFinalReadings(actor="csr", readings=[
        FinalReadingBody(meter_number=world.meters["in_service"].meter_number, reading=Decimal("640"), reading_date=today)]))  # fmt: skip
    await handle.result()
    await _save(world, handle, name)


async def disconnection_service_off(world: World) -> None:
    await _temporarily_disconnect(world, "disconnection_temporary_service_off", kind_in_start=True)


async def disconnection_no_kind_service_off(world: World) -> None:
    await _temporarily_disconnect(world, "disconnection_no_kind_service_off", kind_in_start=False)


async def reconnection_service_off(world: World, name: str = "reconnection_in_place_service_off") -> None:
    await _temporarily_disconnect(world, "scratch_service_off", kind_in_start=True)
    (OUT / "scratch_service_off.json").unlink()
    from db.models import Consumer

    async with world.sessionmaker() as session:
        assert world.active_consumer is not None
        consumer = await session.get(Consumer, world.active_consumer.id)
    handle = await world.start(consumer=consumer)
    today = (await world.env.get_current_time()).date()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))
    await handle.execute_update(RequestWorkflow.activate, Activate(actor="csr", meters=[
        MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=world.meters["in_service"].meter_number, reading=Decimal("650"), reading_date=today),
        MeterChoiceBody(utility=UtilityType.WATER, meter_number=world.meters["water"].meter_number, reading=Decimal("120"), reading_date=today),
    ]))  # fmt: skip
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, name)


async def sla_calendar_follow_ups(world: World, name: str = "sla_calendar_follow_ups_closed") -> None:
    """Business-hours resolution on a captured calendar, a pause, a new policy applied, a follow-up
    that fires and one the close cancels, and an escalation by hand."""
    from datetime import time

    from domain.business_time import BusinessCalendar, WorkWindow
    from domain.disconnection.profile import Weekday
    from workflows.schemas import SLA_POLICY_CHANGED, SlaPolicyChanged

    created = await world.env.get_current_time()
    calendar = BusinessCalendar(
        time_zone="UTC", hours={d: (WorkWindow(start=time(6), end=time(20)),) for d in Weekday}
    )
    sla = SlaSettings(pause_resolution_on_hold=True, resolution_business_hours=True, calendar=calendar)
    handle = await world.start(created_at=created, sla=sla)
    await handle.signal("acknowledge", {"actor": "csr"})
    await handle.signal(
        "follow_up", {"actor": "csr", "at": (created + timedelta(hours=1)).isoformat(), "note": "Call back"}
    )
    await handle.signal("follow_up", {"actor": "csr", "in_business_hours": 30})
    await world.env.sleep(timedelta(hours=2))
    await handle.signal("put_on_hold", {"actor": "csr", "reason": "Waiting"})
    await world.env.sleep(timedelta(hours=5))
    await handle.signal("resume", {"actor": "csr"})
    await handle.signal(
        SLA_POLICY_CHANGED,
        SlaPolicyChanged(settings=sla.model_copy(update={"resolution_minutes": 2000}), by="admin"),
    )
    await handle.signal("escalate", {"actor": "csr", "reason": "Consumer is vulnerable"})
    await world.env.sleep(timedelta(hours=1))
    await handle.signal(
        "close", {"actor": "supervisor", "reason": CloseReason.NO_CONSUMER_RESPONSE.value, "notes": ""}
    )
    await handle.result()  # type: ignore[attr-defined]
    await _save(world, handle, name)


# Recorded with the ``kept-timer`` patch: a change that leaves the next deadline in place keeps its
# timer, and only search attributes that changed are upserted.


reconnection_kept_timer = _recorded_as(
    reconnection, "reconnection_completed_kept_timer", "reconnection_kept_timer"
)
escalation_kept_timer = _recorded_as(escalation, "escalated_held_closed_kept_timer", "escalation_kept_timer")
sla_calendar_follow_ups_kept_timer = _recorded_as(
    sla_calendar_follow_ups, "sla_calendar_follow_ups_closed_kept_timer", "sla_calendar_follow_ups_kept_timer"
)

# Recorded with the process's one data converter (workflows/converter.py) and SQLite in one trip
# a statement (db/sqlite_driver.py): no command changed, so no patch; the replay test checks it.
reconnection_converter = _recorded_as(
    reconnection, "reconnection_completed_converter", "reconnection_converter"
)

# Recorded with the release marker (``release-2026-12``): each run records one patch marker for every
# patch, at its first decision, and its first action none; otherwise the same commands as before.
reconnection_release = _recorded_as(reconnection, "reconnection_completed_release", "reconnection_release")
acknowledged_with_start_release = _recorded_as(
    acknowledged_with_start, "acknowledged_with_start_closed_release", "acknowledged_with_start_release"
)
escalation_release = _recorded_as(escalation, "escalated_held_closed_release", "escalation_release")
sla_calendar_follow_ups_release = _recorded_as(
    sla_calendar_follow_ups, "sla_calendar_follow_ups_closed_release", "sla_calendar_follow_ups_release"
)
disconnection_notices_release = _recorded_as(
    disconnection_notices, "disconnection_notices_closed_release", "disconnection_notices_release"
)


async def started_with_attributes(world: World, name: str = "started_with_attributes_closed_release") -> None:
    """Started as the API starts a request, with its six search attributes: its first publish
    upserts none of them again (``start-attributes-published``, under the release marker)."""
    handle = await world.start(with_search_attributes=True)
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(
        RequestWorkflow.close, Close(actor="csr", reason=CloseReason.ISSUE_RESOLVED, notes="Done")
    )
    await handle.result()
    await _save(world, handle, name)


# Recorded with the next release marker (``release-2026-12-b``): select-plan and activate check
# their rules where they write them, one local activity each (no lookup before).
reconnection_checked = _recorded_as(reconnection, "reconnection_completed_checked", "reconnection_checked")
reconnection_in_place_checked = _recorded_as(
    reconnection_service_off, "reconnection_in_place_checked", "reconnection_in_place_checked"
)


async def activation_refused_checked(world: World, name: str = "activation_refused_checked") -> None:
    """An activation the completion's transaction refuses (a reading below the meter's last one,
    which only the database knows), then one it accepts."""
    handle = await world.start()
    today = (await world.env.get_current_time()).date()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))
    for elec in ("1", "150"):
        with contextlib.suppress(WorkflowUpdateFailedError):
            await handle.execute_update(RequestWorkflow.activate, Activate(actor="csr", meters=[
                MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=world.meters["elec"].meter_number, reading=Decimal(elec), reading_date=today),
                MeterChoiceBody(utility=UtilityType.WATER, meter_number=world.meters["water"].meter_number, reading=Decimal("120"), reading_date=today),
            ]))  # fmt: skip
    await handle.result()
    await _save(world, handle, name)


async def main(only: set[str]) -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for scenarios, env_factory in (
            ((reconnection, disconnection, acknowledged_with_start, retried_actions, reconnection_local,
              disconnection_local, acknowledged_with_start_local, disconnection_service_off,
              disconnection_no_kind_service_off, reconnection_service_off, contacts_and_billing,
              reconnection_kept_timer, reconnection_converter, reconnection_release,
              acknowledged_with_start_release, started_with_attributes, reconnection_checked,
              reconnection_in_place_checked, activation_refused_checked), lambda: WorkflowEnvironment.start_local(
                dev_server_existing_path=str(temporal_cli()), data_converter=data_converter,
                search_attributes=search_attributes.ALL, ui=False)),
            ((escalation, escalation_local, disconnection_notices, disconnection_payment_cancelled,
              disconnection_notice_renewed, sla_calendar_follow_ups, escalation_kept_timer,
              sla_calendar_follow_ups_kept_timer, escalation_release, sla_calendar_follow_ups_release,
              disconnection_notices_release), lambda: WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=str(temporal_test_server()), data_converter=data_converter)),
        ):  # fmt: skip
            async with await env_factory() as env:
                if escalation in scenarios:
                    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

                    await env.client.operator_service.add_search_attributes(
                        AddSearchAttributesRequest(
                            namespace=env.client.namespace,
                            search_attributes={k.name: k.indexed_value_type for k in search_attributes.ALL},
                        )
                    )
                for n, scenario in enumerate(scenarios):
                    if only and scenario.__name__ not in only:
                        continue
                    url = f"sqlite+aiosqlite:///{tmp}/{scenario.__name__}.db"
                    await upgrade(url)
                    engine = make_engine(url)
                    sessionmaker = make_sessionmaker(engine)
                    acts = RequestActivities(sessionmaker, Mailer("", 25, "x@example.com"), "sup@example.com")
                    queue = f"record-{scenario.__name__}-{n}"
                    async with build_worker(env.client, Settings(), acts, task_queue=queue):
                        await scenario(await make_world(env, queue, sessionmaker))
                    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(set(sys.argv[1:])))
