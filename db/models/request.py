from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, TextClause, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.request.types import (
    OPEN_STATUSES,
    CloseReason,
    Priority,
    RequestStatus,
    RequestType,
    SlaState,
)

# A priority's rank for sorting. Sorted on by this very text: the expression index
# ix_requests_priority_rank (a migration's) serves only the identical expression.
PRIORITY_RANK = "CASE priority {} END".format(
    " ".join(f"WHEN '{p.value}' THEN {rank}" for rank, p in enumerate(Priority))
)

_OPEN = "status IN ({})".format(", ".join(f"'{s.value}'" for s in OPEN_STATUSES))


def open_condition() -> TextClause:
    """``status IN (<the open statuses>)`` as literal SQL, the very text of the partial indexes'
    WHERE: a planner uses a partial index only where it can prove the query implies its
    condition, which it cannot do through bound parameters."""
    return text(f"requests.{_OPEN}")


OPEN_INCLUDE = [
    "status", "sla_status", "priority", "request_type", "assigned_to", "resolution_due_at", "request_id",
]  # fmt: skip


class ServiceRequest(Base):
    """The read model of a reconnection or disconnection request.

    The workflow (ID = ``request_id``) owns the lifecycle; this row is its projection, written
    by the workflow's activities. At most one open request per consumer (partial unique index).
    """

    __tablename__ = "requests"
    __table_args__ = (
        Index(
            "uq_requests_one_open_per_consumer",
            "consumer_id",
            unique=True,
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
        ),
        Index("ix_requests_status_id", "status", "id"),  # sort by status, in id order within
        Index("ix_requests_created_at", "created_at"),
        Index("ix_requests_sla_status", "sla_status"),
        # the escalation queue and status + SLA filters, oldest first
        Index("ix_requests_status_sla_status_created_at", "status", "sla_status", "created_at"),
        Index("ix_requests_resolution_due_at", "resolution_due_at"),
        # open requests oldest first (the escalation queue); a query filters with OPEN_CONDITION.
        # On PostgreSQL it also carries the columns open-request lists filter and sort on, so that
        # gathering them is an index-only scan (the open requests: the desk's working set).
        Index(
            "ix_requests_open_created_at",
            "created_at",
            "id",
            sqlite_where=text(_OPEN),
            postgresql_where=text(_OPEN),
            postgresql_include=OPEN_INCLUDE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32), unique=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"), index=True)
    request_type: Mapped[RequestType] = mapped_column(str_enum(RequestType, "request_type"))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, "request_status"))
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, "priority"))
    reason: Mapped[str] = mapped_column(String(120))
    preferred_date: Mapped[date | None]
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("time_slots.id"))
    notes: Mapped[str | None] = mapped_column(Text)

    ack_due_at: Mapped[datetime]
    response_due_at: Mapped[datetime]
    resolution_due_at: Mapped[datetime]
    ack_state: Mapped[SlaState] = mapped_column(str_enum(SlaState, "ack_state"))
    response_state: Mapped[SlaState] = mapped_column(str_enum(SlaState, "response_state"))
    resolution_state: Mapped[SlaState] = mapped_column(str_enum(SlaState, "resolution_state"))
    sla_status: Mapped[SlaState] = mapped_column(str_enum(SlaState, "sla_status"))
    acknowledged_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0)

    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    close_reason: Mapped[CloseReason | None] = mapped_column(str_enum(CloseReason, "close_reason"))
    close_notes: Mapped[str | None] = mapped_column(Text)
    # Why the resolution target is not the standard one: a reconnection's regulated deadline.
    resolution_basis: Mapped[str | None] = mapped_column(String(200))
    # A non-payment disconnection's notice steps (the workflow's NoticesView as JSON) and stage.
    disconnection_stage: Mapped[str | None] = mapped_column(String(32))
    notices: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The client's Idempotency-Key on create: a retried create returns this same request.
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # " first last account request-id", lower-cased: written by database triggers only (migration
    # d5e1a8c4b7f2), searched through its trigram index (db/search.py); never loaded by the ORM.
    search_text: Mapped[str | None] = mapped_column(Text, deferred=True)


class RequestEvent(Base):
    """One line of a request's timeline: who did what, when.

    ``event_key`` is the idempotency key an activity writes with, so a retry adds nothing.
    """

    __tablename__ = "request_events"
    __table_args__ = (UniqueConstraint("event_key", name="uq_request_events_event_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("requests.request_id"), index=True)
    event_key: Mapped[str] = mapped_column(String(120))
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="")
