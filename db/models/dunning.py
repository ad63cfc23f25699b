from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.disconnection.dunning import DunningRunStatus


class DunningRun(Base):
    """One run of the nightly dunning workflow: the cycle (the utility's local date) it ran for, the
    thresholds it used and what it did. Written by the dunning workflow's activities, keyed by the
    run's workflow ID, with absolute totals, so a retried write changes nothing."""

    __tablename__ = "dunning_runs"
    __table_args__ = (
        CheckConstraint("found >= 0 AND created >= 0", name="counts_not_negative"),
        Index("ix_dunning_runs_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200), unique=True)
    cycle: Mapped[date]
    status: Mapped[DunningRunStatus] = mapped_column(str_enum(DunningRunStatus, "dunning_run_status"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    min_arrears: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    after_days: Mapped[int]
    found: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    # {reason: count}, reasons from domain.disconnection.dunning.SkipReason
    skipped: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the request IDs this run created, in the order it created them
    created_requests: Mapped[list[Any]] = mapped_column(JSON, default=list)
