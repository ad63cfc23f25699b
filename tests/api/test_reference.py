"""Reference data over the real app and a real database: reasons, plans, meters, time-slot availability."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.reference import service
from db.models import Plan, PlanService, TimeSlot
from db.slots import book_slot
from domain.consumers.types import Category, ConsumerStatus, MeterStatus, UtilityType
from domain.request.types import RequestType
from tests import factories
from tests.api.conftest import ApiFactory, auth

PROBLEM = "application/problem+json"
Sessionmaker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url) as client:
        yield client


@pytest.fixture
def csr(staff: dict[str, Any]) -> dict[str, str]:
    return auth(staff["csr"])


def problem(response: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    """The problem+json body of ``response``, after checking its status and field errors."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if fields:
        assert {error["field"] for error in body["errors"]} >= set(fields), body
    return body


def plan(
    name: str,
    short_name: str,
    category: Category = Category.COMMERCIAL,
    sub_category: str = "Retail",
    *,
    fee: str = "50.00",
    active: bool = True,
    water: bool = True,
) -> Plan:
    services = [PlanService(utility=UtilityType.ELECTRICITY, metered=True)]
    if water:
        services.append(PlanService(utility=UtilityType.WATER, metered=False))
    return Plan(name=name, short_name=short_name, category=category, sub_category=sub_category,
                monthly_fee=Decimal(fee), rates={"electricity_per_kwh": 0.17}, features=["Paperless billing"],
                active=active, services=services)  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/reasons?type=Reconnection",
        "/api/v1/plans",
        "/api/v1/meters/available?utility=water",
        f"/api/v1/time-slots/availability?date={datetime.now(UTC).date().isoformat()}",
    ],
)
async def test_every_reference_endpoint_needs_a_signed_in_user(client: httpx.AsyncClient, path: str) -> None:
    body = problem(await client.get(path), 401)
    assert body["type"] == "/problems/not-authenticated"


# ---- reasons ------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_type", list(RequestType))
async def test_reasons_for_each_request_type(
    client: httpx.AsyncClient, csr: dict[str, str], request_type: RequestType
) -> None:
    response = await client.get("/api/v1/reasons", params={"type": request_type.value}, headers=csr)
    assert response.status_code == 200, response.text
    assert response.json() == {"type": request_type.value, "reasons": service.REASONS[request_type]}
    assert response.json()["reasons"][-1] == "Other"


async def test_reasons_refuse_an_unknown_or_missing_type(
    client: httpx.AsyncClient, csr: dict[str, str]
) -> None:
    problem(await client.get("/api/v1/reasons", params={"type": "Upgrade"}, headers=csr), 422, "query.type")
    problem(await client.get("/api/v1/reasons", headers=csr), 422, "query.type")


# ---- plans --------------------------------------------------------------------------------------


@pytest.fixture
async def catalogue(sessionmaker: Sessionmaker) -> dict[str, int]:
    async with sessionmaker() as session:
        await factories.utilities(session)
        rows = {
            "gold": plan("Retail Gold", "COM-RTL-G", fee="89.00"),
            "basic": plan("Retail Basic", "COM-RTL-B", fee="39.00", water=False),
            "retired": plan("Retail Gold Legacy", "COM-RTL-GL", active=False),
            "office": plan("Office Gold", "COM-OFC-G", sub_category="Office"),
            "home": plan("Home Standard", "RES-STD-B", Category.RESIDENTIAL, "Standard"),
        }
        session.add_all(rows.values())
        retail = await factories.consumer(session, category=Category.COMMERCIAL, sub_category="Retail")
        school = await factories.consumer(session, category=Category.INSTITUTIONAL, sub_category="School")
        await session.commit()
        return {**{k: v.id for k, v in rows.items()}, "retail": retail.id, "school": school.id}


async def test_plans_match_name_or_short_name_partially_and_case_insensitively(
    client: httpx.AsyncClient, csr: dict[str, str], catalogue: dict[str, int]
) -> None:
    by_name = await client.get("/api/v1/plans", params={"search": "gOLd"}, headers=csr)
    assert by_name.status_code == 200, by_name.text
    assert [p["id"] for p in by_name.json()["items"]] == [
        catalogue["office"],
        catalogue["gold"],
    ]  # by fee, name
    assert by_name.json()["message"] is None

    by_short = await client.get("/api/v1/plans", params={"search": "rtl-b"}, headers=csr)
    [basic] = by_short.json()["items"]
    assert basic == {
        "id": catalogue["basic"],
        "name": "Retail Basic",
        "short_name": "COM-RTL-B",
        "category": "Commercial",
        "sub_category": "Retail",
        "monthly_fee": "39.00",
        "rates": {"electricity_per_kwh": 0.17},
        "features": ["Paperless billing"],
        "services": [{"utility": "electricity", "metered": True}],
        "active": True,
    }


async def test_plans_leave_out_inactive_ones_and_treat_wildcards_literally(
    client: httpx.AsyncClient, csr: dict[str, str], catalogue: dict[str, int]
) -> None:
    everything = (await client.get("/api/v1/plans", headers=csr)).json()
    assert catalogue["retired"] not in {p["id"] for p in everything["items"]}
    assert len(everything["items"]) == 4
    assert everything["category"] is None

    wildcard = (await client.get("/api/v1/plans", params={"search": "%"}, headers=csr)).json()
    assert wildcard["items"] == []
    assert wildcard["message"] == "No active plans match '%'."


async def test_plans_for_a_consumer_match_category_and_sub_category(
    client: httpx.AsyncClient, csr: dict[str, str], catalogue: dict[str, int]
) -> None:
    response = await client.get("/api/v1/plans", params={"consumer_id": catalogue["retail"]}, headers=csr)
    body = response.json()
    assert {p["id"] for p in body["items"]} == {
        catalogue["gold"],
        catalogue["basic"],
    }  # not Office, not retired
    assert (body["category"], body["sub_category"], body["message"]) == ("Commercial", "Retail", None)
    water = {p["short_name"]: [s["utility"] for s in p["services"]] for p in body["items"]}
    assert water == {"COM-RTL-G": ["electricity", "water"], "COM-RTL-B": ["electricity"]}


async def test_plans_explain_why_nothing_matched_naming_the_category(
    client: httpx.AsyncClient, csr: dict[str, str], catalogue: dict[str, int]
) -> None:
    no_match = await client.get(
        "/api/v1/plans", params={"consumer_id": catalogue["retail"], "search": "platinum"}, headers=csr
    )
    assert no_match.status_code == 200
    assert no_match.json() == {
        "items": [],
        "category": "Commercial",
        "sub_category": "Retail",
        "message": "No active plans for Commercial / Retail consumers match 'platinum'.",
    }

    none_configured = await client.get(
        "/api/v1/plans", params={"consumer_id": catalogue["school"], "search": "gold"}, headers=csr
    )
    assert none_configured.status_code == 200
    assert none_configured.json()["items"] == []
    assert none_configured.json()["message"] == (
        "No active plans are configured for Institutional / School consumers; ask an administrator to add one."
    )


async def test_plans_for_an_unknown_consumer_are_404(
    client: httpx.AsyncClient, csr: dict[str, str], catalogue: dict[str, int]
) -> None:
    body = problem(await client.get("/api/v1/plans", params={"consumer_id": 987654}, headers=csr), 404)
    assert body["type"] == "/problems/not-found"
    assert "987654" in body["detail"]
    problem(
        await client.get("/api/v1/plans", params={"consumer_id": "abc"}, headers=csr),
        422,
        "query.consumer_id",
    )


# ---- meters -------------------------------------------------------------------------------------


async def test_available_meters_by_utility_with_search_and_pages(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Sessionmaker
) -> None:
    async with sessionmaker() as session:
        await factories.utilities(session)
        free = [
            await factories.meter(session, UtilityType.WATER, meter_number=f"WM-{n}") for n in (101, 102, 203)
        ]
        await factories.meter(session, UtilityType.WATER, meter_number="WM-104", status=MeterStatus.ASSIGNED)
        await factories.meter(
            session, UtilityType.WATER, meter_number="WM-105", status=MeterStatus.MAINTENANCE
        )
        await factories.meter(session, UtilityType.ELECTRICITY, meter_number="EM-106")
        await session.commit()

    first = await client.get("/api/v1/meters/available", params={"utility": "water", "size": 2}, headers=csr)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["total"], body["page"], body["size"]) == (3, 1, 2)
    assert [m["meter_number"] for m in body["items"]] == ["WM-101", "WM-102"]
    assert body["items"][0] == {
        "id": free[0].id,
        "meter_number": "WM-101",
        "device_number": free[0].device_number,
        "utility": "water",
        "meter_type": "Smart",
        "model": "Aquaflow X200",
        "status": "available",
        "last_reading": "100.00",
        "last_reading_date": "2026-10-01",
    }
    second = await client.get(
        "/api/v1/meters/available", params={"utility": "water", "size": 2, "page": 2}, headers=csr
    )
    assert [m["meter_number"] for m in second.json()["items"]] == ["WM-203"]

    searched = await client.get(
        "/api/v1/meters/available", params={"utility": "water", "search": "wm-2"}, headers=csr
    )
    assert [m["meter_number"] for m in searched.json()["items"]] == ["WM-203"]


async def test_available_meters_refuse_a_bad_utility_or_page(
    client: httpx.AsyncClient, csr: dict[str, str]
) -> None:
    problem(
        await client.get("/api/v1/meters/available", params={"utility": "gas"}, headers=csr),
        422,
        "query.utility",
    )
    problem(await client.get("/api/v1/meters/available", headers=csr), 422, "query.utility")
    problem(
        await client.get("/api/v1/meters/available", params={"utility": "water", "page": 0}, headers=csr),
        422,
        "query.page",
    )


# ---- time slots ---------------------------------------------------------------------------------


@pytest.fixture
async def slots(sessionmaker: Sessionmaker) -> list[TimeSlot]:
    async with sessionmaker() as session:
        rows = [
            await factories.time_slot(session, capacity=2, start_hour=10),
            await factories.time_slot(session, capacity=1, start_hour=8),
            await factories.time_slot(session, capacity=3, start_hour=14),
        ]
        rows[2].active = False
        await session.commit()
        return rows


async def test_availability_counts_seats_taken_by_bookings(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Sessionmaker, slots: list[TimeSlot]
) -> None:
    day = datetime.now(UTC).date() + timedelta(days=3)
    async with sessionmaker() as session:
        await book_slot(session, request_id="RC-A1", slot_id=slots[0].id, day=day)
        await book_slot(session, request_id="RC-A2", slot_id=slots[1].id, day=day)
        await book_slot(session, request_id="RC-A3", slot_id=slots[0].id, day=day + timedelta(days=1))
        await session.commit()

    response = await client.get(
        "/api/v1/time-slots/availability", params={"date": day.isoformat()}, headers=csr
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["date"] == day.isoformat()
    assert body["slots"] == [  # active slots only, earliest first
        {"slot_id": slots[1].id, "label": "08:00–10:00", "start_time": "08:00:00", "end_time": "10:00:00",
         "capacity": 1, "booked": 1, "remaining": 0, "available": False, "begun": False},
        {"slot_id": slots[0].id, "label": "10:00–12:00", "start_time": "10:00:00", "end_time": "12:00:00",
         "capacity": 2, "booked": 1, "remaining": 1, "available": True, "begun": False},
    ]  # fmt: skip

    untouched = await client.get(
        "/api/v1/time-slots/availability", params={"date": (day + timedelta(days=2)).isoformat()}, headers=csr
    )
    assert [(s["booked"], s["remaining"]) for s in untouched.json()["slots"]] == [(0, 1), (0, 2)]

    today = await client.get(
        "/api/v1/time-slots/availability", params={"date": datetime.now(UTC).date().isoformat()}, headers=csr
    )
    assert today.status_code == 200


async def test_availability_refuses_a_past_or_malformed_date(
    client: httpx.AsyncClient, csr: dict[str, str], slots: list[TimeSlot]
) -> None:
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    body = problem(
        await client.get("/api/v1/time-slots/availability", params={"date": yesterday}, headers=csr),
        422,
        "query.date",
    )
    assert body["detail"] == "The date must be today or later."
    assert body["type"] == "/problems/validation"
    problem(
        await client.get("/api/v1/time-slots/availability", params={"date": "31/12/2030"}, headers=csr),
        422,
        "query.date",
    )
    problem(await client.get("/api/v1/time-slots/availability", headers=csr), 422, "query.date")


async def test_earliest_available_slot_skips_a_full_slot(
    sessionmaker: Sessionmaker, slots: list[TimeSlot]
) -> None:
    early, late = slots[1], slots[0]  # 08:00 with 1 seat, 10:00 with 2 seats
    day = datetime.now(UTC).date() + timedelta(days=5)
    async with sessionmaker() as session:
        assert await service.earliest_available_slot(session=session, from_date=day) == (early.id, day)
        await book_slot(session, request_id="RC-E1", slot_id=early.id, day=day)
        assert await service.earliest_available_slot(session=session, from_date=day) == (late.id, day)
        await book_slot(session, request_id="RC-E2", slot_id=late.id, day=day)
        await book_slot(session, request_id="RC-E3", slot_id=late.id, day=day)
        # The whole day is full: the first slot of the next day.
        assert await service.earliest_available_slot(session=session, from_date=day) == (
            early.id,
            day + timedelta(days=1),
        )

        assert await service.slot_has_capacity(session=session, slot_id=late.id, day=day) is False
        assert (
            await service.slot_has_capacity(session=session, slot_id=late.id, day=day + timedelta(1)) is True
        )
        inactive = slots[2]
        assert await service.slot_has_capacity(session=session, slot_id=inactive.id, day=day) is False
        assert await service.slot_has_capacity(session=session, slot_id=999999, day=day) is False


async def test_todays_windows_that_have_begun_are_neither_offered_nor_accepted(
    sessionmaker: Sessionmaker, slots: list[TimeSlot]
) -> None:
    early, late = slots[1], slots[0]  # 08:00 with 1 seat, 10:00 with 2 seats
    today = date(2030, 6, 3)
    at_nine, at_noon = (datetime(2030, 6, 3, hour, tzinfo=UTC) for hour in (9, 12))
    async with sessionmaker() as session:
        assert await service.earliest_available_slot(session=session, from_date=today, now=at_nine) == (
            late.id, today,
        )  # fmt: skip
        offered = {
            s.slot_id: (s.remaining, s.available, s.begun)
            for s in (await service.slot_availability(session=session, day=today, now=at_nine)).slots
        }
        assert offered[early.id] == (0, False, True) and offered[late.id] == (2, True, False)
        assert not await service.slot_has_capacity(session=session, slot_id=early.id, day=today, now=at_nine)
        assert await service.slot_has_capacity(session=session, slot_id=late.id, day=today, now=at_nine)
        # at noon both have begun: the first window tomorrow
        tomorrow = today + timedelta(days=1)
        assert await service.earliest_available_slot(session=session, from_date=today, now=at_noon) == (
            early.id, tomorrow,
        )  # fmt: skip


async def test_earliest_available_slot_is_none_when_nothing_is_free(sessionmaker: Sessionmaker) -> None:
    day = datetime.now(UTC).date() + timedelta(
        days=1
    )  # whatever the hour: no window of the first day has begun
    async with sessionmaker() as session:
        assert await service.earliest_available_slot(session=session, from_date=day) is None
        only = TimeSlot(label="Only", start_time=time(9), end_time=time(11), capacity_per_day=1)
        session.add(only)
        await session.flush()
        for offset in range(service.SLOT_SEARCH_DAYS):
            await book_slot(session, request_id=f"RC-F{offset}", slot_id=only.id, day=day + timedelta(offset))
        assert await service.earliest_available_slot(session=session, from_date=day) is None


async def test_consumer_status_does_not_matter_for_plan_search(
    client: httpx.AsyncClient, csr: dict[str, str], catalogue: dict[str, int], sessionmaker: Sessionmaker
) -> None:
    # A disconnection (Active consumer) still needs the consumer's own category's plans shown.
    async with sessionmaker() as session:
        active = await factories.consumer(
            session, status=ConsumerStatus.ACTIVE, category=Category.RESIDENTIAL
        )
        await session.commit()
    body = (await client.get("/api/v1/plans", params={"consumer_id": active.id}, headers=csr)).json()
    assert [p["id"] for p in body["items"]] == [catalogue["home"]]
