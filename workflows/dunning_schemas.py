"""Every message in and out of the dunning workflow and its activities (one pydantic model each),
with its name constants and the IDs of its schedule and runs.

Kept apart from ``workflows.schemas`` (the request workflow's) so the two can change separately.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import Field

from domain.disconnection.dunning import SkipReason
from workflows.schemas import Model, StartRequest

DUNNING_WORKFLOW = "DunningWorkflow"
SCHEDULE_ID = "dunning"
"""The schedule's ID, after the deployment's ``workflow_id_prefix``."""
RUN_ID = "dunning-run"
"""The runs' workflow ID, after the prefix; the schedule appends each run's scheduled time."""


def schedule_id(prefix: str) -> str:
    return f"{prefix}{SCHEDULE_ID}"


def run_workflow_id(prefix: str) -> str:
    return f"{prefix}{RUN_ID}"


class DunningPolicy(Model):
    """What a run works to, fixed when it opens: its cycle (the utility's local date) and thresholds."""

    cycle: date
    at: datetime  # the moment protections and moratoria are judged at
    min_arrears: Decimal
    after_days: int


class DunningProgress(Model):
    """A run's totals so far; carried over a continue-as-new."""

    policy: DunningPolicy
    started_at: datetime
    after_consumer_id: int = 0  # the batches have looked at every consumer up to this ID
    found: int = 0
    skipped: dict[SkipReason, int] = Field(default_factory=dict)
    created_requests: list[str] = Field(default_factory=list)


class DunningStart(Model):
    """The workflow's input (the schedule's action sends it)."""

    workflow_id_prefix: str = ""
    batch_size: int = Field(default=100, ge=1, le=1000)
    progress: DunningProgress | None = None  # set only by a continue-as-new


class DunningOpen(Model):
    workflow_id: str
    at: datetime


class DunningBatch(Model):
    policy: DunningPolicy
    after_consumer_id: int
    size: int


class DunningBatchResult(Model):
    """One batch: the consumers found in it, those skipped (by reason) and the requests written whose
    workflow has yet to start (written now, or by an earlier try or run of this cycle that did not
    get to start it)."""

    found: int
    skipped: dict[SkipReason, int]
    to_start: list[StartRequest]
    last_consumer_id: int | None  # None: no consumer left after this batch


class DunningRecord(Model):
    workflow_id: str
    progress: DunningProgress
    finished_at: datetime | None = None
