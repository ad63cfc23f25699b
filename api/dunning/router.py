"""Nightly dunning: the runs it recorded, and its schedule (run now, pause, resume). Supervisors
and admins; each write is idempotent under its Idempotency-Key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from api.auth.deps import SupervisorUser
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.dunning import schemas, service
from api.idempotency import IdempotencyKey, IdempotentWrite
from api.openapi import problem_responses
from api.pagination import Page, PageNumber, PageSize

router = APIRouter(prefix="/api/v1/admin", tags=["dunning"])

_REASONS = {
    401: "Not signed in",
    403: "Signed in without the supervisor or admin role",
    409: "There is no dunning schedule: dunning is turned off, or no worker has started yet",
    422: "Invalid input",
    503: "Temporal or the database is unavailable; nothing was changed. Retry after `Retry-After` seconds",
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(_REASONS, *codes)


@router.get(
    "/dunning-runs",
    summary="Dunning runs, newest first",
    description="What each nightly dunning run found, skipped (by reason) and created.",
    responses=_problems(403, 422, 503),
)
async def list_dunning_runs(
    user: SupervisorUser, session: SessionDep, page: PageNumber = 1, size: PageSize = 50
) -> Page[schemas.DunningRunRead]:
    return await service.list_runs(session=session, page=page, size=size)


@router.post(
    "/dunning-runs",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run dunning now",
    description="Starts a dunning run through the schedule, as if its time had come (skipped while one "
    "is running). Safe to repeat: a run creates at most one request per consumer per cycle.",
    responses=_problems(403, 409, 422, 503),
)
async def run_dunning_now(
    user: SupervisorUser,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> schemas.DunningTriggered:
    once = IdempotentWrite.of(key, user_id=user.id, operation="dunning.run_now")
    await once.check(session)
    result = await service.run_now(temporal=temporal, settings=settings, user=user)
    await once.commit(session, result, status_code=status.HTTP_202_ACCEPTED)
    return result


@router.get(
    "/dunning-schedule",
    summary="The dunning schedule",
    description="Whether it is paused, when it runs and ran.",
    responses=_problems(403, 409, 422, 503),
)
async def read_dunning_schedule(
    user: SupervisorUser, temporal: TemporalDep, settings: SettingsDep
) -> schemas.DunningScheduleRead:
    return await service.read_schedule(temporal=temporal, settings=settings)


async def _set_paused(
    paused: bool, user: Any, session: Any, temporal: Any, settings: Any, key: str | None
) -> schemas.DunningScheduleRead:
    once = IdempotentWrite.of(key, user_id=user.id, operation=f"dunning.{'pause' if paused else 'resume'}")
    await once.check(session)
    result = await service.set_paused(temporal=temporal, settings=settings, user=user, paused=paused)
    await once.commit(session, result)
    return result


@router.post(
    "/dunning-schedule/pause",
    summary="Pause the dunning schedule",
    description="No runs start until it is resumed (Run now still works). Pausing a paused schedule "
    "changes nothing.",
    responses=_problems(403, 409, 422, 503),
)
async def pause_dunning(
    user: SupervisorUser,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> schemas.DunningScheduleRead:
    return await _set_paused(True, user, session, temporal, settings, key)


@router.post(
    "/dunning-schedule/resume",
    summary="Resume the dunning schedule",
    description="Runs start at their times again. Resuming a running schedule changes nothing.",
    responses=_problems(403, 409, 422, 503),
)
async def resume_dunning(
    user: SupervisorUser,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> schemas.DunningScheduleRead:
    return await _set_paused(False, user, session, temporal, settings, key)
