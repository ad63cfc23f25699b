"""Search by phone in any formatting, by service address and by meter or device number (db/search.py,
migration a9d2f4c6e8b1): consumers, requests through their consumer, and the new request's consumer
step; the search text follows meters assigned, unassigned and renumbered; existing rows are
rewritten by the migration and restored by its downgrade, on a real database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.consumers import accounts
from api.requests import queries as requests
from db import search
from db.migrate import downgrade, upgrade
from db.models import Consumer, Meter, MeterAssignment, ServiceRequest
from db.session import make_engine, make_sessionmaker
from domain.consumers.types import MeterStatus
from settings import Settings
from tests import factories

BEFORE, THIS = "e5b9c3d7f1a2", "a9d2f4c6e8b1"


async def _consumers(session: AsyncSession, q: str) -> list[str]:
    page = await accounts.search_consumers(session=session, q=q, size=50)
    assert page.total == len(page.items)
    return sorted(row.last_name for row in page.items)


async def _requests(session: AsyncSession, q: str) -> list[str]:
    page = await requests.list_requests(session=session, q=q, size=50)
    assert page.total == len(page.items)
    return sorted(row.consumer_name.split()[-1] for row in page.items)


async def _lookup(session: AsyncSession, q: str) -> list[str]:
    found = await requests.lookup_customers(session=session, settings=Settings(), q=q)
    return sorted(match.consumer.name.split()[-1] for match in found)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("(555) 123-4567", ["Okafor"]),  # as the phone is written
        ("555.123.4567", ["Okafor"]),  # other formats: the digits are compared
        ("5551234567", ["Okafor"]),
        ("+555 123 4567", ["Okafor"]),
        ("123-4567", ["Okafor"]),  # a partial run of digits
        ("4567", ["Okafor"]),
        ("2-45", []),  # three digits: not read as a phone number, and "2-45" is nowhere
        ("555-123-4568", []),
        ("555", ["Okafor", "Pereira"]),  # a plain word still matches anywhere, as before
        ("(555) 765-4321", ["Pereira"]),
        ("42 elm", ["Okafor"]),  # the service address
        ("ELM STREET", ["Okafor"]),
        ("harbour rd", ["Pereira"]),
        ("springfield", ["Okafor", "Pereira"]),
        ("okafor 4567", ["Okafor"]),  # mixed with a name
        ("pereira 4567", []),
    ],
)
async def test_phone_and_address_find_the_consumer_everywhere(
    sessionmaker: async_sessionmaker[AsyncSession], q: str, expected: list[str]
) -> None:
    async with sessionmaker() as session:
        okafor = await factories.consumer(
            session, last_name="Okafor", phone="(555) 123-4567", service_address="42 Elm Street, Springfield"
        )
        pereira = await factories.consumer(
            session, last_name="Pereira", phone="555.765.4321", service_address="7 Harbour Rd, Springfield"
        )
        await factories.request_row(session, okafor.id)
        await factories.request_row(session, pereira.id)
        await session.commit()

        assert await _consumers(session, q) == expected
        assert await _requests(session, q) == expected  # a request matches through its consumer
        assert await _lookup(session, q) == expected  # the new request's consumer step


async def test_meters_follow_assignment_unassignment_and_renumbering(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        await factories.utilities(session)
        ada = await factories.consumer(session, last_name="Adebayo")
        bo = await factories.consumer(session, last_name="Brennan")
        await factories.request_row(session, ada.id)
        await factories.request_row(session, bo.id)
        meter = await factories.meter(session, meter_number="M-771122", device_number="D-443300")
        await session.commit()
        assert await _consumers(session, "m-771122") == []

        assignment = MeterAssignment(
            meter_id=meter.id, consumer_id=ada.id, assigned_on=date(2026, 11, 1), initial_reading=None
        )
        session.add(assignment)
        meter.status = MeterStatus.ASSIGNED
        await session.commit()
        for q in ("M-771122", "771122", "d-443300", "443300 adebayo"):
            assert await _consumers(session, q) == ["Adebayo"], q
            assert await _requests(session, q) == ["Adebayo"], q
        assert await _lookup(session, "M-771122") == ["Adebayo"]

        await session.execute(  # renumbered (a bulk update, not through the ORM)
            update(Meter).where(Meter.id == meter.id).values(meter_number="M-771199")
        )
        await session.commit()
        assert await _consumers(session, "771122") == []
        assert await _requests(session, "m-771199") == ["Adebayo"]

        assignment.unassigned_on = date(2026, 11, 20)  # unassigned: no longer hers
        await session.commit()
        assert await _consumers(session, "m-771199") == []
        assert await _requests(session, "d-443300") == []

        session.add(MeterAssignment(meter_id=meter.id, consumer_id=bo.id, assigned_on=date(2026, 11, 21)))
        await session.commit()  # assigned to Bo: found as his
        assert await _consumers(session, "m-771199") == ["Brennan"]
        assert await _requests(session, "443300") == ["Brennan"]

        await session.execute(delete(MeterAssignment).where(MeterAssignment.consumer_id == bo.id))
        await session.commit()
        assert await _consumers(session, "443300") == []
        assert await _requests(session, "443300") == []

        await session.execute(  # a contact edit rewrites the text too
            update(Consumer).where(Consumer.id == bo.id).values(phone="(212) 000-9999")
        )
        await session.commit()
        assert await _requests(session, "212.000.9999") == ["Brennan"]
        if session.get_bind().dialect.name == "sqlite":  # the trigram tables hold what the rows hold
            for table in ("consumer_search", "request_search"):
                await session.execute(
                    text(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")
                )


async def test_the_migration_rewrites_existing_rows_and_its_downgrade_restores_them(
    empty_db_url: str,
) -> None:
    await upgrade(empty_db_url, BEFORE)
    engine = make_engine(empty_db_url)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with engine.begin() as conn:  # rows written before the migration, in that schema
            await conn.execute(
                text(
                    "INSERT INTO utility_services (code, name, unit) VALUES ('electricity', 'Electricity', 'kWh')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO consumers (id, account_number, first_name, last_name, phone, service_address, "
                    "category, sub_category, status, is_vip, balance, customer_since, portal_enrolled, "
                    "paperless_billing, fraud_flag) VALUES (1, 'WU-1', 'Ada', 'Okafor', '(555) 123-4567', "
                    "'42 Elm Street', 'Residential', 'Standard', 'Active', false, 0, '2020-01-01', false, "
                    "false, false)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO meters (id, meter_number, device_number, utility, meter_type, model, "
                    "installation_date, status) VALUES (1, 'M-5', 'D-6', 'electricity', 'Smart', 'E3', "
                    "'2024-01-01', 'assigned')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO meter_assignments (meter_id, consumer_id, assigned_on) VALUES (1, 1, '2024-01-01')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO requests (request_id, consumer_id, request_type, status, priority, reason, "
                    "ack_due_at, response_due_at, resolution_due_at, ack_state, response_state, "
                    "resolution_state, sla_status, escalation_level, created_at, updated_at) VALUES "
                    "('DC-T1', 1, 'Disconnection', 'Pending', 'Medium', 'Other', '2026-12-01 10:00:00', "
                    "'2026-12-01 12:00:00', '2026-12-02 08:00:00', 'On Track', 'On Track', 'On Track', "
                    "'On Track', 0, '2026-12-01 08:00:00', '2026-12-01 08:00:00')"
                )
            )
        await engine.dispose()

        await upgrade(empty_db_url, THIS)
        new_text = " ada okafor wu-1 5551234567 42 elm street m-5 d-6"
        async with sessionmaker() as session:
            dialect = session.get_bind().dialect.name
            assert await session.scalar(text("SELECT search_text FROM consumers")) == new_text
            assert await session.scalar(text("SELECT search_text FROM requests")) == f"{new_text} dc-t1"
            for q in ("555.123.4567", "elm street", "m-5 ada"):
                assert list(
                    await session.scalars(select(Consumer.id).where(search.consumer_condition(q, dialect)))
                )
                found = search.request_condition(q, dialect)
                assert (
                    await session.scalar(select(func.count()).select_from(ServiceRequest).where(found)) == 1
                )
        await engine.dispose()

        await downgrade(empty_db_url, BEFORE)
        async with sessionmaker() as session:
            assert await session.scalar(text("SELECT search_text FROM requests")) == " ada okafor wu-1 dc-t1"
            if dialect == "sqlite":  # the name search table is the three columns again
                assert (
                    await session.scalar(
                        text("SELECT rowid FROM consumer_search WHERE consumer_search MATCH '\"okaf\"'")
                    )
                    == 1
                )
        await engine.dispose()
        await upgrade(empty_db_url)
    finally:
        await engine.dispose()
