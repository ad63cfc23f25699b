"""The audit log page for supervisors and admins: the JSON API's search, as a filterable table."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request, Response

from api.audit import service
from api.deps import SessionDep
from api.ui.common import SupervisorPageUser, UiRoute, pager_links, render

router = APIRouter(route_class=UiRoute, include_in_schema=False)
PAGE_SIZE = 50
FIELDS = ("actor", "object_type", "object_id", "from", "to")


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@router.get("/audit")
async def audit_page(request: Request, user: SupervisorPageUser, session: SessionDep) -> Response:
    """Who changed what, when: filter by user, object and dates; newest first."""
    raw = {k: (request.query_params.get(k) or "").strip()[:64] for k in FIELDS}
    page = max(1, min(int(p) if (p := request.query_params.get("page", "1")).isdigit() else 1, 100_000))
    found = await service.search(
        session=session, actor=raw["actor"] or None, object_type=raw["object_type"] or None,
        object_id=raw["object_id"] or None, date_from=_day(raw["from"]), date_to=_day(raw["to"]),
        page=page, size=PAGE_SIZE,
    )  # fmt: skip
    return render(
        request,
        "audit/index.html",
        {"found": found, "raw": raw, **pager_links(request, found, PAGE_SIZE)},
        user=user,
        active="audit",
    )
