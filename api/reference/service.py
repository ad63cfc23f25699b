"""Reference data for creating and working requests: reasons, plans, available meters, time slots.

Read-only: nothing here writes or commits. The requests module calls :data:`REASONS`,
:func:`earliest_available_slot` and :func:`slot_has_capacity` when it creates a request.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.clock import local_zone
from api.errors import Problem
from api.pagination import Page, paginate
from api.reference.schemas import DayAvailability, MeterRead, PlanRead, PlanSearchResult, SlotAvailability
from db.models import Consumer, Meter, Plan, SlotDay, TimeSlot
from domain.consumers.types import MeterStatus, UtilityType
from domain.dates import window_open
from domain.request.types import RequestType

REASONS: dict[RequestType, list[str]] = {
    RequestType.RECONNECTION: [
        "Outstanding balance cleared",
        "New occupant moving in",
        "Seasonal return",
        "Service restored after repair",
        "Disconnected in error",
        "Medical certificate",
        "Other",
    ],
    RequestType.DISCONNECTION: [
        "Moving out",
        "Non-payment",
        "Seasonal closure",
        "Safety hazard",
        "Consumer request",
        "Other",
    ],
}

# How far ahead the create form's "schedule on availability" looks for a free seat.
SLOT_SEARCH_DAYS = 60


def reasons_for(request_type: RequestType) -> list[str]:
    """The reasons offered for ``request_type``, in dropdown order."""
    return list(REASONS[request_type])


def _clean(search: str | None) -> str | None:
    search = (search or "").strip()
    return search or None


# ---- plans --------------------------------------------------------------------------------------


async def search_plans(
    *, session: AsyncSession, search: str | None = None, consumer_id: int | None = None
) -> PlanSearchResult:
    """Active plans whose name or short name contains ``search`` (case-insensitive).

    With ``consumer_id``, only plans for that consumer's category and sub-category.
    Refuses an unknown consumer (404). An empty result carries a message naming the category.
    """
    search = _clean(search)
    scope = select(Plan).where(Plan.active.is_(True))
    category = sub_category = None
    if consumer_id is not None:
        consumer = await session.get(Consumer, consumer_id)
        if consumer is None:
            raise Problem(404, f"Consumer {consumer_id} does not exist.", type_="/problems/not-found")
        category, sub_category = consumer.category, consumer.sub_category
        scope = scope.where(Plan.category == category, Plan.sub_category == sub_category)
    stmt = scope
    if search is not None:
        stmt = stmt.where(
            or_(
                Plan.name.icontains(search, autoescape=True),
                Plan.short_name.icontains(search, autoescape=True),
            )
        )
    plans = (await session.scalars(stmt.order_by(Plan.monthly_fee, Plan.name))).all()
    message = None
    if not plans:
        whose = f" for {category.value} / {sub_category} consumers" if category is not None else ""
        any_configured = search is not None and bool(
            await session.scalar(select(func.count()).select_from(scope.subquery()))
        )
        if any_configured:
            message = f"No active plans{whose} match '{search}'."
        else:
            message = f"No active plans are configured{whose}; ask an administrator to add one."
    return PlanSearchResult(
        items=[PlanRead.model_validate(plan) for plan in plans],
        category=category,
        sub_category=sub_category,
        message=message,
    )


# ---- meters -------------------------------------------------------------------------------------


async def available_meters(
    *, session: AsyncSession, utility: UtilityType, search: str | None = None, page: int = 1, size: int = 50
) -> Page[MeterRead]:
    """Meters of ``utility`` that are free to assign, optionally matching a meter or device number."""
    stmt = select(Meter).where(Meter.utility == utility, Meter.status == MeterStatus.AVAILABLE)
    search = _clean(search)
    if search is not None:
        stmt = stmt.where(
            or_(
                Meter.meter_number.icontains(search, autoescape=True),
                Meter.device_number.icontains(search, autoescape=True),
            )
        )
    return await paginate(session, stmt.order_by(Meter.meter_number), page=page, size=size, item=MeterRead)


# ---- time slots ---------------------------------------------------------------------------------


async def _active_slots(session: AsyncSession) -> Sequence[TimeSlot]:
    return (
        await session.scalars(select(TimeSlot).where(TimeSlot.active.is_(True)).order_by(TimeSlot.start_time))
    ).all()


async def _slot_days(session: AsyncSession, first: date, last: date) -> dict[tuple[int, date], SlotDay]:
    rows = await session.scalars(
        select(SlotDay)
        .where(SlotDay.day >= first, SlotDay.day <= last)
        .execution_options(populate_existing=True)
    )
    return {(row.slot_id, row.day): row for row in rows}


def _seats(slot: TimeSlot, row: SlotDay | None) -> tuple[int, int]:
    """(capacity, booked) for a slot on a day; a day nobody has booked yet has the slot's capacity."""
    if row is None:
        return slot.capacity_per_day, 0
    return row.capacity, row.booked


def refuse_past(day: date, *, today: date, field: str = "query.date") -> None:
    """Problem(422) when ``day`` is before ``today``: visits cannot be scheduled in the past."""
    if day < today:
        message = "The date must be today or later."
        raise Problem(
            422, message, type_="/problems/validation", errors=[{"field": field, "message": message}]
        )


def slot_clock(now: datetime | None = None) -> datetime:
    """``now`` (default: this moment) on the clock slots are read on: time slots are wall-clock
    windows in the utility's time zone, so "today" and "has it begun" are local."""
    return (now or datetime.now(UTC)).astimezone(local_zone())


async def slot_availability(
    *, session: AsyncSession, day: date, now: datetime | None = None
) -> DayAvailability:
    """Every active slot's capacity, seats booked and seats left on ``day``; refuses a day before
    today (422). Today's windows that have begun are shown with no seats left: both read on the
    utility's local clock."""
    now = slot_clock(now)
    refuse_past(day, today=now.date())
    seats = await _slot_days(session, day, day)
    slots = []
    for slot in await _active_slots(session):
        capacity, booked = _seats(slot, seats.get((slot.id, day)))
        begun = not window_open(day, slot.start_time, now)
        remaining = 0 if begun else max(capacity - booked, 0)
        slots.append(
            SlotAvailability(
                slot_id=slot.id,
                label=slot.label,
                start_time=slot.start_time,
                end_time=slot.end_time,
                capacity=capacity,
                booked=booked,
                remaining=remaining,
                available=remaining > 0,
                begun=begun,
            )
        )
    return DayAvailability(date=day, slots=slots)


async def earliest_available_slot(
    *,
    session: AsyncSession,
    from_date: date,
    now: datetime | None = None,
    exclude: Collection[tuple[int, date]] = (),
) -> tuple[int, date] | None:
    """The first (slot_id, day) with a free seat, from ``from_date`` up to 60 days ahead.

    Days in order, and within a day active slots by start time; None when every seat is taken
    (or no slot is active), skipping the (slot, day) pairs in ``exclude``. Reads only: the caller
    books the seat with ``db.slots.book_slot``, which refuses if another request took it in between.
    """
    now = slot_clock(now)
    slots = await _active_slots(session)
    if not slots:
        return None
    last = from_date + timedelta(days=SLOT_SEARCH_DAYS - 1)
    seats = await _slot_days(session, from_date, last)
    for offset in range(SLOT_SEARCH_DAYS):
        day = from_date + timedelta(days=offset)
        for slot in slots:
            capacity, booked = _seats(slot, seats.get((slot.id, day)))
            if booked < capacity and window_open(day, slot.start_time, now) and (slot.id, day) not in exclude:
                return slot.id, day
    return None


async def slot_has_capacity(
    *, session: AsyncSession, slot_id: int, day: date, now: datetime | None = None
) -> bool:
    """True when ``slot_id`` is an active slot with a seat left on ``day`` that has not begun;
    False for unknown or inactive slots."""
    slot = await session.get(TimeSlot, slot_id)
    if slot is None or not slot.active or not window_open(day, slot.start_time, slot_clock(now)):
        return False
    row = await session.get(SlotDay, (slot_id, day), populate_existing=True)
    capacity, booked = _seats(slot, row)
    return booked < capacity
