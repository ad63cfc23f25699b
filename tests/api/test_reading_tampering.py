"""Inspection from an anomaly, and suspected tampering (issue 18, point 5), over the real app.

A flagged reading offers its inspection order prefilled (Inspections, the meter, why it is
flagged) and the consumer's service-orders create path raises it, once per Idempotency-Key. A
reading marked *suspected tampering* (who, when, a note) alerts in the profile header until a
supervisor clears it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Consumer, MeterAssignment, MeterReading, UtilityService
from domain.consumers.types import UtilityType, VerificationStatus
from domain.dates import add_months
from tests import factories
from tests.api.conftest import ApiFactory, auth

BASE = "/api/v1/consumers"
PROBLEM = "application/problem+json"
Maker = async_sessionmaker[AsyncSession]
START = date(2026, 1, 5)
# 100 a month, then a spike of 400 on 2026-05-05 (more than 2.5 × the median 100)
VALUES = ["1000", "1100", "1200", "1300", "1700", "1800"]
SPIKE = "2026-05-05"


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, documents_dir=tmp_path / "documents") as client:
        yield client


async def metered(sessionmaker: Maker) -> tuple[Consumer, str]:
    """A consumer with one meter and monthly readings from ``VALUES``; returns it and the meter number."""
    async with sessionmaker() as session:
        if await session.get(UtilityService, UtilityType.ELECTRICITY) is None:
            await factories.utilities(session)
        consumer = await factories.consumer(session)
        meter = await factories.meter(session)
        session.add(
            MeterAssignment(meter_id=meter.id, consumer_id=consumer.id, assigned_on=date(2025, 12, 1))
        )
        for i, value in enumerate(VALUES):
            session.add(
                MeterReading(meter_id=meter.id, consumer_id=consumer.id, reading_date=add_months(START, i),
                             value=Decimal(value), verification_status=VerificationStatus.VERIFIED)
            )  # fmt: skip
        await session.commit()
        return consumer, meter.meter_number


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["detail"]
    return body


async def readings(client: httpx.AsyncClient, headers: dict[str, str], consumer: Consumer) -> dict[str, Any]:
    connections = (await client.get(f"{BASE}/{consumer.id}/connections", headers=headers)).json()
    return {r["reading_date"]: r for m in connections["meters"] for r in m["readings"]}


async def test_a_flagged_reading_offers_its_inspection_order_and_raises_it_once(
    client: httpx.AsyncClient, staff: dict[str, Any], sessionmaker: Maker
) -> None:
    csr = auth(staff["csr"])
    consumer, number = await metered(sessionmaker)

    rows = await readings(client, csr, consumer)
    draft = rows[SPIKE]["inspection"]
    spike_why = rows[SPIKE]["anomalies"][0]["why"]

    assert [r["inspection"] is not None for r in rows.values()] == [False, False, False, False, True, False]
    assert (draft["service_type"], draft["meter_number"]) == ("Inspections", number)
    assert draft["description"].startswith(f"Inspect meter {number}, reading of {SPIKE} — spike: ")
    assert spike_why in draft["description"]

    key = {"Idempotency-Key": "inspect-spike-1"}
    first = await client.post(f"{BASE}/{consumer.id}/service-orders", json=draft, headers={**csr, **key})
    again = await client.post(f"{BASE}/{consumer.id}/service-orders", json=draft, headers={**csr, **key})

    assert first.status_code == 201, first.text
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    order = first.json()
    assert (order["service_type"], order["meter_number"], order["status"]) == (
        "Inspections",
        number,
        "Scheduled",
    )
    service = (await client.get(f"{BASE}/{consumer.id}/service", headers=csr)).json()
    assert [(o["order_number"], o["meter_number"]) for o in service["service_orders"]] == [
        (order["order_number"], number)
    ]


async def test_an_inspection_on_a_meter_that_never_served_the_consumer_is_refused(
    client: httpx.AsyncClient, staff: dict[str, Any], sessionmaker: Maker
) -> None:
    csr = auth(staff["csr"])
    consumer, _ = await metered(sessionmaker)
    _, elsewhere = await metered(sessionmaker)

    body = problem(
        await client.post(
            f"{BASE}/{consumer.id}/service-orders",
            json={"service_type": "Inspections", "meter_number": elsewhere, "description": "Check it"},
            headers=csr,
        ),
        422,
    )

    assert body["errors"][0]["field"] == "meter_number" and elsewhere in body["detail"]
    service = (await client.get(f"{BASE}/{consumer.id}/service", headers=csr)).json()
    assert service["service_orders"] == []


async def test_suspected_tampering_alerts_until_a_supervisor_clears_it(
    client: httpx.AsyncClient, staff: dict[str, Any], sessionmaker: Maker
) -> None:
    csr, supervisor = auth(staff["csr"]), auth(staff["supervisor"])
    consumer, number = await metered(sessionmaker)
    reading = f"{BASE}/{consumer.id}/meters/{number}/readings/2026-03-05/tampering"
    note = {"note": "Seal broken at the 5 March visit."}

    key = {"Idempotency-Key": "tamper-1"}
    marked = await client.post(reading, json=note, headers={**csr, **key})
    replayed = await client.post(reading, json=note, headers={**csr, **key})

    assert marked.status_code == 201, marked.text
    mark = marked.json()
    assert (mark["meter_number"], mark["reading_date"], mark["value"]) == (number, "2026-03-05", "1200.00")
    assert (mark["marked_by"], mark["note"], mark["cleared_at"]) == ("csr", note["note"], None)
    assert replayed.status_code == 201 and replayed.json() == mark
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert "already marked" in problem(await client.post(reading, json=note, headers=csr), 409)["detail"]

    header = (await client.get(f"{BASE}/{consumer.id}", headers=csr)).json()
    assert [(t["meter_number"], t["reading_date"], t["marked_by"]) for t in header["tampering"]] == [
        (number, "2026-03-05", "csr")
    ]
    alert = next(a for a in header["alerts"] if a["kind"] == "suspected_tampering")
    assert alert["severity"] == "critical" and "2026-03-05" in alert["message"] and alert["count"] == 1
    row = (await readings(client, csr, consumer))["2026-03-05"]
    assert row["tampering"]["note"] == note["note"]
    assert (
        row["inspection"]["service_type"] == "Inspections"
        and note["note"] in row["inspection"]["description"]
    )

    clear = {"note": "Inspection found the seal replaced by the utility."}
    assert problem(await client.post(f"{reading}/clearance", json=clear, headers=csr), 403)
    cleared = await client.post(f"{reading}/clearance", json=clear, headers=supervisor)

    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["cleared_by"], cleared.json()["clearance_note"]) == ("supervisor", clear["note"])
    header = (await client.get(f"{BASE}/{consumer.id}", headers=csr)).json()
    assert header["tampering"] == [] and "suspected_tampering" not in {a["kind"] for a in header["alerts"]}
    assert (await readings(client, csr, consumer))["2026-03-05"]["tampering"] is None
    assert (
        "not marked"
        in problem(await client.post(f"{reading}/clearance", json=clear, headers=supervisor), 409)["detail"]
    )
    # cleared, it can be suspected again: the first mark stays as history
    assert (await client.post(reading, json=note, headers=csr)).status_code == 201


async def test_tampering_refuses_unknown_readings_and_empty_notes(
    client: httpx.AsyncClient, staff: dict[str, Any], sessionmaker: Maker
) -> None:
    csr = auth(staff["csr"])
    consumer, number = await metered(sessionmaker)
    other, _ = await metered(sessionmaker)

    problem(await client.post(f"{BASE}/{consumer.id}/meters/{number}/readings/2026-03-06/tampering",
                              json={"note": "x"}, headers=csr), 404)  # fmt: skip
    problem(await client.post(f"{BASE}/{other.id}/meters/{number}/readings/2026-03-05/tampering",
                              json={"note": "x"}, headers=csr), 404)  # fmt: skip
    problem(await client.post(f"{BASE}/{consumer.id}/meters/{number}/readings/2026-03-05/tampering",
                              json={"note": "  "}, headers=csr), 422)  # fmt: skip
    assert (await client.get(f"{BASE}/{consumer.id}", headers=csr)).json()["tampering"] == []
