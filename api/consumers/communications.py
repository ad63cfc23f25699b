"""The consumer's communications: the tab's page, notes, and the system entries recording who
changed what on the account."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.consumers import schemas
from api.pagination import Page, paginate
from db.models import Communication, Consumer
from domain.request.types import Channel, Direction, Visibility


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
    return await paginate(session, stmt, page=page, size=size, item=schemas.CommunicationRead)


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
