"""The nightly dunning workflow: opens non-payment disconnection requests for consumers whose
arrears are over the jurisdiction profile's thresholds, in batches, and records what it did.

Started by the dunning schedule (``workflows.schedules``) or by a supervisor's "Run now". It opens
the run (the cycle, the thresholds), then works through the consumers in ID order, a batch per
activity; each request a batch writes is started here as a child request workflow (ID = the
request's ID, abandoned when this run ends, so it lives on and follows the notice steps). Every
step is idempotent, so a second run of the same cycle creates nothing: the rows are keyed per
consumer and cycle, and a request workflow already started is counted as created earlier.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.dunning import DunningActivities
    from domain.disconnection.dunning import SkipReason
    from workflows import search_attributes as sa
    from workflows.dunning_schemas import (
        DUNNING_WORKFLOW,
        DunningBatch,
        DunningOpen,
        DunningProgress,
        DunningRecord,
        DunningStart,
    )
    from workflows.policies import DB_TIMEOUT, DB_WRITE
    from workflows.schemas import WORKFLOW_NAME, StartRequest, summary_for

BATCH_TIMEOUT = timedelta(minutes=5)
# Continue as new well before the history grows large (each request started adds two events).
HISTORY_LIMIT = 10_000


@workflow.defn(name=DUNNING_WORKFLOW)
class DunningWorkflow:
    def __init__(self) -> None:
        self.progress: DunningProgress | None = None

    @workflow.run
    async def run(self, start: DunningStart) -> DunningProgress:
        workflow_id = workflow.info().workflow_id
        progress = start.progress
        if progress is None:
            policy = await workflow.execute_activity_method(
                DunningActivities.open_dunning_run,
                DunningOpen(workflow_id=workflow_id, at=workflow.now()),
                start_to_close_timeout=DB_TIMEOUT,
                retry_policy=DB_WRITE,
            )
            progress = DunningProgress(policy=policy, started_at=policy.at)
        self.progress = progress
        while True:
            result = await workflow.execute_activity_method(
                DunningActivities.dunning_batch,
                DunningBatch(
                    policy=progress.policy,
                    after_consumer_id=progress.after_consumer_id,
                    size=start.batch_size,
                ),
                start_to_close_timeout=BATCH_TIMEOUT,
                retry_policy=DB_WRITE,
            )
            started = await asyncio.gather(
                *(self._start_request(start.workflow_id_prefix, s) for s in result.to_start)
            )
            skipped = dict(progress.skipped)
            for reason, count in result.skipped.items():
                skipped[reason] = skipped.get(reason, 0) + count
            earlier = started.count(False)
            if earlier:
                skipped[SkipReason.ALREADY_CREATED] = skipped.get(SkipReason.ALREADY_CREATED, 0) + earlier
            progress = progress.model_copy(
                update={
                    "after_consumer_id": result.last_consumer_id or progress.after_consumer_id,
                    "found": progress.found + result.found,
                    "skipped": skipped,
                    "created_requests": [
                        *progress.created_requests,
                        *(s.request_id for s, new in zip(result.to_start, started, strict=True) if new),
                    ],
                }
            )
            self.progress = progress
            done = result.last_consumer_id is None
            await self._record(workflow_id, progress, finished=done)
            if done:
                return progress
            info = workflow.info()
            if info.is_continue_as_new_suggested() or info.get_current_history_length() > HISTORY_LIMIT:
                workflow.continue_as_new(start.model_copy(update={"progress": progress}))

    @workflow.query
    def current_progress(self) -> DunningProgress | None:
        """The run's totals so far (None before it has opened)."""
        return self.progress

    async def _record(self, workflow_id: str, progress: DunningProgress, *, finished: bool) -> None:
        await workflow.execute_activity_method(
            DunningActivities.record_dunning_run,
            DunningRecord(
                workflow_id=workflow_id, progress=progress, finished_at=workflow.now() if finished else None
            ),
            start_to_close_timeout=DB_TIMEOUT,
            retry_policy=DB_WRITE,
        )

    async def _start_request(self, prefix: str, start: StartRequest) -> bool:
        """Start the request's workflow, as the API starts one; False when it was started before."""
        try:
            await workflow.start_child_workflow(
                WORKFLOW_NAME,
                start,
                id=f"{prefix}{start.request_id}",
                # the request outlives this run: it waits out its notice steps for days
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                static_summary=summary_for(start),
                search_attributes=sa.at_start(start),
            )
        except WorkflowAlreadyStartedError:
            return False
        return True
