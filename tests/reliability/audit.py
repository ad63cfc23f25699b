"""After the faults: is every request where the script drove it, was anything written twice or
not at all, and did every workflow finish?

A duplicate is the same logical thing written more than once. The script gives each action its own
text, so two rows that agree on their natural key and text are one action applied twice: a second
timeline event with the same (request, kind, detail), a second communication with the same
(request, channel, subject, body), a second service order with the same (request, type,
description), a second e-mail with the same (to, subject, body) under another Message-ID, a meter
assigned twice to one consumer, a second billing account for one consumer, a second request for
one consumer.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from db.models import (
    BillingAccount,
    Communication,
    Consumer,
    MeterAssignment,
    RequestEvent,
    ServiceOrder,
    ServiceRequest,
)
from domain.consumers.types import ConsumerStatus
from tests.reliability.load import Kind, Script
from tests.reliability.processes import Mailbox

DUPLICATE_KINDS = (
    "requests",
    "timeline events",
    "communications",
    "e-mails",
    "service orders",
    "meter assignments",
    "billing accounts",
)


@dataclass
class Findings:
    wrong_end_state: list[str] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DUPLICATE_KINDS, 0))
    duplicate_samples: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    emails: int = 0
    emails_resent: int = 0  # one message sent again under its own Message-ID (see _email_duplicates)
    shared_message_ids: int = 0  # different e-mails under one Message-ID
    message_id_samples: list[str] = field(default_factory=list)
    workflows: Counter[str] = field(default_factory=Counter)  # by execution status
    failures: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.workflows.items() if s not in ("COMPLETED", "RUNNING"))

    @property
    def running(self) -> int:
        return self.workflows["RUNNING"]


async def wait_until_settled(client: Client, mailbox: Mailbox, expected_emails: int, timeout: float) -> None:
    """Until no workflow runs and the e-mails are in (each workflow waits for its own e-mails)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = await client.count_workflows('ExecutionStatus="Running"')
        if running.count == 0 and len(mailbox.messages) >= expected_emails:
            return
        await asyncio.sleep(1.0)


async def _groups(session: AsyncSession, columns: list[Any], where: Any = None) -> list[tuple[Any, ...]]:
    stmt = select(*columns, func.count()).group_by(*columns).having(func.count() > 1)
    if where is not None:
        stmt = stmt.where(where)
    return [tuple(row) for row in (await session.execute(stmt)).all()]


async def audit(
    sessionmaker: async_sessionmaker[AsyncSession], client: Client, scripts: list[Script], mailbox: Mailbox
) -> Findings:
    found = Findings()
    async with sessionmaker() as session:
        await _duplicates(session, found)
        await _end_states(session, scripts, found)
        await _effects(session, scripts, mailbox, found)
    _email_duplicates(mailbox, found)
    await _workflows(client, scripts, found)
    return found


async def _duplicates(session: AsyncSession, found: Findings) -> None:
    checks: dict[str, list[tuple[Any, ...]]] = {
        "requests": await _groups(session, [ServiceRequest.consumer_id]),
        "timeline events": await _groups(
            session, [RequestEvent.request_id, RequestEvent.kind, RequestEvent.detail]
        ),
        "communications": await _groups(
            session,
            [Communication.request_id, Communication.channel, Communication.subject, Communication.body],
        ),
        "service orders": await _groups(
            session, [ServiceOrder.request_id, ServiceOrder.service_type, ServiceOrder.description]
        ),
        "meter assignments": await _groups(session, [MeterAssignment.consumer_id, MeterAssignment.meter_id])
        + await _groups(session, [MeterAssignment.meter_id], MeterAssignment.unassigned_on.is_(None)),
        "billing accounts": await _groups(session, [BillingAccount.consumer_id]),
    }
    for kind, groups in checks.items():
        found.duplicates[kind] = sum(row[-1] - 1 for row in groups)
        found.duplicate_samples += [f"{kind}: {row[:-1]} ×{row[-1]}" for row in groups[:3]]


def _email_duplicates(mailbox: Mailbox, found: Findings) -> None:
    """The same e-mail received twice is a duplicate, unless every copy came under one Message-ID
    that names that e-mail alone: then it is an activity retry re-sending one message (the send
    went out just before a SIGKILL), which a receiver drops by its Message-ID. Counted apart."""
    messages = list(mailbox.messages)
    found.emails = len(messages)
    ids: dict[tuple[str, str, str], list[str]] = {}
    contents: dict[str, set[tuple[str, str, str]]] = {}
    for m in messages:
        ids.setdefault((m.to, m.subject, m.body), []).append(m.message_id)
        contents.setdefault(m.message_id, set()).add((m.to, m.subject, m.body))
    for key, copies in ids.items():
        if len(copies) < 2:
            continue
        if len(set(copies)) == 1 and len(contents[copies[0]]) == 1:
            found.emails_resent += len(copies) - 1
        else:
            found.duplicates["e-mails"] += len(copies) - 1
            found.duplicate_samples.append(f"e-mails: {key[:2]} ×{len(copies)}")
    shared = {i: c for i, c in contents.items() if len(c) > 1}
    found.shared_message_ids = sum(len(c) for c in shared.values())
    found.message_id_samples = [
        f"{i!r} names {len(c)} different e-mails" for i, c in list(shared.items())[:3]
    ]


async def _end_states(session: AsyncSession, scripts: list[Script], found: Findings) -> None:
    rows = {
        r.request_id: r
        for r in (
            await session.scalars(
                select(ServiceRequest).where(
                    ServiceRequest.request_id.in_([s.request_id for s in scripts if s.request_id])
                )
            )
        ).all()
    }
    consumers = {c.id: c for c in (await session.scalars(select(Consumer))).all()}
    for s in scripts:
        row = rows.get(s.request_id or "")
        consumer = consumers[s.consumer_id]
        expected_consumer = {
            Kind.RECONNECTION: ConsumerStatus.ACTIVE,
            Kind.DISCONNECTION: ConsumerStatus.INACTIVE,
            Kind.HOLD_CLOSE: ConsumerStatus.INACTIVE,
        }[s.kind]
        problems = []
        if s.aborted:
            problems.append(f"script stopped at {s.aborted}")
        if row is None:
            problems.append("no request row")
        elif row.status is not s.end_status:
            problems.append(f"request {row.status.value}, expected {s.end_status.value}")
        if consumer.status is not expected_consumer:
            problems.append(f"consumer {consumer.status.value}, expected {expected_consumer.value}")
        if consumer.locked_by_request is not None:
            problems.append(f"profile still locked by {consumer.locked_by_request}")
        if problems:
            found.wrong_end_state.append(f"#{s.n} {s.kind.value} {s.request_id}: {'; '.join(problems)}")


async def _effects(session: AsyncSession, scripts: list[Script], mailbox: Mailbox, found: Findings) -> None:
    """Each action the API confirmed left its mark at least once (duplicates are counted apart)."""
    bodies = set((await session.scalars(select(Communication.body))).all())
    orders = set((await session.scalars(select(ServiceOrder.description))).all())
    billed = set((await session.scalars(select(BillingAccount.request_id))).all())
    assigned = set((await session.scalars(select(MeterAssignment.request_id))).all())
    mailed = {(m.to, m.body) for m in mailbox.messages}
    for s in scripts:
        expected = []
        if "note" in s.done:
            expected.append(("note", s.note in bodies))
        if "response" in s.done:
            expected += [
                ("response", s.response in bodies),
                ("response e-mail", (s.consumer_email, s.response) in mailed),
            ]
        if "order" in s.done:
            expected.append(("service order", s.order in orders))
        if "activate" in s.done:
            expected += [
                ("billing account", s.request_id in billed),
                ("meter assignment", s.request_id in assigned),
            ]
        if {"activate", "final readings"} & set(s.done):
            expected.append(("confirmation e-mail", any(to == s.consumer_email and s.request_id and s.request_id in body
                                                        for to, body in mailed)))  # fmt: skip
        found.missing += [f"#{s.n} {s.request_id}: {what}" for what, ok in expected if not ok]


async def _workflows(client: Client, scripts: list[Script], found: Findings) -> None:
    """Every workflow on this dev server (it serves this test alone), by status; and each script's
    own workflow described by ID."""
    async for execution in client.list_workflows():
        status = execution.status.name if execution.status else "UNKNOWN"
        found.workflows[status] += 1
        if execution.status not in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.RUNNING):
            found.failures.append(
                f"{execution.id}: {status} {await _why(client, execution.id, execution.run_id)}"
            )
    for s in scripts:
        if s.request_id is None:
            continue
        described = await client.get_workflow_handle(s.request_id).describe()
        if described.status is not WorkflowExecutionStatus.COMPLETED:
            status = described.status.name if described.status else "UNKNOWN"
            found.wrong_end_state.append(f"#{s.n} {s.request_id}: workflow {status}")


async def _why(client: Client, workflow_id: str, run_id: str) -> str:
    """The failure a closed workflow ended with (its type and message)."""
    try:
        await client.get_workflow_handle(workflow_id, run_id=run_id).result()
    except WorkflowFailureError as exc:
        cause = exc.cause
        while cause.__cause__ is not None and not isinstance(cause, ApplicationError):
            cause = cause.__cause__
        kind = cause.type if isinstance(cause, ApplicationError) else type(cause).__name__
        return f"({kind}: {cause})"[:240]
    return ""


async def write_evidence(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: Client,
    scripts: list[Script],
    found: Findings,
    out: Path,
) -> int:
    """For each request something was wrong with, a file: the client's attempts and answers, the
    timeline rows, and the workflow's history (updates with their IDs and outcomes, activity and
    task failures). Returns how many were written."""
    named = " ".join(found.wrong_end_state + found.missing + found.duplicate_samples)
    wrong = [
        s for s in scripts if s.suspect or s.aborted or f"#{s.n} " in named or (s.request_id or "~") in named
    ]
    files: dict[str, str] = {}
    for s in wrong:
        lines = [
            f"script #{s.n} {s.kind.value} {s.request_id} done={s.done} aborted={s.aborted}",
            "",
            "client:",
        ]
        lines += s.trail
        if s.request_id:
            async with sessionmaker() as session:
                events = (
                    await session.scalars(
                        select(RequestEvent)
                        .where(RequestEvent.request_id == s.request_id)
                        .order_by(RequestEvent.id)
                    )
                ).all()
            lines += [
                "",
                "timeline:",
                *(f"{e.occurred_at:%H:%M:%S.%f} {e.event_key} {e.detail}" for e in events),
            ]
            lines += ["", "workflow history:"]
            try:
                history = await client.get_workflow_handle(s.request_id).fetch_history()
                lines += [_event_line(e) for e in history.events]
            except RPCError as exc:
                lines.append(f"(none: {exc.message})")
        files[f"{s.n:03d}-{s.request_id or 'no-request'}.txt"] = "\n".join(lines) + "\n"
    await asyncio.to_thread(_write_all, out, files)
    return len(files)


def _write_all(out: Path, files: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)


def _event_line(e: HistoryEvent) -> str:
    kind = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
    extra = ""
    if e.HasField("activity_task_scheduled_event_attributes"):
        extra = e.activity_task_scheduled_event_attributes.activity_type.name
    elif e.HasField("workflow_execution_update_accepted_event_attributes"):
        request = e.workflow_execution_update_accepted_event_attributes.accepted_request
        extra = f"{request.input.name} id={request.meta.update_id}"
    elif e.HasField("workflow_execution_update_completed_event_attributes"):
        done = e.workflow_execution_update_completed_event_attributes
        failure = done.outcome.failure.message if done.outcome.HasField("failure") else ""
        extra = f"id={done.meta.update_id} {'failure: ' + failure if failure else 'success'}"
    elif e.HasField("activity_task_failed_event_attributes"):
        extra = e.activity_task_failed_event_attributes.failure.message
    elif e.HasField("activity_task_timed_out_event_attributes"):
        extra = e.activity_task_timed_out_event_attributes.failure.message
    elif e.HasField("workflow_task_failed_event_attributes"):
        attrs = e.workflow_task_failed_event_attributes
        extra = f"{WorkflowTaskFailedCause.Name(attrs.cause)} {attrs.failure.message}"
    elif e.HasField("workflow_execution_failed_event_attributes"):
        extra = e.workflow_execution_failed_event_attributes.failure.message
    return f"{e.event_id:4d} {e.event_time.ToDatetime():%H:%M:%S.%f} {kind} {extra}"[:400]
