"""Time slots are wall-clock windows in the utility's time zone (issue 17, point 1): "today" and "has
this window begun" are read on the local clock, not on UTC's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.clock import use_time_zone
from api.errors import Problem
from api.reference import service
from db.models import TimeSlot

TODAY = date(2030, 6, 3)  # a Monday; New York is on EDT, UTC-4


@pytest.fixture
def new_york() -> Iterator[None]:
    use_time_zone("America/New_York")
    yield
    use_time_zone("UTC")


async def _slots(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessionmaker() as session:
        early = TimeSlot(label="Early", start_time=time(8), end_time=time(10), capacity_per_day=2)
        late = TimeSlot(label="Late", start_time=time(18), end_time=time(20), capacity_per_day=2)
        session.add_all([early, late])
        await session.commit()
        return early.id, late.id


@pytest.mark.usefixtures("new_york")
async def test_a_days_availability_is_read_on_the_local_clock(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    early, late = await _slots(sessionmaker)
    async with sessionmaker() as session:
        # 13:00 UTC is 09:00 in New York: the 08:00 window has begun, the 18:00 one has not
        morning = {
            s.slot_id: s.begun
            for s in (await service.slot_availability(session=session, day=TODAY, now=_utc(13))).slots
        }
        assert morning == {early: True, late: False}
        # 02:00 UTC on the 4th is still 22:00 on the 3rd in New York: the 3rd is today, not past
        # (on UTC's clock it would be refused), and both of its windows have begun
        night = await service.slot_availability(session=session, day=TODAY, now=_utc(26))
        assert [(s.begun, s.available) for s in night.slots] == [(True, False), (True, False)]
        # so the earliest seat is the first window of the 4th, local
        assert await service.earliest_available_slot(session=session, from_date=TODAY, now=_utc(26)) == (
            early, date(2030, 6, 4),
        )  # fmt: skip
        # 20:00 UTC is 16:00 local: the 18:00 window is still bookable (on UTC's clock it had begun)
        assert await service.slot_has_capacity(session=session, slot_id=late, day=TODAY, now=_utc(20))


async def test_on_utc_the_same_moments_read_differently(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The control: with CONNECTDESK_TIME_ZONE=UTC, 02:00 UTC on the 4th makes the 3rd a past day."""
    _, late = await _slots(sessionmaker)
    async with sessionmaker() as session:
        with pytest.raises(Problem) as refused:
            await service.slot_availability(session=session, day=TODAY, now=_utc(26))
        assert not await service.slot_has_capacity(session=session, slot_id=late, day=TODAY, now=_utc(20))
    assert refused.value.status == 422 and refused.value.detail == "The date must be today or later."


def _utc(hours: int) -> datetime:
    """``hours`` after midnight UTC starting the 3rd (26: 02:00 on the 4th)."""
    return datetime(2030, 6, 3, tzinfo=UTC) + timedelta(hours=hours)
