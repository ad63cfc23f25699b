"""The consumer's communications: the tab's page, notes, contacts logged by hand (a call, an SMS
or e-mail received, a visit), and the system entries recording who changed what on the account.

A contact on a request is that request's ``log_contact`` action (it may meet the request's response
target); here it belongs to the consumer only: a plain write, checked by the same domain rule."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.consumers import schemas
from api.errors import Problem
from api.pagination import Page, paginate
from db.models import Communication, Consumer
from domain.request import rules
from domain.request.types import Channel, Direction, Visibility
from workflows.actions import ContactBody


def record_change(session: AsyncSession, consumer: Consumer, actor: str, subject: str, body: str) -> None:
    """An internal system entry in the consumer's communications: who changed what on the account."""
    session.add(
        Communication(
            consumer_id=consumer.id, channel=Channel.SYSTEM, direction=Direction.INTERNAL,
            visibility=Visibility.INTERNAL, subject=subject, body=body, author=actor,
            created_at=datetime.now(UTC),
        )
    )  # fmt: skip


async def communications(
    *,
    session: AsyncSession,
    consumer: Consumer,
    page: int = 1,
    size: int = 20,
    channel: Channel | None = None,
) -> Page[schemas.CommunicationRead]:
    """E-mails, calls, SMS, system notifications and notes, newest first, optionally of one channel."""
    conditions = [Communication.consumer_id == consumer.id]
    if channel is not None:
        conditions.append(Communication.channel == channel)
    stmt = (
        select(Communication)
        .where(*conditions)
        .order_by(Communication.created_at.desc(), Communication.id.desc())
    )
    return await paginate(session, stmt, page=page, size=size, item=schemas.CommunicationRead, one_pass=True)


async def add_note(
    *,
    session: AsyncSession,
    consumer: Consumer,
    note: schemas.NoteCreate,
    author: str,
    now: datetime | None = None,
) -> Communication:
    """A note on the consumer's account by ``author``, internal or visible to the consumer."""
    row = Communication(
        consumer_id=consumer.id,
        channel=Channel.NOTE,
        direction=Direction.INTERNAL,
        visibility=note.visibility,
        subject=None,
        body=note.text,
        author=author,
        created_at=now or datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    return row


async def log_contact(
    *,
    session: AsyncSession,
    consumer: Consumer,
    contact: ContactBody,
    author: str,
    now: datetime | None = None,
) -> Communication:
    """A contact with the consumer logged by ``author``: a call (either way) or a visit with its
    outcome and duration, or an SMS or e-mail received with what it said.

    Refuses (422, each problem with its field) what the request's ``log_contact`` refuses: an
    outgoing SMS or e-mail (those are sent, not logged), a call or visit without an outcome, an
    outcome or duration on a message, a message without its text.
    """
    try:
        rules.check_contact(
            contact.channel, contact.direction, contact.outcome, contact.duration_seconds, contact.notes
        )
    except rules.TransitionRefused as exc:
        raise Problem(
            422, exc.message, type_="/problems/validation",
            errors=[{"field": p.field, "message": p.message} for p in exc.problems if p.field],
        ) from None  # fmt: skip
    written = contact.channel in (Channel.SMS, Channel.EMAIL)
    row = Communication(
        consumer_id=consumer.id,
        channel=contact.channel,
        direction=contact.direction,
        # the consumer's own words are theirs to see; a CSR's notes on a call are the team's
        visibility=Visibility.CONSUMER if written else Visibility.INTERNAL,
        subject=contact.subject,
        body=contact.notes or _summary(contact),
        duration_seconds=contact.duration_seconds,
        outcome=contact.outcome,
        author=author,
        created_at=now or datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    return row


def _summary(contact: ContactBody) -> str:
    """A call or visit logged without notes reads as what happened."""
    way = "Inbound" if contact.direction is Direction.FROM_CUSTOMER else "Outbound"
    what = "call" if contact.channel is Channel.PHONE else "visit"
    outcome = f": {contact.outcome.value}" if contact.outcome else ""
    return f"{way} {what}{outcome}"
