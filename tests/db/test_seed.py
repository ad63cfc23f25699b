"""The demo-data seeder: deterministic, refuses non-empty databases, and the data hangs together."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, time
from itertools import pairwise

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.migrate import downgrade, upgrade
from db.models import (
    BillingAccount,
    Consumer,
    Meter,
    MeterAssignment,
    MeterReading,
    Plan,
    PlanService,
    SystemSetting,
    TimeSlot,
    User,
)
from db.seed import DEFAULT_SETTINGS, DEMO_USERS, TABLES, SeedError, is_empty, seed
from db.session import make_engine, make_sessionmaker
from domain.consumers.types import SUB_CATEGORIES, ConsumerStatus, MeterStatus, UtilityType
from domain.passwords import verify_password

N = 200
TODAY = date(2026, 11, 1)
_BY_NAME = {t.name: t for t in TABLES}


async def _digest(engine: AsyncEngine) -> str:
    """A hash of every seeded row in primary-key order (password hashes aside: their salt is random)."""
    digest = hashlib.sha256()
    async with engine.connect() as conn:
        for table in TABLES:
            columns = [c for c in table.c if c.name != "password_hash"]
            rows = await conn.execute(select(*columns).order_by(*table.primary_key.columns))
            for row in rows:
                digest.update(repr((table.name, *row)).encode())
    return digest.hexdigest()


async def _seed_and_digest(url: str, *, seed_value: int) -> str:
    engine = make_engine(url)
    try:
        await seed(engine, consumers=N, seed=seed_value, today=TODAY)
        return await _digest(engine)
    finally:
        await engine.dispose()


async def test_same_seed_gives_identical_data_and_another_seed_does_not(
    db_url: str, empty_db_url: str
) -> None:
    await upgrade(empty_db_url)
    first = await _seed_and_digest(db_url, seed_value=7)
    second = await _seed_and_digest(empty_db_url, seed_value=7)
    assert first == second

    await downgrade(empty_db_url)
    await upgrade(empty_db_url)
    other = await _seed_and_digest(empty_db_url, seed_value=8)
    assert other != first


async def test_refuses_a_database_that_already_has_consumers(engine: AsyncEngine) -> None:
    assert await is_empty(engine)
    await seed(engine, consumers=N, today=TODAY)
    assert not await is_empty(engine)

    with pytest.raises(SeedError, match=f"^database already has {N} consumers; seed an empty database$"):
        await seed(engine, consumers=N, today=TODAY)


async def test_refuses_a_database_with_other_rows(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(_BY_NAME["system_settings"]).values(key="sla_ack_minutes", value=60))
    assert not await is_empty(engine)

    with pytest.raises(SeedError, match="already has rows in system_settings; seed an empty database"):
        await seed(engine, consumers=N, today=TODAY)


async def test_refuses_a_database_without_the_schema(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        with pytest.raises(SeedError, match="apply the migrations first"):
            await seed(engine, consumers=N, today=TODAY)
    finally:
        await engine.dispose()


async def test_a_failure_part_way_writes_nothing(engine: AsyncEngine) -> None:
    def progress(phase: str, done: int, total: int) -> None:
        if phase == "payments" and done:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        await seed(engine, consumers=N, today=TODAY, progress=progress)
    assert await is_empty(engine)


async def test_counts_and_progress_match_the_database(engine: AsyncEngine) -> None:
    last: dict[str, tuple[int, int]] = {}
    summary = await seed(
        engine, consumers=N, today=TODAY, progress=lambda p, d, t: last.__setitem__(p, (d, t))
    )

    async with engine.connect() as conn:
        for name, rows in summary.rows.items():
            count = (await conn.execute(select(func.count()).select_from(_BY_NAME[name]))).scalar_one()
            assert count == rows, name
            assert last[name] == (rows, rows), name
        for table in ("requests", "request_events", "slot_bookings", "slot_days", "documents"):
            assert (await conn.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one() == 0, table
    assert summary.rows["consumers"] == N
    assert summary.total_rows == sum(summary.rows.values())


async def test_reference_data(engine: AsyncEngine) -> None:
    await seed(engine, consumers=N, today=TODAY)
    async with make_sessionmaker(engine)() as session:
        users = (await session.execute(select(User.username, User.role, User.password_hash))).all()
        slots = (await session.execute(select(TimeSlot.label, TimeSlot.capacity_per_day))).all()
        settings = {k: v for k, v in await session.execute(select(SystemSetting.key, SystemSetting.value))}
        plans = (await session.scalars(select(Plan))).all()
        services = (await session.scalars(select(PlanService))).all()

    by_name = {u.username: u for u in users}
    for demo in DEMO_USERS:
        assert by_name[demo.username].role == demo.role
        assert verify_password(demo.password, by_name[demo.username].password_hash)
    assert [s.label for s in slots] == [
        "08:00-10:00",
        "10:00-12:00",
        "12:00-14:00",
        "14:00-16:00",
        "16:00-18:00",
    ]
    assert all(3 <= s.capacity_per_day <= 5 for s in slots)
    assert settings == DEFAULT_SETTINGS

    per_sub = Counter((p.category, p.sub_category) for p in plans)
    active_per_sub = Counter((p.category, p.sub_category) for p in plans if p.active)
    for category, subs in SUB_CATEGORIES.items():
        for sub in subs:
            assert 2 <= per_sub[category, sub] <= 3, (category, sub)
            assert active_per_sub[category, sub] >= 1, (category, sub)
    assert len({p.short_name for p in plans}) == len(plans)
    assert any(not p.active for p in plans)
    assert any(not s.metered for s in services)
    assert all(p.rates and p.features for p in plans)


async def test_consumers_meters_and_billing_hang_together(engine: AsyncEngine) -> None:
    await seed(engine, consumers=N, today=TODAY)
    async with make_sessionmaker(engine)() as session:
        consumers = (await session.scalars(select(Consumer).order_by(Consumer.id))).all()
        meters = (await session.scalars(select(Meter))).all()
        assignments = (await session.scalars(select(MeterAssignment))).all()
        readings = (
            await session.scalars(
                select(MeterReading).order_by(MeterReading.meter_id, MeterReading.reading_date)
            )
        ).all()
        accounts = (await session.scalars(select(BillingAccount))).all()
        plans = {p.id: p for p in (await session.scalars(select(Plan))).all()}
        metered = {
            (s.plan_id, s.utility) for s in (await session.scalars(select(PlanService))).all() if s.metered
        }

    assert [c.account_number for c in consumers] == [f"WU-{10001 + i}" for i in range(N)]
    statuses = Counter(c.status for c in consumers)
    assert 0.45 <= statuses[ConsumerStatus.ACTIVE] / N <= 0.70
    assert statuses[ConsumerStatus.INACTIVE] and statuses[ConsumerStatus.TEMPORARILY_DISCONNECTED]
    assert all(c.locked_by_request is None for c in consumers)
    assert all(c.balance >= 0 and c.customer_since < TODAY for c in consumers)

    # Stock for reconnections: both utilities, at least max(50, N // 5) each, and some in maintenance.
    stock = Counter((m.utility, m.status) for m in meters if m.status is not MeterStatus.ASSIGNED)
    for utility in UtilityType:
        assert stock[utility, MeterStatus.AVAILABLE] >= max(50, N // 5)
        assert stock[utility, MeterStatus.MAINTENANCE] >= 1

    # Every assigned meter has exactly one open assignment; meters in stock have none.
    open_by_meter = Counter(a.meter_id for a in assignments if a.unassigned_on is None)
    meter_by_id = {m.id: m for m in meters}
    for m in meters:
        assert open_by_meter[m.id] == (1 if m.status is MeterStatus.ASSIGNED else 0), m.meter_number
    assert len({m.meter_number for m in meters}) == len(meters)
    assert len({m.device_number for m in meters}) == len(meters)

    # Active, temporarily disconnected and collection consumers have 1-2 meters; nobody else has any.
    meters_of = Counter(a.consumer_id for a in assignments)
    for c in consumers:
        served = c.status in (
            ConsumerStatus.ACTIVE,
            ConsumerStatus.TEMPORARILY_DISCONNECTED,
            ConsumerStatus.COLLECTION,
        )
        assert (1 <= meters_of[c.id] <= 2) if served else meters_of[c.id] == 0, c.account_number

    # Every Active consumer has one active billing account on an active plan of its category, whose
    # metered services are exactly the consumer's meters; nobody else has an active account.
    active_accounts = Counter(a.consumer_id for a in accounts if a.active)
    account_of = {a.consumer_id: a for a in accounts if a.active}
    utilities_of: dict[int, set[UtilityType]] = {}
    for a in assignments:
        utilities_of.setdefault(a.consumer_id, set()).add(meter_by_id[a.meter_id].utility)
    for c in consumers:
        if c.status is not ConsumerStatus.ACTIVE:
            assert active_accounts[c.id] == 0, c.account_number
            continue
        assert active_accounts[c.id] == 1, c.account_number
        plan = plans[account_of[c.id].plan_id]
        assert (plan.category, plan.sub_category, plan.active) == (c.category, c.sub_category, True)
        assert {u for (p, u) in metered if p == plan.id} == utilities_of[c.id]

    # Readings: six per assigned meter, non-negative, the meter's last reading is the latest one.
    by_meter: dict[int, list[MeterReading]] = {}
    for r in readings:
        by_meter.setdefault(r.meter_id, []).append(r)
    assert all(r.value >= 0 for r in readings)
    for m in meters:
        history = by_meter.get(m.id, [])
        if m.status is not MeterStatus.ASSIGNED:
            assert history == []
            continue
        assert len(history) == 6
        assert (m.last_reading, m.last_reading_date) == (history[-1].value, history[-1].reading_date)
        assert m.installation_date <= history[0].reading_date
    rises = sum(b.value >= a.value for h in by_meter.values() for a, b in pairwise(h))
    assert rises / sum(len(h) - 1 for h in by_meter.values()) > 0.95  # progressive, bar the anomalies


async def test_sequences_continue_after_the_seeded_ids(engine: AsyncEngine) -> None:
    await seed(engine, consumers=N, today=TODAY)
    async with engine.begin() as conn:
        slot_id = (
            await conn.execute(
                insert(_BY_NAME["time_slots"])
                .values(label="18:00-20:00", start_time=time(18), end_time=time(20), capacity_per_day=2)
                .returning(_BY_NAME["time_slots"].c.id)
            )
        ).scalar_one()
        consumer_id = (
            await conn.execute(
                insert(_BY_NAME["consumers"])
                .values(
                    account_number="WU-99999",
                    first_name="New",
                    last_name="Consumer",
                    phone="(217) 555-0100",
                    service_address="1 Main Street, Springfield",
                    category="Residential",
                    sub_category="Standard",
                    status="Pending",
                    customer_since=TODAY,
                )
                .returning(_BY_NAME["consumers"].c.id)
            )
        ).scalar_one()
    assert (slot_id, consumer_id) == (6, N + 1)


async def test_zero_consumers_seeds_reference_data_and_stock(engine: AsyncEngine) -> None:
    summary = await seed(engine, consumers=0, today=TODAY)
    assert summary.rows["consumers"] == 0
    assert summary.rows["meters"] >= 100
    assert summary.rows["plans"] >= 22
