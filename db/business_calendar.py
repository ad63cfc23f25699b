"""The business calendar in force (a system setting), and the SLA policy a new request captures.

The calendar is one admin-edited row of ``system_settings`` (audited like every setting). A request
created while any of its targets is measured in business hours carries the calendar resolved for
its creation year and the two after it (public holidays included), since the workflow sandbox cannot
load the ``holidays`` library; a change to the calendar applies to requests created afterwards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SystemSetting
from db.system_settings import get_setting, load_sla_settings, put_setting
from domain.business_calendar import CalendarSettings, resolved_calendar
from workflows.schemas import SlaSettings

__all__ = [
    "CALENDAR_KEY",
    "CalendarSettings",
    "calendar_changed",
    "capture_sla",
    "load_calendar_settings",
    "resolved_calendar",
    "save_calendar_settings",
]

CALENDAR_KEY = "business_calendar"
YEARS_AHEAD = 2  # a request's targets are at most 30 days: its creation year and two more suffice


async def load_calendar_settings(
    session: AsyncSession, *, default_time_zone: str = "UTC"
) -> CalendarSettings:
    """The calendar in force; until an admin saves one, office hours (Monday to Friday, 08:00–17:00)
    in ``default_time_zone`` (the app's CONNECTDESK_TIME_ZONE) and no holidays."""
    stored = await get_setting(session, CALENDAR_KEY)
    if stored is None:
        return CalendarSettings(time_zone=default_time_zone)
    return CalendarSettings.model_validate(stored)


async def save_calendar_settings(session: AsyncSession, value: CalendarSettings, *, by: str) -> None:
    """Store the calendar (validated by its model; the same value again changes nothing). Does not commit."""
    await put_setting(session, CALENDAR_KEY, value.model_dump(mode="json"), by=by)
    await session.flush()


async def calendar_changed(session: AsyncSession) -> tuple[str | None, datetime | None]:
    """Who last saved the calendar and when ((None, None): never, the defaults apply)."""
    row = (
        await session.execute(
            select(SystemSetting.updated_by, SystemSetting.updated_at).where(
                SystemSetting.key == CALENDAR_KEY
            )
        )
    ).first()
    return (row.updated_by, row.updated_at) if row else (None, None)


async def capture_sla(
    session: AsyncSession, *, at: datetime, default_time_zone: str = "UTC", latest: datetime | None = None
) -> SlaSettings:
    """The SLA policy a request created at ``at`` keeps: the targets in force and, when any of them
    is measured in business hours, the business calendar resolved for ``at``'s year and the two after
    it (``SlaSettings.calendar``; None when every target is calendar time). ``latest``: one policy
    for requests created from ``at`` to ``latest`` (applying it to the open ones) covers both."""
    sla = await load_sla_settings(session)
    if not (sla.ack_business_hours or sla.response_business_hours or sla.resolution_business_hours):
        return sla
    settings = await load_calendar_settings(session, default_time_zone=default_time_zone)
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    zone = ZoneInfo(settings.time_zone)
    year = at.astimezone(zone).year  # the local year: New Year's Eve stays in it
    last = max(year, latest.astimezone(zone).year) if latest is not None else year
    calendar = resolved_calendar(settings, range(year, last + YEARS_AHEAD + 1))
    return sla.model_copy(update={"calendar": calendar})
