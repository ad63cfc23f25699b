"""SLA targets are admin-editable data, read per request at creation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.system_settings import load_sla_settings, save_sla_settings
from workflows.schemas import SlaSettings


async def test_defaults_are_the_faq_targets(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        sla = await load_sla_settings(session)
    assert (sla.ack_minutes, sla.response_minutes, sla.resolution_minutes) == (120, 240, 1440)
    assert sla.at_risk_fraction == 0.75 and sla.pause_resolution_on_hold is False


async def test_an_admin_change_is_what_the_next_request_captures(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        await save_sla_settings(
            session,
            SlaSettings(ack_minutes=60, resolution_minutes=2880, pause_resolution_on_hold=True),
            by="admin",
        )
        await session.commit()
    async with sessionmaker() as session:
        sla = await load_sla_settings(session)
    assert (sla.ack_minutes, sla.response_minutes, sla.resolution_minutes) == (60, 240, 2880)
    assert sla.pause_resolution_on_hold is True

    async with sessionmaker() as session:
        await save_sla_settings(session, SlaSettings(ack_minutes=90), by="admin")
        await session.commit()
    async with sessionmaker() as session:
        assert (await load_sla_settings(session)).ack_minutes == 90


def test_an_at_risk_fraction_outside_0_1_is_refused() -> None:
    with pytest.raises(ValidationError, match="at_risk_fraction"):
        SlaSettings(at_risk_fraction=1.5)
