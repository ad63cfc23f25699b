"""The audit log for supervisors and admins: search only — the app has no way to change it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.audit import service
from api.audit.schemas import AuditEntryRead
from api.auth.deps import SupervisorUser
from api.deps import SessionDep
from api.pagination import Page, PageNumber, PageSize

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (problem+json)"},
    403: {"description": "Supervisors and admins only (problem+json)"},
    422: {"description": "A query parameter is invalid (problem+json with field errors)"},
}


@router.get(
    "",
    summary="Search the audit log",
    description="Every write — request actions, consumer edits, documents, readings, service orders, "
    "admin changes and sign-outs — with who, when, what and the before/after of each changed field, "
    "newest first. Append-only: no endpoint changes it, and the database refuses updates and deletes.",
    responses=RESPONSES,
)
async def search_audit(
    user: SupervisorUser,
    session: SessionDep,
    actor: Annotated[str | None, Query(max_length=64, description="A username, or 'system'")] = None,
    object_type: Annotated[
        str | None, Query(max_length=40, description="consumer, request, plan, user, time_slot, …")
    ] = None,
    object_id: Annotated[str | None, Query(max_length=64, description="e.g. 42, or RC-2026-000123")] = None,
    date_from: Annotated[date | None, Query(alias="from", description="From this day (UTC)")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="To this day, inclusive (UTC)")] = None,
    page: PageNumber = 1,
    size: PageSize = 50,
) -> Page[AuditEntryRead]:
    return await service.search(
        session=session, actor=actor, object_type=object_type, object_id=object_id,
        date_from=date_from, date_to=date_to, page=page, size=size,
    )  # fmt: skip
