"""Nightly dunning: its runs and its schedule."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from domain.disconnection.dunning import DunningRunStatus


class DunningRunRead(BaseModel):
    """One run of the dunning workflow and what it did."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    workflow_id: str = Field(description="The run's workflow ID (find it in the Temporal UI)")
    cycle: date = Field(
        description="The utility's local date the run worked for: one request per consumer per cycle"
    )
    status: DunningRunStatus
    started_at: datetime
    finished_at: datetime | None
    min_arrears: Decimal = Field(description="The arrears threshold the run used")
    after_days: int = Field(description="How many days past due the arrears had to be")
    found: int = Field(description="Consumers with arrears over both thresholds")
    created: int = Field(description="Requests this run created")
    skipped: dict[str, int] = Field(
        description="Found consumers left alone, by reason: service_off, protected, already_open, "
        "already_created (an earlier run of the cycle made theirs), no_longer_due"
    )
    created_requests: list[str] = Field(description="The IDs of the requests this run created")


class DunningScheduleRead(BaseModel):
    """The dunning schedule as Temporal holds it."""

    schedule_id: str
    paused: bool
    note: str | None = Field(description="Who paused or resumed it, or what it is for")
    times: list[str] = Field(description="When it runs: `HH:MM` each day, in `time_zone`")
    time_zone: str | None
    next_runs: list[datetime] = Field(description="The next few times it will run (UTC)")
    recent_runs: list[datetime] = Field(description="When it last started a run (UTC)")


class DunningTriggered(BaseModel):
    """A run was asked for; it appears in the runs once it has opened (skipped if one is running)."""

    schedule_id: str
    triggered_at: datetime
    detail: str
