"""Payments in, over the real app and a real database (issue 16, point 1): at the desk and from
the billing system's signed webhook, once per reference, the balance updated in the same step."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.payments.service import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from db.models import AuditEntry, Consumer, Payment
from tests import factories
from tests.api.conftest import ApiFactory, auth

SECRET = "billing-shared-secret-for-tests-0123456789"


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(
        database_url=db_url, documents_dir=tmp_path / "documents", payment_webhook_secret=SECRET
    ) as client:
        yield client


@pytest.fixture
async def consumer(sessionmaker: Any) -> Consumer:
    async with sessionmaker() as session:
        row = await factories.consumer(session, balance=Decimal("250.00"))
        await session.commit()
        return row


async def _balance(sessionmaker: Any, consumer_id: int) -> Decimal:
    async with sessionmaker() as session:
        return Decimal(await session.scalar(select(Consumer.balance).where(Consumer.id == consumer_id)))


async def _payments(sessionmaker: Any, consumer_id: int) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).where(Payment.consumer_id == consumer_id)) or 0)


def _signed(body: dict[str, Any], *, at: int | None = None, secret: str = SECRET) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    stamp = str(at if at is not None else int(time.time()))
    return {
        "content": raw,
        "headers": {
            "content-type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(secret, stamp, raw),
        },
    }


async def test_a_desk_payment_lowers_the_balance_once_per_reference(
    client: httpx.AsyncClient, staff: dict[str, Any], consumer: Consumer, sessionmaker: Any
) -> None:
    url = f"/api/v1/consumers/{consumer.account_number}/payments"
    body = {"amount": "100.00", "method": "Cash", "reference": "RCPT-0001"}

    first = await client.post(url, json=body, headers=auth(staff["csr"]))
    again = await client.post(url, json=body, headers=auth(staff["csr"]))

    assert first.status_code == 201, first.text
    assert first.json()["balance"] == "150.00" and first.json()["duplicate"] is False
    payment = first.json()["payment"]
    assert (
        payment["source"] == "desk" and payment["recorded_by"] == "csr" and payment["status"] == "Processed"
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["payment"]["id"] == payment["id"]
    assert await _balance(sessionmaker, consumer.id) == Decimal("150.00")
    assert await _payments(sessionmaker, consumer.id) == 1
    async with sessionmaker() as session:
        audited = await session.scalar(
            select(func.count()).where(
                AuditEntry.object_type == "payment", AuditEntry.object_id == "RCPT-0001"
            )
        )
    assert audited == 1


async def test_a_desk_payment_without_a_reference_is_retried_safely_by_its_key(
    client: httpx.AsyncClient, staff: dict[str, Any], consumer: Consumer, sessionmaker: Any
) -> None:
    url = f"/api/v1/consumers/{consumer.id}/payments"
    headers = {**auth(staff["csr"]), "Idempotency-Key": "desk-pay-1"}

    answers = [
        await client.post(url, json={"amount": "20", "method": "Credit Card"}, headers=headers)
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["payment"]["reference"].startswith("DESK-")
    assert await _balance(sessionmaker, consumer.id) == Decimal("230.00")


async def test_a_reference_cannot_name_two_different_payments(
    client: httpx.AsyncClient, staff: dict[str, Any], consumer: Consumer, sessionmaker: Any
) -> None:
    url = f"/api/v1/consumers/{consumer.id}/payments"
    await client.post(
        url, json={"amount": "10", "method": "Cash", "reference": "R-9"}, headers=auth(staff["csr"])
    )

    clash = await client.post(
        url, json={"amount": "99", "method": "Cash", "reference": "R-9"}, headers=auth(staff["csr"])
    )

    assert clash.status_code == 409 and "R-9" in clash.json()["detail"]
    assert await _balance(sessionmaker, consumer.id) == Decimal("240.00")


@pytest.mark.parametrize("amount", ["0", "-5", "1.234", "abc"])
async def test_a_payment_must_be_a_positive_amount_in_cents(
    client: httpx.AsyncClient, staff: dict[str, Any], consumer: Consumer, amount: str
) -> None:
    response = await client.post(
        f"/api/v1/consumers/{consumer.id}/payments",
        json={"amount": amount, "method": "Cash"},
        headers=auth(staff["csr"]),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amount"


async def test_the_billing_webhook_records_a_signed_payment_once(
    client: httpx.AsyncClient, consumer: Consumer, sessionmaker: Any
) -> None:
    body = {"account_number": consumer.account_number, "amount": "250.00", "method": "Bank Transfer",
            "reference": "BANK-77-ABC", "received_at": "2026-11-30T14:05:00Z"}  # fmt: skip

    delivered = await asyncio.gather(
        *(client.post("/api/v1/webhooks/billing/payments", **_signed(body)) for _ in range(3))
    )

    assert sorted(d.status_code for d in delivered) == [200, 200, 201]
    assert {d.json()["payment"]["id"] for d in delivered} == {delivered[0].json()["payment"]["id"]}
    assert await _balance(sessionmaker, consumer.id) == Decimal("0.00")
    assert await _payments(sessionmaker, consumer.id) == 1
    async with sessionmaker() as session:
        payment = await session.scalar(select(Payment).where(Payment.reference == "BANK-77-ABC"))
        actor = await session.scalar(select(AuditEntry.actor).where(AuditEntry.object_type == "payment"))
    assert payment is not None and payment.source == "billing" and payment.recorded_by == "billing-webhook"
    assert actor == "billing-webhook"


async def test_the_billing_webhook_refuses_unsigned_forged_and_stale_calls(
    client: httpx.AsyncClient, consumer: Consumer, sessionmaker: Any
) -> None:
    body = {"account_number": consumer.account_number, "amount": "50.00", "method": "Cash",
            "reference": "BANK-78", "received_at": "2026-11-30T14:05:00Z"}  # fmt: skip
    url = "/api/v1/webhooks/billing/payments"

    unsigned = await client.post(url, json=body)
    forged = await client.post(url, **_signed(body, secret="not-the-secret"))
    stale = await client.post(url, **_signed(body, at=int(time.time()) - 3600))
    tampered = _signed(body)
    tampered["content"] = tampered["content"].replace(b"50.00", b"5000.00")
    altered = await client.post(url, **tampered)

    for refused in (unsigned, forged, stale, altered):
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert "outside the 300 s window" in stale.json()["detail"]
    assert await _payments(sessionmaker, consumer.id) == 0


async def test_the_webhook_is_off_without_a_secret_and_names_an_unknown_account(
    api_client_for: ApiFactory, client: httpx.AsyncClient, db_url: str
) -> None:
    body = {"account_number": "WU-NOPE", "amount": "5.00", "method": "Cash", "reference": "X-1",
            "received_at": "2026-11-30T14:05:00Z"}  # fmt: skip
    unknown = await client.post("/api/v1/webhooks/billing/payments", **_signed(body))
    assert unknown.status_code == 404 and "WU-NOPE" in unknown.json()["detail"]

    async with api_client_for(database_url=db_url) as unconfigured:
        off = await unconfigured.post("/api/v1/webhooks/billing/payments", **_signed(body))
    assert off.status_code == 404 and "not configured" in off.json()["detail"]
