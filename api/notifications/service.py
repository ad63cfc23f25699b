"""The in-app inbox: list, mark read, acknowledge an escalation (the API's and the UI's one way)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Problem
from api.pagination import Page, paginate
from db import notifications as stored
from db.models import Notification, User


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    request_id: str | None
    level: int | None
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class Inbox(Page[NotificationRead]):
    unread: int


async def inbox(session: AsyncSession, user: User, *, page: int, size: int, unread: bool) -> Inbox:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    found = await paginate(
        session, stmt.order_by(Notification.id.desc()), page=page, size=size, item=NotificationRead
    )
    return Inbox(**found.model_dump(), unread=await stored.unread_count(session, user.id))


async def _mine(session: AsyncSession, user: User, notification_id: int) -> Notification:
    row = await session.scalar(
        select(Notification)
        .where(Notification.id == notification_id, Notification.user_id == user.id)
        .with_for_update()
    )
    if row is None:
        raise Problem(
            404, f"Notification {notification_id} is not in your inbox.", type_="/problems/not-found"
        )
    return row


async def mark_read(session: AsyncSession, user: User, notification_id: int) -> NotificationRead:
    row = await _mine(session, user, notification_id)
    if row.read_at is None:
        row.read_at = datetime.now(UTC)
        await session.commit()
    return NotificationRead.model_validate(row)


async def acknowledge(session: AsyncSession, user: User, notification_id: int) -> NotificationRead:
    row = await _mine(session, user, notification_id)
    if row.kind != stored.ESCALATION:
        raise Problem(409, "Only an escalation is acknowledged.", type_="/problems/conflict")
    if row.acknowledged_at is not None:
        if row.acknowledged_by == user.username:
            return NotificationRead.model_validate(row)  # a retried acknowledgement
        raise Problem(
            409, f"Already acknowledged by {row.acknowledged_by} at {row.acknowledged_at:%Y-%m-%d %H:%M} UTC.",
            type_="/problems/conflict",
        )  # fmt: skip
    now = datetime.now(UTC)
    await session.execute(
        update(Notification)
        .where(Notification.request_id == row.request_id, Notification.level == row.level)
        .where(Notification.kind == stored.ESCALATION, Notification.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=user.username)
        .execution_options(synchronize_session=False)
    )
    row.read_at = row.read_at or now
    await session.commit()
    await session.refresh(row)
    return NotificationRead.model_validate(row)
