"""Follow-ups as the workflow projects them, and the dashboard's list of those due.

The workflow owns each follow-up's durable timer; these rows mirror it (set, fired, cancelled),
written in the projection's own transaction and keyed by the event that set the follow-up, so a
retried activity writes nothing twice. A fired follow-up puts one line in the inbox of the
request's assignee, or of whoever set it while the request is unassigned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import FollowUp, Notification, ServiceRequest, User
from db.upsert import insert_for

FOLLOW_UP = "follow_up"  # the notification kind
PENDING, DONE, CANCELLED = "pending", "done", "cancelled"


async def save(
    session: AsyncSession,
    *,
    request_id: str,
    key: str,
    due_at: datetime,
    note: str,
    set_by: str,
    state: str,
    at: datetime,
) -> None:
    """The follow-up's row in ``state`` (written once; later states update it)."""
    await session.execute(
        insert_for(session, FollowUp)
        .values(
            key=key, request_id=request_id, due_at=due_at, note=note, set_by=set_by, state=state,
            created_at=at, fired_at=at if state == DONE else None,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )  # fmt: skip
    if state != PENDING:
        await session.execute(
            update(FollowUp)
            .where(FollowUp.key == key, FollowUp.state == PENDING)
            .values(state=state, fired_at=at if state == DONE else None)
        )


async def notify(
    session: AsyncSession, *, request_id: str, key: str, set_by: str, title: str, body: str, at: datetime
) -> int | None:
    """One inbox line for the assignee (else whoever set it); the user told, None if nobody is."""
    user_id = await session.scalar(
        select(ServiceRequest.assigned_to).where(ServiceRequest.request_id == request_id)
    )
    if user_id is None:
        user_id = await session.scalar(select(User.id).where(User.username == set_by, User.is_active))
    if user_id is None:
        return None
    await session.execute(
        insert_for(session, Notification)
        .values(
            key=f"{key}:due", user_id=user_id, kind=FOLLOW_UP, request_id=request_id, title=title,
            body=body, created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )  # fmt: skip
    return user_id


_FOR_REQUEST = (  # built once: every request's detail reads it
    select(FollowUp)
    .where(FollowUp.request_id == bindparam("request_id"))
    .order_by(FollowUp.due_at, FollowUp.id)
)


async def for_request(session: AsyncSession, request_id: str) -> list[FollowUp]:
    """Every follow-up set on the request, soonest first."""
    return list((await session.scalars(_FOR_REQUEST, {"request_id": request_id})).all())


@dataclass(frozen=True, slots=True)
class DueFollowUp:
    request_id: str
    due_at: datetime
    note: str
    set_by: str
    assignee: str | None


async def due_by(
    session: AsyncSession,
    until: datetime,
    *,
    user_id: int | None = None,
    username: str | None = None,
    limit: int = 50,
) -> list[DueFollowUp]:
    """Pending follow-ups due by ``until`` (overdue ones included), soonest first; with a user,
    only those of requests assigned to them or, unassigned, set by them."""
    assignee = User.__table__.alias("assignee")
    stmt = (
        select(FollowUp.request_id, FollowUp.due_at, FollowUp.note, FollowUp.set_by, assignee.c.username)
        .join(ServiceRequest, ServiceRequest.request_id == FollowUp.request_id)
        .outerjoin(assignee, assignee.c.id == ServiceRequest.assigned_to)
        .where(FollowUp.state == PENDING, FollowUp.due_at <= until)
        .order_by(FollowUp.due_at, FollowUp.id)
        .limit(limit)
    )
    if user_id is not None:
        stmt = stmt.where(
            or_(
                ServiceRequest.assigned_to == user_id,
                (ServiceRequest.assigned_to.is_(None)) & (FollowUp.set_by == username),
            )
        )
    return [DueFollowUp(*row) for row in (await session.execute(stmt)).all()]
