"""E-mail goes out over real SMTP (aiosmtpd on localhost): escalations to supervisors,
confirmations to the consumer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update
from temporalio.client import WorkflowExecutionStatus

from db.models import Notification, ServiceRequest
from domain.consumers.types import UtilityType
from domain.users import Role
from tests import factories
from tests.workflows.conftest import Mailbox, World
from workflows.actions import Acknowledge, Activate, MeterChoiceBody, SelectPlan
from workflows.request import RequestWorkflow


async def test_breach_emails_the_supervisors(timed_mail_world: World, mailbox: Mailbox) -> None:
    world = timed_mail_world
    created = await world.env.get_current_time()
    handle = await world.start(created_at=created)

    await world.env.sleep(timedelta(hours=2, seconds=5))

    messages = await mailbox.wait_for(1)
    assert len(messages) == 1
    assert messages[0]["X-Envelope-To"] == "supervisors@utility.example"
    assert messages[0]["Subject"] == f"Escalation level 1: {handle.id}"
    assert "acknowledgement SLA breached" in messages[0].get_content()


async def test_a_breach_tells_the_chains_people_in_the_app_and_by_email(
    timed_mail_world: World, mailbox: Mailbox
) -> None:
    """With staff on file, level 1 goes to the assignee and the supervisors (the default chain):
    one inbox line each, and the e-mail to their addresses instead of the shared one."""
    world = timed_mail_world
    async with world.sessionmaker() as session:
        csr = await factories.user(session, "ann", Role.CSR)
        supervisor = await factories.user(session, "cy", Role.SUPERVISOR)
        await factories.user(session, "eve", Role.ADMIN)  # level 2's
        await session.commit()
    handle = await world.start(created_at=await world.env.get_current_time())
    async with world.sessionmaker() as session:
        await session.execute(
            update(ServiceRequest).where(ServiceRequest.request_id == handle.id).values(assigned_to=csr.id)
        )
        await session.commit()

    await world.env.sleep(timedelta(hours=2, seconds=5))

    messages = await mailbox.wait_for(1)
    assert sorted(messages[0]["X-Envelope-To"].split(", ")) == sorted([csr.email, supervisor.email])
    async with world.sessionmaker() as session:
        told = (
            await session.scalars(
                select(Notification.user_id)
                .where(Notification.request_id == handle.id)
                .order_by(Notification.user_id)
            )
        ).all()
    assert list(told) == [csr.id, supervisor.id]


async def test_completion_emails_the_consumer_a_confirmation(mail_world: World, mailbox: Mailbox) -> None:
    world = mail_world
    handle = await world.start()
    today = (await world.env.get_current_time()).date()
    await handle.execute_update(RequestWorkflow.acknowledge, Acknowledge(actor="csr"))
    await handle.execute_update(RequestWorkflow.select_plan, SelectPlan(actor="csr", plan_id=world.plan.id))
    await handle.execute_update(
        RequestWorkflow.activate,
        Activate(
            actor="csr",
            meters=[
                MeterChoiceBody(utility=UtilityType.ELECTRICITY, meter_number=world.meters["elec"].meter_number,
                            reading=Decimal(150), reading_date=today),
                MeterChoiceBody(utility=UtilityType.WATER, meter_number=world.meters["water"].meter_number,
                            reading=Decimal(120), reading_date=today),
            ],
        ),
    )  # fmt: skip

    messages = await mailbox.wait_for(1)
    assert [m["X-Envelope-To"] for m in messages] == [world.consumer.email]
    assert messages[0]["Subject"] == "Service restored"
    # the Message-ID carries the whole key (request, event, purpose): a receiver tells a re-send
    # of this message from another message of the same request
    message_id = str(messages[0]["Message-ID"])
    assert message_id.startswith(f"<{handle.id}.") and message_id.endswith(".confirmation@connectdesk>")
    assert "electricity and water service has been reconnected" in messages[0].get_content()
    await handle.result()  # the workflow waits for its e-mails before it completes
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
