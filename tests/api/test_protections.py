"""Protections, the disconnection check, the jurisdiction profile and weather emergencies, over
the real app and a real database (issue 15, points 2, 3 and 5's API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from db.models import AuditEntry, ConsumerProtection, Document
from domain.consumers.types import ConsumerStatus, DocumentStatus
from domain.disconnection.profile import NEW_YORK, PENNSYLVANIA
from tests import factories
from tests.api.conftest import ApiFactory, auth

SEASONAL = "seasonal_moratorium"  # the default profile's winter moratorium holds on some dates


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, documents_dir=tmp_path / "documents") as client:
        yield client


@pytest.fixture
def csr(staff: dict[str, Any]) -> dict[str, str]:
    return auth(staff["csr"])


@pytest.fixture
def admin(staff: dict[str, Any]) -> dict[str, str]:
    return auth(staff["admin"])


@pytest.fixture
async def consumer(sessionmaker: Any) -> Any:
    async with sessionmaker() as session:
        row = await factories.consumer(
            session, status=ConsumerStatus.COLLECTION, service_address="12 Elm St, Springfield, Harris County"
        )
        await session.commit()
        return row


def _recorded(holds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [h for h in holds if h["kind"] != SEASONAL]


async def _document(sessionmaker: Any, consumer_id: int) -> int:
    async with sessionmaker() as session:
        doc = Document(
            consumer_id=consumer_id, title="Physician's certificate", filename="cert.pdf",
            stored_name=f"doc-{consumer_id}-{datetime.now(UTC).timestamp()}", content_type="application/pdf",
            size_bytes=10, verification_status=DocumentStatus.VERIFIED, uploaded_by="csr",
            uploaded_at=datetime.now(UTC),
        )  # fmt: skip
        session.add(doc)
        await session.commit()
        return doc.id


async def test_a_medical_certificate_lasts_the_profile_period_and_blocks_the_cut(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Any, sessionmaker: Any
) -> None:
    evidence = await _document(sessionmaker, consumer.id)
    base = f"/api/v1/consumers/{consumer.account_number}"

    created = await client.post(
        f"{base}/protections",
        json={"kind": "medical_certificate", "evidence_document_id": evidence, "note": "Oxygen concentrator"},
        headers=csr,
    )

    assert created.status_code == 201, created.text
    body = created.json()
    starts, ends = datetime.fromisoformat(body["starts_at"]), datetime.fromisoformat(body["ends_at"])
    assert ends - starts == timedelta(days=PENNSYLVANIA.medical_certificate.days)
    assert body["in_force"] and body["renewable"] and body["recorded_by"] == "csr"
    listed = (await client.get(f"{base}/protections", headers=csr)).json()
    assert [p["id"] for p in listed] == [body["id"]]

    check = (await client.get(f"{base}/disconnection-check", headers=csr)).json()
    assert check["lawful_now"] is False
    [hold] = _recorded(check["holds"])
    assert hold["label"] == "Medical certificate" and hold["until"] is not None
    assert "lifts when the certificate expires" in hold["message"]
    assert any(p["code"] == "protected" for p in check["problems"])


async def test_a_consumers_own_request_is_not_blocked_by_a_protection(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Any
) -> None:
    base = f"/api/v1/consumers/{consumer.id}"
    await client.post(f"{base}/protections", json={"kind": "life_support"}, headers=csr)

    check = (await client.get(f"{base}/disconnection-check?reason=Consumer%20request", headers=csr)).json()

    assert check["holds"] == [] and check["lawful_now"] is True


async def test_a_certificate_is_renewed_as_often_as_the_profile_allows(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Any
) -> None:
    base = f"/api/v1/consumers/{consumer.id}/protections"
    first = (await client.post(base, json={"kind": "medical_certificate"}, headers=csr)).json()

    renewals = [await client.post(f"{base}/{first['id']}/renew", headers=csr) for _ in range(3)]

    assert [r.status_code for r in renewals] == [200, 200, 409]
    last = renewals[1].json()
    assert last["renewals"] == 2 and not last["renewable"]
    extended = datetime.fromisoformat(last["ends_at"]) - datetime.fromisoformat(first["ends_at"])
    assert extended == timedelta(days=60)
    assert "renewed 2 times" in renewals[2].json()["detail"]
    other = (await client.post(base, json={"kind": "vulnerable_household"}, headers=csr)).json()
    assert (await client.post(f"{base}/{other['id']}/renew", headers=csr)).status_code == 409


async def test_ending_a_protection_releases_the_hold_and_keeps_the_record(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Any, sessionmaker: Any
) -> None:
    base = f"/api/v1/consumers/{consumer.id}"
    created = (
        await client.post(f"{base}/protections", json={"kind": "dispute_under_review"}, headers=csr)
    ).json()
    assert _recorded((await client.get(f"{base}/disconnection-check", headers=csr)).json()["holds"])

    ended = await client.post(
        f"{base}/protections/{created['id']}/end",
        json={"reason": "Dispute resolved: bill correct"},
        headers=csr,
    )
    again = await client.post(
        f"{base}/protections/{created['id']}/end", json={"reason": "twice"}, headers=csr
    )

    assert ended.status_code == 200 and again.status_code == 409
    assert (
        ended.json()["in_force"] is False and ended.json()["end_reason"] == "Dispute resolved: bill correct"
    )
    assert _recorded((await client.get(f"{base}/disconnection-check", headers=csr)).json()["holds"]) == []
    async with sessionmaker() as session:
        audited = await session.scalar(
            select(func.count()).where(
                AuditEntry.object_type == "protection", AuditEntry.object_id == str(created["id"])
            )
        )
    assert audited == 2  # recorded, then ended


async def test_evidence_must_be_the_consumers_own_document(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Any, sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        other = await factories.consumer(session)
        await session.commit()
    foreign = await _document(sessionmaker, other.id)

    response = await client.post(
        f"/api/v1/consumers/{consumer.id}/protections",
        json={"kind": "medical_certificate", "evidence_document_id": foreign},
        headers=csr,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "evidence_document_id"


async def test_recording_twice_with_one_key_records_once(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Any, sessionmaker: Any
) -> None:
    url = f"/api/v1/consumers/{consumer.id}/protections"
    headers = {**csr, "Idempotency-Key": "protect-once-1"}
    answers = [
        await client.post(url, json={"kind": "payment_arrangement"}, headers=headers) for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert answers[1].headers.get("idempotent-replayed") == "true"
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ConsumerProtection)
            .where(ConsumerProtection.consumer_id == consumer.id)
        )
    assert count == 1


async def test_a_weather_emergency_holds_the_consumers_in_its_area_until_it_ends(
    client: httpx.AsyncClient, csr: dict[str, str], admin: dict[str, str], consumer: Any, sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        elsewhere = await factories.consumer(session, service_address="4 Oak Ave, Austin, Travis County")
        await session.commit()
    ends = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {"hazard": "heat", "ends_at": ends, "service_area": "harris county"}

    refused = await client.post("/api/v1/admin/weather-emergencies", json=body, headers=csr)
    declared = await client.post("/api/v1/admin/weather-emergencies", json=body, headers=admin)

    assert refused.status_code == 403
    assert declared.status_code == 201, declared.text
    [hold] = _recorded(
        (await client.get(f"/api/v1/consumers/{consumer.id}/disconnection-check", headers=csr)).json()[
            "holds"
        ]
    )
    assert hold["label"] == "Heat weather emergency in harris county"
    far = (await client.get(f"/api/v1/consumers/{elsewhere.id}/disconnection-check", headers=csr)).json()
    assert _recorded(far["holds"]) == []
    current = (await client.get("/api/v1/admin/weather-emergencies?current=true", headers=admin)).json()
    assert [e["id"] for e in current] == [declared.json()["id"]]

    ended = await client.post(f"/api/v1/admin/weather-emergencies/{declared.json()['id']}/end", headers=admin)

    assert ended.status_code == 200 and ended.json()["in_force"] is False
    after = (await client.get(f"/api/v1/consumers/{consumer.id}/disconnection-check", headers=csr)).json()
    assert _recorded(after["holds"]) == []
    assert (await client.get("/api/v1/admin/weather-emergencies?current=true", headers=admin)).json() == []


async def test_an_admin_adopts_a_preset_or_saves_an_edited_profile(
    client: httpx.AsyncClient, admin: dict[str, str], csr: dict[str, str], consumer: Any
) -> None:
    url = "/api/v1/admin/disconnection-profile"
    default = (await client.get(url, headers=admin)).json()
    assert default["is_default"] is True and default["profile"]["key"] == PENNSYLVANIA.key
    presets = (await client.get(f"{url}/presets", headers=admin)).json()
    assert {p["key"] for p in presets} >= {PENNSYLVANIA.key, NEW_YORK.key}
    assert (await client.get(url, headers=csr)).status_code == 403

    adopted = await client.post(f"{url}/adopt-preset", json={"key": NEW_YORK.key}, headers=admin)
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["is_default"] is False and adopted.json()["updated_by"] == "admin"
    check = (await client.get(f"/api/v1/consumers/{consumer.id}/disconnection-check", headers=csr)).json()
    assert check["profile"] == NEW_YORK.name

    edited = {**adopted.json()["profile"], "cut_hours_end": "15:00:00", "extra_holidays": ["2027-03-17"]}
    saved = await client.put(url, json=edited, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["profile"]["cut_hours_end"] == "15:00:00"
    assert saved.json()["profile"]["extra_holidays"] == ["2027-03-17"]

    backwards = await client.put(url, json={**edited, "cut_hours_start": "16:00:00"}, headers=admin)
    unknown = await client.post(f"{url}/adopt-preset", json={"key": "XX"}, headers=admin)
    assert backwards.status_code == 422 and unknown.status_code == 422
    assert (await client.get(url, headers=admin)).json()["profile"]["cut_hours_end"] == "15:00:00"
