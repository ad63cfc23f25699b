from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class AuditEntry(Base):
    """One write: who, when, what, and the before/after of the fields it changed.

    Append-only: database triggers refuse UPDATE and DELETE on this table, and the app has no
    endpoint that writes it; entries come from ``db.audit`` (every ORM write of an audited model)
    and the request workflow's projection activity (every request action, keyed by its event).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id", "occurred_at"),
        Index("ix_audit_log_actor", "actor", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))  # create, update, delete, or a request action
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # field → [before, after]
    event_key: Mapped[str | None] = mapped_column(String(120), unique=True)  # request actions: once each
