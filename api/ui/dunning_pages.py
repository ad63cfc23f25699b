"""The nightly dunning page (supervisors and admins): its runs, with what each found, skipped and
created, and the schedule's Run now / Pause / Resume, through the JSON API's service."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import SessionDep
from api.dunning import service
from api.errors import Problem
from api.idempotency import Replayed
from api.ui.common import (
    SupervisorPageUser,
    UiRoute,
    form_dict,
    form_write,
    pager_links,
    redirect,
    render,
)
from db.models import User
from domain.disconnection.dunning import SKIP_LABELS, SkipReason

router = APIRouter(route_class=UiRoute, include_in_schema=False)
PAGE_SIZE = 50


@router.get("/dunning")
async def dunning_page(request: Request, user: SupervisorPageUser, session: SessionDep) -> Response:
    """The runs, newest first, and the schedule's state (or why it cannot be shown)."""
    page = max(1, min(int(p) if (p := request.query_params.get("page", "1")).isdigit() else 1, 100_000))
    runs = await service.list_runs(session=session, page=page, size=PAGE_SIZE)
    schedule, schedule_problem = None, None
    try:
        schedule = await service.read_schedule(
            temporal=request.app.state.temporal, settings=request.app.state.settings
        )
    except Problem as exc:
        schedule_problem = exc.detail
    return render(
        request,
        "dunning/index.html",
        {
            "runs": runs,
            "schedule": schedule,
            "schedule_problem": schedule_problem,
            "skip_labels": {reason.value: label for reason, label in SKIP_LABELS.items()},
            "skip_order": [reason.value for reason in SkipReason],
            "temporal_ui": request.app.state.settings.temporal_ui,
            "namespace": request.app.state.settings.temporal_namespace,
            "page": page,
            **pager_links(request, runs, PAGE_SIZE),
        },
        user=user,
        active="dunning",
    )


async def _act(request: Request, user: User, session: SessionDep, action: str) -> Response:
    """Run now, pause or resume, once per form rendering; a refusal or outage comes back as the message."""
    once = form_write(form_dict(await request.form()), user, f"dunning.{action}")
    temporal, settings = request.app.state.temporal, request.app.state.settings
    try:
        await once.check(session)
        if action == "run":
            message = (await service.run_now(temporal=temporal, settings=settings, user=user)).detail
        else:
            await service.set_paused(
                temporal=temporal, settings=settings, user=user, paused=action == "pause"
            )
            message = "Dunning schedule paused." if action == "pause" else "Dunning schedule resumed."
        await once.commit(session, message)
    except Replayed as done:
        message = done.body
    except Problem as exc:
        await session.rollback()
        message = exc.detail
    return redirect("/dunning", flash=str(message))


@router.post("/dunning/run")
async def run_now(request: Request, user: SupervisorPageUser, session: SessionDep) -> Response:
    return await _act(request, user, session, "run")


@router.post("/dunning/pause")
async def pause(request: Request, user: SupervisorPageUser, session: SessionDep) -> Response:
    return await _act(request, user, session, "pause")


@router.post("/dunning/resume")
async def resume(request: Request, user: SupervisorPageUser, session: SessionDep) -> Response:
    return await _act(request, user, session, "resume")
