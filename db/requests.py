"""Writing a new request row: the one way both the API's create and nightly dunning open a request.

The row is written Pending with its SLA due times, numbered (``DC-2026-000123``) and the consumer's
profile lock taken, in the caller's transaction; the caller commits and then starts the workflow,
whose first activity claims the row (``db.claims``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Consumer, ServiceRequest
from domain.request.types import Priority, RequestStatus, RequestType, SlaState, SlaTarget
from workflows.schemas import ID_PREFIX, SlaSettings

_LOCK_PROFILE = (  # built once: every create runs it
    update(Consumer)
    .where(Consumer.id == bindparam("consumer_id"), Consumer.locked_by_request.is_(None))
    .values(locked_by_request=bindparam("request_id"))
)


async def write_request(
    session: AsyncSession,
    *,
    consumer_id: int,
    request_type: RequestType,
    reason: str,
    priority: Priority,
    notes: str | None,
    preferred_date: date | None,
    slot_id: int | None,
    sla: SlaSettings,
    created_by: int | None,
    idempotency_key: str | None,
    now: datetime,
    resolution_basis: str | None = None,
) -> ServiceRequest:
    """Add the Pending row, number it and lock the consumer's profile to it (flushed, not committed).

    Raises IntegrityError when the consumer already has an open request (their profile is locked)
    or the idempotency key was used before; the caller rolls back.
    """
    due = sla.due_times(now)
    row = ServiceRequest(
        request_id=f"~{uuid.uuid4().hex[:20]}",  # replaced once the row has its number
        consumer_id=consumer_id,
        request_type=request_type,
        status=RequestStatus.PENDING,
        priority=priority,
        reason=reason,
        preferred_date=preferred_date,
        slot_id=slot_id,
        notes=notes,
        ack_due_at=due[SlaTarget.ACKNOWLEDGEMENT],
        response_due_at=due[SlaTarget.RESPONSE],
        resolution_due_at=due[SlaTarget.RESOLUTION],
        ack_state=SlaState.ON_TRACK,
        response_state=SlaState.ON_TRACK,
        resolution_state=SlaState.ON_TRACK,
        sla_status=SlaState.ON_TRACK,
        created_by=created_by,
        idempotency_key=idempotency_key,
        resolution_basis=resolution_basis,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    row.request_id = f"{ID_PREFIX[request_type]}-{now.year}-{row.id:06d}"
    await session.flush()  # the number before the lock and the booking that name it
    locked = await (await session.connection()).execute(
        _LOCK_PROFILE, {"consumer_id": consumer_id, "request_id": row.request_id}
    )
    if locked.rowcount != 1:
        raise IntegrityError("profile lock taken", None, Exception("locked"))
    return row
