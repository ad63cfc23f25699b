"""Complaints on a consumer. The caller commits; every change is audited (the model is)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.complaints import schemas
from api.errors import Problem
from db.models import Complaint, Consumer, ServiceRequest
from domain.consumers.types import ComplaintStatus

VALIDATION = "/problems/validation"


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        f"Invalid input — {field}: {message}",
        type_=VALIDATION,
        errors=[{"field": field, "message": message}],
    )


async def list_complaints(*, session: AsyncSession, consumer: Consumer) -> list[schemas.ComplaintRead]:
    rows = await session.scalars(
        select(Complaint)
        .where(Complaint.consumer_id == consumer.id)
        .order_by(Complaint.opened_at.desc(), Complaint.id.desc())
    )
    return [schemas.ComplaintRead.model_validate(row) for row in rows]


async def open_complaint(
    *, session: AsyncSession, consumer: Consumer, body: schemas.ComplaintCreate, by: str
) -> schemas.ComplaintRead:
    """Open a complaint; a linked request must be one of the consumer's (422)."""
    if body.request_id is not None:
        owner = await session.scalar(
            select(ServiceRequest.consumer_id).where(
                func.upper(ServiceRequest.request_id) == body.request_id.upper()
            )
        )
        if owner != consumer.id:
            raise _invalid("request_id", "is not a request of this consumer")
    now = datetime.now(UTC)
    row = Complaint(
        consumer_id=consumer.id,
        category=body.category,
        description=body.description,
        request_id=body.request_id.upper() if body.request_id else None,
        status=ComplaintStatus.OPEN,
        opened_at=now,
        opened_by=by,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return schemas.ComplaintRead.model_validate(row)


async def update_complaint(
    *, session: AsyncSession, consumer: Consumer, complaint_id: int, changes: schemas.ComplaintUpdate, by: str
) -> schemas.ComplaintRead:
    """Change, resolve or reopen a complaint (404 when it is not this consumer's)."""
    row = await session.get(Complaint, complaint_id, with_for_update=True)
    if row is None or row.consumer_id != consumer.id:
        raise Problem(
            404, f"Complaint {complaint_id} not found for this consumer.", type_="/problems/not-found"
        )
    values = changes.model_dump(exclude_unset=True, exclude_none=True)
    status = values.pop("status", row.status)
    for name, value in values.items():
        setattr(row, name, value)
    now = datetime.now(UTC)
    if status is ComplaintStatus.RESOLVED:
        if not row.resolution_notes:
            raise _invalid("resolution_notes", "say how the complaint was resolved")
        if row.status is not ComplaintStatus.RESOLVED:
            row.resolved_at, row.resolved_by = now, by
    elif row.status is ComplaintStatus.RESOLVED:  # reopened
        row.resolved_at = row.resolved_by = row.resolution_notes = None
    row.status = status
    row.updated_at = now
    await session.flush()
    return schemas.ComplaintRead.model_validate(row)


async def complaint_counts(session: AsyncSession, consumer_id: int) -> tuple[int, int]:
    """(complaints, resolved) of the consumer: the health score's Complaint Resolution inputs."""
    rows = (
        await session.execute(
            select(Complaint.status, func.count())
            .where(Complaint.consumer_id == consumer_id)
            .group_by(Complaint.status)
        )
    ).all()
    total = sum(count for _, count in rows)
    resolved = sum(count for status, count in rows if status == ComplaintStatus.RESOLVED)
    return total, resolved
