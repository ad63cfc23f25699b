"""Each user's in-app inbox (escalations they are told of), and the escalation chain (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.auth.deps import AdminUser, CsrUser, SupervisorUser
from api.deps import SessionDep
from api.notifications import service
from api.openapi import problem_responses
from api.pagination import PageNumber, PageSize
from api.params import DB_INT_MAX
from db import notifications as stored
from domain.request.escalation import EscalationChain

router = APIRouter(prefix="/api/v1", tags=["notifications"])
NotificationId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
_REASONS = {
    401: "Not signed in",
    403: "Not allowed for this role",
    404: "No such notification in your inbox",
    409: "Not an escalation, or already acknowledged",
    422: "Invalid input",
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(_REASONS, *codes)


@router.get("/notifications", responses=_problems())
async def inbox(
    session: SessionDep, user: CsrUser, page: PageNumber = 1, size: PageSize = 20, unread: bool = Query(False)
) -> service.Inbox:
    """The caller's inbox, newest first (``unread``: only lines not read yet), with the unread count
    the header's badge shows."""
    return await service.inbox(session, user, page=page, size=size, unread=unread)


@router.post("/notifications/{notification_id}/read", responses=_problems(404))
async def mark_read(
    session: SessionDep, user: CsrUser, notification_id: NotificationId
) -> service.NotificationRead:
    """Mark a line read (again: nothing changes)."""
    return await service.mark_read(session, user, notification_id)


@router.post("/notifications/{notification_id}/acknowledge", responses=_problems(403, 404, 409))
async def acknowledge(
    session: SessionDep, user: SupervisorUser, notification_id: NotificationId
) -> service.NotificationRead:
    """A supervisor acknowledges an escalation they were told of: every line of the same request
    and level (their colleagues' too) shows who took it; a retry by the same supervisor changes
    nothing; another's is a 409 naming who took it."""
    return await service.acknowledge(session, user, notification_id)


@router.get("/admin/escalation-chain", responses=_problems(403))
async def get_chain(session: SessionDep, _admin: AdminUser) -> EscalationChain:
    """Who each escalation level tells (level 1 first; past the last level, the last one's people)."""
    return await stored.load_chain(session)


@router.put("/admin/escalation-chain", responses=_problems(403, 422))
async def put_chain(session: SessionDep, admin: AdminUser, body: EscalationChain) -> EscalationChain:
    """Replace the escalation chain (the same body again changes nothing)."""
    await stored.save_chain(session, body, by=admin.username)
    await session.commit()
    return body
