"""Who owns a request row the API wrote before starting its workflow.

The API writes the row, the profile lock and the booking, then starts the workflow. When that start
fails in a way that leaves it unknown whether Temporal started the workflow (a timeout), the API
undoes the create; the workflow, if it did start, must then not bring the request back. Both sides
settle it on the row, under its write lock:

- the workflow's first activity *claims* the row by writing its 'created' event, but only if the row
  is still there and is the one it was started for (same consumer, same creation instant: a number
  SQLite hands out again after a delete is not the same request);
- the API's undo removes the row only if nobody has claimed it; if the workflow got there first, the
  start did succeed and the create stands.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import RequestEvent, ServiceRequest


async def lock_row(session: AsyncSession, request_id: str, consumer_id: int, created_at: datetime) -> bool:
    """Take the row's write lock; False when no such row (deleted, or another request's number).

    A no-op UPDATE of a column no trigger watches: a row lock on PostgreSQL, the database write lock
    on SQLite (taken before any read, so neither side acts on a stale snapshot).
    """
    locked = await session.execute(
        update(ServiceRequest)
        .where(
            ServiceRequest.request_id == request_id,
            ServiceRequest.consumer_id == consumer_id,
            ServiceRequest.created_at == created_at,
        )
        .values(notes=ServiceRequest.notes)
        .execution_options(synchronize_session=False)
    )
    return bool(locked.rowcount)  # type: ignore[attr-defined]


async def is_claimed(session: AsyncSession, request_id: str) -> bool:
    """Whether the request's workflow has written its 'created' event."""
    query = select(
        exists().where(
            RequestEvent.request_id == request_id, RequestEvent.event_key == f"{request_id}:created"
        )
    )
    return bool(await session.scalar(query))
