"""Searching the audit log: by who, by what, and by when. Reads only: nothing here writes it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit.schemas import AuditEntryRead
from api.pagination import Page
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
    total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
    rows = await session.scalars(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    )
    items = [AuditEntryRead.model_validate(r) for r in rows]
    return Page[AuditEntryRead](items=items, total=int(total or 0), page=page, size=size)
