"""One VIP rule everywhere (issue 18, point 6): the consumer list's crown, the profile's and the
request wizard's all come from ``domain.consumers.health.vip_reason`` under the configured rule.

The list reads the stored ``consumers.is_vip``; these tests show it equal to what the profile
computes, for consumers on each side of the threshold — after the nightly sweep, and straight
after an API write that carries a consumer across it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.consumers.profile import refresh_all_vip
from db.models import BillingAccount, Consumer, Payment, Plan
from domain.consumers.types import BillingCycle, Category, PaymentMethod, PaymentMode, PaymentStatus
from settings import Settings
from tests import factories
from tests.api.conftest import ApiFactory, auth

BASE = "/api/v1/consumers"
Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, documents_dir=tmp_path / "documents") as client:
        yield client


def _today() -> Any:
    return datetime.now(UTC).date()


async def _business(sessionmaker: Maker, last_name: str, bills: list[str]) -> Consumer:
    """A Commercial consumer on a monthly cycle, with ``bills`` paid on time in the past months."""
    today = _today()
    async with sessionmaker() as session:
        consumer = await factories.consumer(
            session,
            category=Category.COMMERCIAL,
            last_name=last_name,
            customer_since=today - timedelta(days=400),
        )
        plan = Plan(name="Business", short_name=f"BIZ-{consumer.id}", category=Category.COMMERCIAL,
                    sub_category="Retail", monthly_fee=Decimal(10), rates={}, features=[])  # fmt: skip
        session.add(plan)
        await session.flush()
        session.add(
            BillingAccount(
                consumer_id=consumer.id,
                plan_id=plan.id,
                billing_cycle=BillingCycle.MONTHLY,
                payment_mode=PaymentMode.MANUAL,
                cycle_start=today - timedelta(days=300),
                next_bill_date=today + timedelta(days=10),
            )
        )
        for months_ago, amount in enumerate(reversed(bills), start=1):
            due = today - timedelta(days=30 * months_ago)
            session.add(
                Payment(
                    consumer_id=consumer.id,
                    reference=f"VIP-{consumer.id}-{months_ago}",
                    due_date=due,
                    paid_on=due,
                    amount=Decimal(amount),
                    method=PaymentMethod.BANK_TRANSFER,
                    status=PaymentStatus.PROCESSED,
                )
            )
        await session.commit()
        return consumer


async def _crowns(client: httpx.AsyncClient, headers: dict[str, str], q: str) -> dict[str, bool]:
    """Last name → the list's crown, for the consumers a search finds."""
    page = (await client.get(BASE, params={"q": q, "size": 100}, headers=headers)).json()
    return {row["last_name"]: row["is_vip"] for row in page["items"]}


async def _profile(
    client: httpx.AsyncClient, headers: dict[str, str], consumer: Consumer
) -> tuple[bool, Any]:
    body = (await client.get(f"{BASE}/{consumer.id}", headers=headers)).json()
    return body["is_vip"], body["vip_reason"]


async def test_list_and_profile_agree_on_each_side_of_the_threshold(
    client: httpx.AsyncClient, staff: dict[str, Any], sessionmaker: Maker
) -> None:
    csr = auth(staff["csr"])
    # average monthly bill 500.00 (the inclusive bound) and 499.99: one each side
    on = await _business(sessionmaker, "Vipthreshold-On", ["400.00", "600.00"])
    under = await _business(sessionmaker, "Vipthreshold-Under", ["399.98", "600.00"])
    async with sessionmaker() as session:  # billing data arrived behind the API's back: the nightly sweep
        changed = await refresh_all_vip(session=session, rule=Settings().vip_rule)

    listed = await _crowns(client, csr, "vipthreshold")

    assert changed >= 1
    assert listed == {"Vipthreshold-On": True, "Vipthreshold-Under": False}
    assert await _profile(client, csr, on) == (True, "high_value")
    assert await _profile(client, csr, under) == (False, None)
    assert await _crowns(client, csr, "vipthreshold") == listed  # the profile reads changed nothing


async def test_a_payment_taken_over_the_api_moves_the_list_crown_at_once(
    client: httpx.AsyncClient, staff: dict[str, Any], sessionmaker: Maker
) -> None:
    csr = auth(staff["csr"])
    consumer = await _business(sessionmaker, "Vipcrossing", ["400.00"])
    assert await _crowns(client, csr, "vipcrossing") == {"Vipcrossing": False}

    taken = await client.post(
        f"{BASE}/{consumer.id}/payments",
        json={"amount": "600.00", "method": "Cash", "reference": "VIP-CROSS-1"},
        headers=csr,
    )

    assert taken.status_code == 201, taken.text
    # (400 + 600) / 2 = 500 a month: VIP, in the list without waiting for the sweep, and on the profile
    assert await _crowns(client, csr, "vipcrossing") == {"Vipcrossing": True}
    assert await _profile(client, csr, consumer) == (True, "high_value")


async def test_a_stale_flag_is_corrected_by_the_profile_and_the_list_follows(
    client: httpx.AsyncClient, staff: dict[str, Any], sessionmaker: Maker
) -> None:
    csr = auth(staff["csr"])
    consumer = await _business(sessionmaker, "Vipstale", ["800.00"])  # VIP by the rule, not swept yet
    assert await _crowns(client, csr, "vipstale") == {"Vipstale": False}

    assert await _profile(client, csr, consumer) == (True, "high_value")
    assert await _crowns(client, csr, "vipstale") == {"Vipstale": True}


async def test_the_configured_rule_decides_in_the_list_too(
    api_client_for: ApiFactory, db_url: str, staff: dict[str, Any], sessionmaker: Maker
) -> None:
    csr = auth(staff["csr"])
    consumer = await _business(sessionmaker, "Vipconfigured", ["300.00"])
    strict, loose = Settings(), Settings(vip_min_average_monthly_bill=Decimal(250))  # type: ignore[arg-type]

    for settings, crowned in ((strict, False), (loose, True), (strict, False)):
        async with sessionmaker() as session:
            await refresh_all_vip(session=session, rule=settings.vip_rule)
        async with api_client_for(
            database_url=db_url, vip_min_average_monthly_bill=settings.vip_min_average_monthly_bill
        ) as client:
            assert await _crowns(client, csr, "vipconfigured") == {"Vipconfigured": crowned}
            assert (await _profile(client, csr, consumer))[0] is crowned
