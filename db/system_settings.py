"""Admin-editable system settings: SLA targets (each in business or calendar time) and the hold /
escalation policy.

Stored in ``system_settings`` (one row per key) so an admin changes them without a redeploy;
each new request captures the values in force when it is created.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import audit
from db.models import SystemSetting
from db.upsert import insert_for
from workflows.schemas import SlaSettings

# system_settings key → SlaSettings field
SLA_KEYS = {
    "sla_ack_minutes": "ack_minutes",
    "sla_response_minutes": "response_minutes",
    "sla_resolution_minutes": "resolution_minutes",
    "sla_at_risk_fraction": "at_risk_fraction",
    "sla_pause_resolution_on_hold": "pause_resolution_on_hold",
    "sla_re_escalate_minutes": "re_escalate_minutes",
    "sla_ack_business_hours": "ack_business_hours",
    "sla_response_business_hours": "response_business_hours",
    "sla_resolution_business_hours": "resolution_business_hours",
}


# Built once: every create and a reconnection's detail read settings.
_ALL = select(SystemSetting.key, SystemSetting.value)
_ONE = select(SystemSetting.value).where(SystemSetting.key == bindparam("key"))


async def load_sla_settings(session: AsyncSession) -> SlaSettings:
    """The SLA policy in force: stored values over the defaults (2 h / 4 h / 24 h, 75 %, no pause,
    every target in calendar time). Without the business calendar: ``db.business_calendar.capture_sla``
    adds it for a new request."""
    rows = (await session.execute(_ALL)).all()
    stored = {SLA_KEYS[key]: value for key, value in rows if key in SLA_KEYS}
    return SlaSettings(**stored)


async def save_sla_settings(session: AsyncSession, settings: SlaSettings, *, by: str) -> None:
    """Store every SLA value (validated by SlaSettings). Does not commit."""
    values: dict[str, Any] = settings.model_dump()
    for key, field in SLA_KEYS.items():
        await put_setting(session, key, values[field], by=by)
    await session.flush()


async def get_setting(session: AsyncSession, key: str) -> Any | None:
    """The stored value of ``key`` (None: never set)."""
    return await session.scalar(_ONE, {"key": key})


async def put_setting(session: AsyncSession, key: str, value: Any, *, by: str) -> None:
    """Store ``value`` under ``key`` (audited; a racing first write of the same key is not lost to
    an integrity error: the later one updates). Does not commit."""
    row = await session.get(SystemSetting, key)
    if row is None:
        inserted = await session.execute(
            insert_for(session, SystemSetting)
            .values(key=key, value=value, updated_by=by)
            .on_conflict_do_nothing()
        )
        if inserted.rowcount:  # type: ignore[attr-defined]
            await audit.record(
                session,
                object_type="setting",
                object_id=key,
                action="create",
                changes={"value": [None, value]},
            )
            return
        row = await session.get(SystemSetting, key, populate_existing=True)
        assert row is not None
    row.value = value
    row.updated_by = by
