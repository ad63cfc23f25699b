"""Searching the audit log: by who, by what, and by when. Reads only: nothing here writes it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.schemas import AuditEntryRead
from api.pagination import Page, paginate
from db.models import AuditEntry


async def search(
    *,
    session: AsyncSession,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    size: int = 50,
) -> Page[AuditEntryRead]:
    """Entries newest first; ``date_to`` includes its whole day (UTC)."""
    conditions = []
    if actor:
        conditions.append(AuditEntry.actor == actor.strip())
    if object_type:
        conditions.append(AuditEntry.object_type == object_type.strip())
    if object_id:
        conditions.append(AuditEntry.object_id == object_id.strip())
    if date_from:
        conditions.append(AuditEntry.occurred_at >= datetime.combine(date_from, time.min, UTC))
    if date_to:
        conditions.append(
            AuditEntry.occurred_at < datetime.combine(date_to + timedelta(days=1), time.min, UTC)
        )
    stmt = select(AuditEntry).where(*conditions).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    return await paginate(session, stmt, page=page, size=size, item=AuditEntryRead)
