from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class FollowUp(Base):
    """A "remind me" on a request, projected by its workflow (which owns the timer).

    ``key`` is the timeline event that set it (a retried activity writes it once); ``state`` is
    pending until it fires (done) or the request is resolved first (cancelled). The dashboard lists
    the pending ones due by the end of the day.
    """

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.request_id"))
    due_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(500))
    set_by: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
