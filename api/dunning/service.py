"""Nightly dunning for supervisors: the runs recorded, and the schedule (run now, pause, resume).

The runs are read from the database; the schedule lives in Temporal (``workflows.schedules``), so a
Temporal outage answers 503 + Retry-After, and a schedule that is not there (dunning turned off in
the settings) 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import ScheduleHandle
from temporalio.service import RPCError, RPCStatusCode

from api.dunning import schemas
from api.errors import DependencyUnavailable, Problem
from api.pagination import Page, paginate
from api.temporal import TemporalGateway
from db.models import DunningRun, User
from settings import Settings
from workflows.dunning_schemas import schedule_id
from workflows.schedules import schedule_times


async def list_runs(*, session: AsyncSession, page: int = 1, size: int = 50) -> Page[schemas.DunningRunRead]:
    """The runs, newest first."""
    stmt = select(DunningRun).order_by(DunningRun.started_at.desc(), DunningRun.id.desc())
    return await paginate(session, stmt, page=page, size=size, item=schemas.DunningRunRead)


@contextmanager
def _schedule_call(sid: str) -> Iterator[None]:
    """Temporal's errors on a schedule call, as the API's problems."""
    try:
        yield
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise Problem(
                409,
                f"There is no dunning schedule ({sid}): nightly dunning is turned off "
                "(CONNECTDESK_DUNNING_ENABLED) or no worker has started yet.",
                type_="/problems/conflict",
            ) from None
        raise DependencyUnavailable(
            "temporal", f"Temporal could not answer for the dunning schedule: {exc.message}"
        ) from None


async def _handle(temporal: TemporalGateway, settings: Settings) -> tuple[str, ScheduleHandle]:
    sid = schedule_id(settings.workflow_id_prefix)
    client = await temporal.client()
    return sid, client.get_schedule_handle(sid)


async def read_schedule(*, temporal: TemporalGateway, settings: Settings) -> schemas.DunningScheduleRead:
    """The schedule's state: paused or not, when it runs next (409 when there is none)."""
    sid, handle = await _handle(temporal, settings)
    with _schedule_call(sid):
        described = await handle.describe(rpc_timeout=temporal.rpc_timeout)
    schedule, info = described.schedule, described.info
    return schemas.DunningScheduleRead(
        schedule_id=sid,
        paused=schedule.state.paused,
        note=schedule.state.note or None,
        times=schedule_times(schedule.spec),
        time_zone=schedule.spec.time_zone_name,
        next_runs=list(info.next_action_times[:5]),
        recent_runs=[action.started_at for action in info.recent_actions[-5:]],
    )


async def run_now(*, temporal: TemporalGateway, settings: Settings, user: User) -> schemas.DunningTriggered:
    """Start a run now through the schedule (skipped while one is still running; harmless twice: a
    run creates at most one request per consumer per cycle)."""
    sid, handle = await _handle(temporal, settings)
    with _schedule_call(sid):
        await handle.trigger(rpc_timeout=temporal.rpc_timeout)
    return schemas.DunningTriggered(
        schedule_id=sid,
        triggered_at=datetime.now(UTC),
        detail=f"Dunning run started by {user.username}; it appears in the runs once it has opened "
        "(skipped if a run is still going).",
    )


async def set_paused(
    *, temporal: TemporalGateway, settings: Settings, user: User, paused: bool
) -> schemas.DunningScheduleRead:
    """Pause or resume the schedule (the same again changes nothing); the note says who and when."""
    sid, handle = await _handle(temporal, settings)
    note = f"{'Paused' if paused else 'Resumed'} by {user.username} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    with _schedule_call(sid):
        described = await handle.describe(rpc_timeout=temporal.rpc_timeout)
        if described.schedule.state.paused != paused:
            if paused:
                await handle.pause(note=note, rpc_timeout=temporal.rpc_timeout)
            else:
                await handle.unpause(note=note, rpc_timeout=temporal.rpc_timeout)
    return await read_schedule(temporal=temporal, settings=settings)
