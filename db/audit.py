"""The audit log: every ORM write of an audited model, recorded in the same transaction.

A listener on every session's flush appends one :class:`~db.models.AuditEntry` per created,
changed or deleted row of the models below, with the before/after of each changed column (secrets
masked). Who did it comes from :data:`actor`, which the API sets for the signed-in user of each
HTTP request; writes with nobody signed in (seeding, the worker's own bookkeeping) are "system".
Request actions are audited by the workflow's projection activity, which names the actor itself.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from db.models import (
    AuditEntry,
    Complaint,
    Consumer,
    ConsumerProtection,
    Document,
    MeterReading,
    Plan,
    ReadingTampering,
    ServiceOrder,
    SystemSetting,
    TimeSlot,
    User,
    WeatherEmergencyDeclaration,
)

actor: ContextVar[str | None] = ContextVar("audit_actor", default=None)
"""The username the current writes are done for (set per HTTP request by the API's auth)."""

AUDITED: dict[type[Any], str] = {
    Complaint: "complaint",
    Consumer: "consumer",
    ConsumerProtection: "protection",
    Document: "document",
    MeterReading: "meter_reading",
    Plan: "plan",
    ReadingTampering: "reading_tampering",
    ServiceOrder: "service_order",
    SystemSetting: "setting",
    TimeSlot: "time_slot",
    User: "user",
    WeatherEmergencyDeclaration: "weather_emergency",
}
SECRETS = frozenset({"password_hash"})
MASK = "(changed)"


def jsonable(value: Any) -> Any:
    """A column value as JSON: dates in ISO 8601, money as its decimal string, enums by value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def _changes(obj: Any, action: str) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if action == "update":
            history = state.attrs[key].history
            if not history.added:
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0]
            if before == after:
                continue
        elif action == "create":
            before, after = None, state.dict.get(key)
            if after is None:
                continue
        else:
            before, after = state.dict.get(key), None
        if key in SECRETS:
            changes[key] = [None, MASK] if action != "delete" else [MASK, None]
        else:
            changes[key] = [jsonable(before), jsonable(after)]
    return changes


def _object_id(obj: Any) -> str:
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ":".join(str(part) for part in key)


async def record(
    session: AsyncSession, *, object_type: str, object_id: object, action: str, changes: dict[str, list[Any]]
) -> None:
    """Audit a write made with a Core statement (a guarded UPDATE, an upsert), which the flush
    listener does not see. ``changes``: field → [before, after]. Does not commit."""
    await session.execute(
        insert(AuditEntry).values(
            occurred_at=datetime.now(UTC), actor=actor.get() or "system", action=action,
            object_type=object_type, object_id=str(object_id),
            changes={k: [jsonable(v) for v in pair] for k, pair in changes.items()},
        )
    )  # fmt: skip


@event.listens_for(Session, "after_flush")
def _record(session: Session, flush_context: UOWTransaction) -> None:
    rows = []
    now = datetime.now(UTC)
    who = actor.get() or "system"
    for objects, action in ((session.new, "create"), (session.dirty, "update"), (session.deleted, "delete")):
        for obj in objects:
            kind = AUDITED.get(type(obj))
            if kind is None:
                continue
            changes = _changes(obj, action)
            if not changes:
                continue
            rows.append(
                {"occurred_at": now, "actor": who, "action": action, "object_type": kind,
                 "object_id": _object_id(obj), "changes": changes}
            )  # fmt: skip
    if rows:
        session.connection().execute(insert(AuditEntry), rows)
