"""Each user's inbox page (escalations they are told of) and the header's unread badge."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import SessionDep
from api.notifications import service
from api.ui.common import PageUser, UiRoute, redirect, render, supervisor_page_user
from db import notifications as stored

router = APIRouter(route_class=UiRoute, include_in_schema=False)
PAGE_SIZE = 50


@router.get("/inbox")
async def inbox_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The caller's notices, newest first; unread ones marked."""
    found = await service.inbox(session, user, page=1, size=PAGE_SIZE, unread=False)
    return render(request, "inbox/index.html", {"found": found}, user=user, active="inbox")


@router.get("/partials/inbox-badge")
async def inbox_badge(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The header's link to the inbox with the unread count (fetched on load and on every change)."""
    unread = await stored.unread_count(session, user.id)
    return render(request, "inbox/_badge.html", {"unread": unread}, user=user)


@router.post("/inbox/{notification_id}/read")
async def read(request: Request, notification_id: int, user: PageUser, session: SessionDep) -> Response:
    await service.mark_read(session, user, notification_id)
    return redirect("/inbox")


@router.post("/inbox/{notification_id}/acknowledge")
async def acknowledge(
    request: Request, notification_id: int, user: PageUser, session: SessionDep
) -> Response:
    """A supervisor takes an escalation (the API's rule: once, and who took it is shown to all)."""
    await supervisor_page_user(user)
    row = await service.acknowledge(session, user, notification_id)
    return redirect("/inbox", flash=f"Escalation of {row.request_id} acknowledged.")
