"""The nightly dunning schedule, created or brought up to date by every worker at start.

Idempotent: the first worker creates it; every other (and every restart) finds it there and updates
its spec and action to the settings, keeping whether a supervisor paused it. Two workers starting
at once both end with the one schedule. Overlapping runs are skipped; a run missed while Temporal
was down is caught up within ``CATCHUP_WINDOW``, not later (the next night does the work then).
Client-side code, not a workflow: the worker and the API import it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from settings import Settings
from workflows.dunning_schemas import DUNNING_WORKFLOW, DunningStart, run_workflow_id, schedule_id

log = logging.getLogger("connectdesk.schedules")

CATCHUP_WINDOW = timedelta(hours=1)
NOTE = "Nightly dunning: non-payment disconnection requests for arrears over the profile's thresholds"


def dunning_schedule(settings: Settings, *, time_zone: str, state: ScheduleState | None = None) -> Schedule:
    """The schedule the settings ask for (``state``: keep an existing schedule's pause and note)."""
    prefix = settings.workflow_id_prefix
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DUNNING_WORKFLOW,
            DunningStart(workflow_id_prefix=prefix, batch_size=settings.dunning_batch_size),
            id=run_workflow_id(prefix),
            task_queue=settings.temporal_task_queue,
            static_summary="Nightly dunning run",
        ),
        spec=ScheduleSpec(cron_expressions=[settings.dunning_cron], time_zone_name=time_zone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=state or ScheduleState(note=NOTE),
    )


def schedule_times(spec: ScheduleSpec) -> list[str]:
    """When a schedule runs, in words: ``HH:MM`` for each calendar the server holds (it turns a cron
    expression into calendars), with its days when not every day; a cron expression as given."""
    times = list(spec.cron_expressions)
    for calendar in spec.calendars:
        hours = [r.start for r in calendar.hour]
        minutes = [r.start for r in calendar.minute]
        when = ", ".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
        every_day = all(
            len(field) == 1 and field[0].start == lo and field[0].end >= hi
            for field, lo, hi in (
                (calendar.day_of_month, 1, 31), (calendar.month, 1, 12), (calendar.day_of_week, 0, 6)
            )
        )  # fmt: skip
        times.append(when if every_day else f"{when} ({calendar.comment or 'some days'})")
    return times


async def ensure_dunning_schedule(
    client: Client, settings: Settings, *, time_zone: str
) -> ScheduleHandle | None:
    """Create the dunning schedule, or update the one there to the settings (its pause kept); with
    dunning turned off, delete it. The handle, or None when off."""
    sid = schedule_id(settings.workflow_id_prefix)
    handle = client.get_schedule_handle(sid)
    if not settings.dunning_enabled:
        try:
            await handle.delete()
            log.info("dunning is off: deleted schedule %s", sid)
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
        return None
    try:
        handle = await client.create_schedule(sid, dunning_schedule(settings, time_zone=time_zone))
        log.info("created schedule %s (%s, %s)", sid, settings.dunning_cron, time_zone)
        return handle
    except ScheduleAlreadyRunningError:
        pass

    def updated(current: ScheduleUpdateInput) -> ScheduleUpdate:
        state = current.description.schedule.state
        return ScheduleUpdate(schedule=dunning_schedule(settings, time_zone=time_zone, state=state))

    await handle.update(updated)
    log.info("updated schedule %s (%s, %s)", sid, settings.dunning_cron, time_zone)
    return handle
