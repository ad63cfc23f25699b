"""Small factories for test data: each returns the row it inserted, flushed, not committed."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Consumer, Meter, ServiceRequest, TimeSlot, User, UtilityService
from domain.consumers.types import Category, ConsumerStatus, MeterStatus, UtilityType
from domain.request.types import Priority, RequestStatus, RequestType, SlaState, SlaTarget
from domain.users import Role
from workflows.schemas import SlaSettings, StartRequest

_seq = itertools.count(1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def utilities(session: AsyncSession) -> None:
    session.add_all(
        [
            UtilityService(code=UtilityType.ELECTRICITY, name="Electricity", unit="kWh"),
            UtilityService(code=UtilityType.WATER, name="Water", unit="gallons"),
        ]
    )
    await session.flush()


async def consumer(session: AsyncSession, **overrides: object) -> Consumer:
    n = next(_seq)
    values: dict[str, object] = dict(
        account_number=f"WU-{90000 + n}",
        first_name="Test",
        last_name=f"Consumer{n}",
        phone=f"555-01{n:04d}",
        email=f"consumer{n}@example.com",
        service_address=f"{n} Main Street, Springfield",
        category=Category.RESIDENTIAL,
        sub_category="Standard",
        status=ConsumerStatus.INACTIVE,
        balance=Decimal("0"),
        customer_since=date(2020, 1, 1),
    )
    values.update(overrides)
    row = Consumer(**values)
    session.add(row)
    await session.flush()
    return row


async def meter(
    session: AsyncSession, utility: UtilityType = UtilityType.ELECTRICITY, **overrides: object
) -> Meter:
    n = next(_seq)
    values: dict[str, object] = dict(
        meter_number=f"M-9{n:05d}",
        device_number=f"D-9{n:05d}",
        utility=utility,
        meter_type="Smart",
        model="Aquaflow X200" if utility is UtilityType.WATER else "PowerSense E3",
        installation_date=date(2024, 1, 1),
        status=MeterStatus.AVAILABLE,
        last_reading=Decimal("100.00"),
        last_reading_date=date(2026, 10, 1),
    )
    values.update(overrides)
    row = Meter(**values)
    session.add(row)
    await session.flush()
    return row


async def time_slot(session: AsyncSession, capacity: int = 3, start_hour: int = 8) -> TimeSlot:
    row = TimeSlot(
        label=f"{start_hour:02d}:00–{start_hour + 2:02d}:00",
        start_time=time(start_hour),
        end_time=time(start_hour + 2),
        capacity_per_day=capacity,
    )
    session.add(row)
    await session.flush()
    return row


async def request_row(
    session: AsyncSession,
    consumer_id: int,
    status: RequestStatus = RequestStatus.PENDING,
    **overrides: object,
) -> ServiceRequest:
    n = next(_seq)
    created = utc(2026, 11, 1, 9)
    values: dict[str, object] = dict(
        request_id=f"RC-T{n:06d}",
        consumer_id=consumer_id,
        request_type=RequestType.RECONNECTION,
        status=status,
        priority=Priority.MEDIUM,
        reason="Payment received",
        ack_due_at=created + timedelta(hours=2),
        response_due_at=created + timedelta(hours=4),
        resolution_due_at=created + timedelta(hours=24),
        ack_state=SlaState.ON_TRACK,
        response_state=SlaState.ON_TRACK,
        resolution_state=SlaState.ON_TRACK,
        sla_status=SlaState.ON_TRACK,
        created_at=created,
    )
    values.update(overrides)
    row = ServiceRequest(**values)
    session.add(row)
    await session.flush()
    return row


async def user(session: AsyncSession, username: str = "csr", role: Role = Role.CSR) -> User:
    row = User(username=username, full_name=username.title(), email=f"{username}@utility.example", role=role,
               password_hash="not-a-real-hash")  # fmt: skip
    session.add(row)
    await session.flush()
    return row


def start_for(consumer: Consumer, row: ServiceRequest, **overrides: object) -> StartRequest:
    """The workflow input for a request row written by :func:`request_row` (the workflow claims it)."""
    values: dict[str, object] = dict(
        request_id=row.request_id, consumer_id=consumer.id, account_number=consumer.account_number,
        consumer_name=consumer.full_name, consumer_category=consumer.category,
        consumer_sub_category=consumer.sub_category, request_type=row.request_type, reason=row.reason,
        created_by="csr", created_at=row.created_at, sla=SlaSettings(),
    )  # fmt: skip
    values.update(overrides)
    return StartRequest(**values)  # type: ignore[arg-type]


async def written_request(session: AsyncSession, start: StartRequest) -> ServiceRequest:
    """The row and profile lock the API's create writes for ``start`` before it starts the workflow
    (whose first activity then claims the row)."""
    due = start.sla.due_times(start.created_at)
    row = ServiceRequest(
        request_id=start.request_id, consumer_id=start.consumer_id, request_type=start.request_type,
        status=RequestStatus.PENDING, priority=start.priority, reason=start.reason,
        preferred_date=start.preferred_date, slot_id=start.slot_id, notes=start.notes,
        ack_due_at=due[SlaTarget.ACKNOWLEDGEMENT], response_due_at=due[SlaTarget.RESPONSE],
        resolution_due_at=due[SlaTarget.RESOLUTION],
        ack_state=SlaState.ON_TRACK, response_state=SlaState.ON_TRACK, resolution_state=SlaState.ON_TRACK,
        sla_status=SlaState.ON_TRACK, created_by=start.created_by_user_id, created_at=start.created_at,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    await session.execute(
        update(Consumer)
        .where(Consumer.id == start.consumer_id, Consumer.locked_by_request.is_(None))
        .values(locked_by_request=start.request_id)
    )
    return row
