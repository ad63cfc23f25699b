"""The Consumers API over the real app and a real database: dashboard, search, profile, tabs,
contact edits under the profile lock, service orders, notes, and every formula behind them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.consumers import accounts, profile, schemas
from api.errors import Problem
from db.models import (
    BillingAccount,
    Communication,
    Consumer,
    MeterAssignment,
    MeterReading,
    Payment,
    Plan,
    ServiceOrder,
    User,
    UtilityService,
)
from db.seed import seed
from domain.consumers.health import VipRule
from domain.consumers.types import (
    BillingCycle,
    Category,
    ConsumerStatus,
    MeterStatus,
    PaymentMethod,
    PaymentMode,
    PaymentStatus,
    ServiceOrderStatus,
    ServiceOrderType,
    UtilityType,
    VerificationStatus,
)
from domain.dates import add_months
from domain.request.types import Channel, Direction, RequestStatus, RequestType, SlaState, Visibility
from settings import Settings
from tests import factories
from tests.api.conftest import ApiFactory, auth

PROBLEM = "application/problem+json"
BASE = "/api/v1/consumers"
Maker = async_sessionmaker[AsyncSession]


def today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, documents_dir=tmp_path / "documents") as client:
        yield client


@pytest.fixture
def csr(staff: dict[str, Any]) -> dict[str, str]:
    return auth(staff["csr"])


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    return body


async def add_consumer(sessionmaker: Maker, **overrides: Any) -> Consumer:
    async with sessionmaker() as session:
        row = await factories.consumer(session, **overrides)
        await session.commit()
        return row


async def add(sessionmaker: Maker, *rows: Any) -> None:
    async with sessionmaker() as session:
        session.add_all(rows)
        await session.commit()


_ref = iter(range(1, 10**6))


def payment(
    consumer: Consumer,
    due: date,
    paid: date | None,
    status: PaymentStatus = PaymentStatus.PROCESSED,
    amount: str = "100.00",
) -> Payment:
    return Payment(
        consumer_id=consumer.id,
        reference=f"PAY-T{next(_ref):06d}",
        due_date=due,
        paid_on=paid,
        amount=Decimal(amount),
        method=PaymentMethod.CREDIT_CARD,
        status=status,
    )


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# ---- authentication and unknown consumers --------------------------------------------------------------

ENDPOINTS = [
    ("GET", f"{BASE}/dashboard"),
    ("GET", f"{BASE}?q=smith"),
    ("GET", f"{BASE}/1"),
    ("PATCH", f"{BASE}/1"),
    ("GET", f"{BASE}/1/overview"),
    ("GET", f"{BASE}/1/financial"),
    ("GET", f"{BASE}/1/connections"),
    ("GET", f"{BASE}/1/service"),
    ("POST", f"{BASE}/1/service-orders"),
    ("PATCH", f"{BASE}/1/service-orders/SO-100001"),
    ("GET", f"{BASE}/1/communications"),
    ("POST", f"{BASE}/1/notes"),
    ("GET", f"{BASE}/1/documents"),
    ("POST", f"{BASE}/1/documents"),
    ("GET", f"{BASE}/1/documents/1/download"),
    ("PATCH", f"{BASE}/1/documents/1"),
    ("PATCH", f"{BASE}/1/meters/M-1/readings/2026-01-05"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_refuses_an_anonymous_caller(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={})

    body = assert_problem(response, 401)
    assert body["type"] == "/problems/not-authenticated"


@pytest.mark.parametrize(("method", "path"), [e for e in ENDPOINTS if "/1" in e[1]])
async def test_unknown_consumer_is_404_problem(
    client: httpx.AsyncClient, csr: dict[str, str], staff: dict[str, Any], method: str, path: str
) -> None:
    path = path.replace(f"{BASE}/1", f"{BASE}/WU-00000")
    kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
    if path.endswith("/service-orders") and method == "POST":
        kwargs = {"json": {"service_type": "Repairs", "description": "x"}}
    if path.endswith("/notes"):
        kwargs = {"json": {"text": "hello"}}
    if path.endswith("/documents") and method == "POST":
        kwargs = {"data": {"title": "t"}, "files": {"file": ("a.txt", b"hi", "text/plain")}}
    headers = csr
    if "/readings/" in path:
        kwargs = {"json": {"verification_status": "verified"}}
    if path.endswith("/documents/1") and method == "PATCH":  # approving is for supervisors
        kwargs, headers = {"json": {"status": "Verified"}}, auth(staff["supervisor"])

    response = await client.request(method, path, headers=headers, **kwargs)

    body = assert_problem(response, 404)
    assert "WU-00000" in body["detail"]


# ---- dashboard ---------------------------------------------------------------------------------------


async def test_dashboard_counts_percentages_and_total_balance(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    statuses = [ConsumerStatus.ACTIVE] * 4 + [ConsumerStatus.INACTIVE, ConsumerStatus.COLLECTION]
    statuses += [ConsumerStatus.TEMPORARILY_DISCONNECTED] * 2
    balances = ["10.50", "0", "0", "-5.25", "100", "2500.01", "7.33", "0"]
    for status, balance in zip(statuses, balances, strict=True):
        await add_consumer(sessionmaker, status=status, balance=Decimal(balance))

    response = await client.get(f"{BASE}/dashboard", headers=csr)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_accounts"] == 8
    assert body["active"] == {"count": 4, "percentage": "50.0"}
    assert body["inactive"] == {"count": 1, "percentage": "12.5"}
    assert body["temporarily_disconnected"] == {"count": 2, "percentage": "25.0"}
    assert Decimal(body["total_balance"]) == Decimal("2612.59")
    by_status = {row["status"]: row for row in body["by_status"]}
    assert by_status["Collection"] == {"status": "Collection", "count": 1, "percentage": "12.5"}
    assert by_status["Pending"]["count"] == 0
    assert sum(row["count"] for row in body["by_status"]) == 8


async def test_dashboard_percentages_round_half_up_to_one_decimal(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    for status in (ConsumerStatus.ACTIVE, ConsumerStatus.ACTIVE, ConsumerStatus.INACTIVE):
        await add_consumer(sessionmaker, status=status)

    body = (await client.get(f"{BASE}/dashboard", headers=csr)).json()

    assert body["active"]["percentage"] == "66.7"  # 2/3
    assert body["inactive"]["percentage"] == "33.3"
    assert body["temporarily_disconnected"] == {"count": 0, "percentage": "0.0"}


async def test_dashboard_of_an_empty_database(client: httpx.AsyncClient, csr: dict[str, str]) -> None:
    body = (await client.get(f"{BASE}/dashboard", headers=csr)).json()

    assert body["total_accounts"] == 0
    assert body["active"] == {"count": 0, "percentage": "0.0"}
    assert Decimal(body["total_balance"]) == 0


# ---- search ------------------------------------------------------------------------------------------


@pytest.fixture
async def people(sessionmaker: Maker) -> dict[str, Consumer]:
    return {
        "john": await add_consumer(
            sessionmaker, first_name="John", last_name="Doe", account_number="WU-10001"
        ),
        "jane": await add_consumer(
            sessionmaker, first_name="Jane", last_name="Johnson", account_number="WU-10002"
        ),
        "mary": await add_consumer(
            sessionmaker,
            first_name="Mary",
            last_name="O'Brien",
            account_number="EU-20001",
            status=ConsumerStatus.ACTIVE,
        ),
        "pct": await add_consumer(
            sessionmaker, first_name="Per%cent", last_name="Under_score", account_number="WU-30001"
        ),
    }


async def _search(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(BASE, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _accounts(body: dict[str, Any]) -> list[str]:
    return [row["account_number"] for row in body["items"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("john", ["WU-10001", "WU-10002"]),  # first name John, last name Johnson
        ("JOHN", ["WU-10001", "WU-10002"]),
        ("ohns", ["WU-10002"]),  # partial, inside the last name
        ("doe", ["WU-10001"]),
        ("o'bri", ["EU-20001"]),
        ("john doe", ["WU-10001"]),  # every word must match
        ("wu-1000", ["WU-10001", "WU-10002"]),  # account number prefix, any case
        ("20001", ["EU-20001"]),  # account number, partial inside
        ("eu-2", ["EU-20001"]),
        ("r%c", ["WU-30001"]),  # LIKE wildcards are literal characters
        ("r_s", ["WU-30001"]),
        ("%", []),
        ("do", ["WU-10001"]),  # words under 3 characters match the start of a field
        ("oe", []),
        ("wu", ["WU-10001", "WU-10002", "WU-30001"]),
        ("nobody", []),
    ],
)
async def test_search_by_name_or_account_number(
    client: httpx.AsyncClient, csr: dict[str, str], people: dict[str, Consumer], q: str, expected: list[str]
) -> None:
    body = await _search(client, csr, q=q)

    assert sorted(_accounts(body)) == expected
    assert body["total"] == len(expected)


async def test_search_rows_carry_the_summary_fields(
    client: httpx.AsyncClient, csr: dict[str, str], people: dict[str, Consumer]
) -> None:
    body = await _search(client, csr, q="WU-10001")

    row = body["items"][0]
    assert row["full_name"] == "John Doe"
    assert row["id"] == people["john"].id
    assert row["status"] == "Inactive" and row["category"] == "Residential"
    assert row["balance"] == "0.00" and row["is_vip"] is False and row["locked_by_request"] is None


async def test_search_filters_by_status_and_pages_with_total(
    client: httpx.AsyncClient, csr: dict[str, str], people: dict[str, Consumer]
) -> None:
    assert _accounts(await _search(client, csr, status="Active")) == ["EU-20001"]

    first = await _search(client, csr, page=1, size=3)
    second = await _search(client, csr, page=2, size=3)
    beyond = await _search(client, csr, q="wu", page=5, size=3)
    paged = [await _search(client, csr, q="jo", page=n, size=1) for n in (1, 2, 3)]  # short word
    long = [await _search(client, csr, q="ohn", page=n, size=1) for n in (1, 2, 3)]  # trigram

    assert first["total"] == second["total"] == 4
    assert (beyond["items"], beyond["total"]) == ([], 3)  # past the end, the total still counts
    for pages in (paged, long):
        assert [p["total"] for p in pages] == [2, 2, 2]
        assert [[r["last_name"] for r in p["items"]] for p in pages] == [["Doe"], ["Johnson"], []]
    assert (first["page"], first["size"], len(first["items"]), len(second["items"])) == (1, 3, 3, 1)
    # ordered by last name, first name
    assert [r["last_name"] for r in first["items"] + second["items"]] == [
        "Doe",
        "Johnson",
        "O'Brien",
        "Under_score",
    ]


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"size": 0}, {"size": 201}, {"status": "Sleeping"}, {"q": "x" * 101}]
)
async def test_search_refuses_bad_parameters_with_422(
    client: httpx.AsyncClient, csr: dict[str, str], params: dict[str, Any]
) -> None:
    body = assert_problem(await client.get(BASE, params=params, headers=csr), 422)
    assert body["type"] == "/problems/validation" and body["errors"]


async def test_search_and_dashboard_agree_with_the_seeded_data(
    api_client_for: ApiFactory, db_url: str, engine: Any, sessionmaker: Maker
) -> None:
    await seed(engine, consumers=50)
    async with sessionmaker() as session:
        consumers = list(await session.scalars(select(Consumer)))
        seeded_csr = await session.scalar(select(User).where(User.username == "csr"))
    headers = auth(seeded_csr)
    probe = next(c.last_name for c in consumers[7:] if len(c.last_name) >= 5)[1:4].lower()  # infix
    expected = sorted(
        c.account_number
        for c in consumers
        if probe in c.first_name.lower() or probe in c.last_name.lower() or probe in c.account_number.lower()
    )

    async with api_client_for(database_url=db_url) as client:
        found = await _search(client, headers, q=probe.upper(), size=200)
        dashboard = (await client.get(f"{BASE}/dashboard", headers=headers)).json()

    assert sorted(_accounts(found)) == expected and found["total"] == len(expected)
    assert dashboard["total_accounts"] == 50
    assert dashboard["active"]["count"] == sum(c.status is ConsumerStatus.ACTIVE for c in consumers)
    assert Decimal(dashboard["total_balance"]) == sum((c.balance for c in consumers), Decimal(0))


async def test_the_full_profile_is_the_header_and_every_tab_in_one_answer(
    api_client_for: ApiFactory, db_url: str, engine: Any, sessionmaker: Maker
) -> None:
    await seed(engine, consumers=40)
    async with sessionmaker() as session:
        seeded_csr = await session.scalar(select(User).where(User.username == "csr"))
        busiest = list(  # metered consumers with the most payments: every tab has something to show
            await session.scalars(
                select(Payment.consumer_id)
                .where(Payment.consumer_id.in_(select(MeterAssignment.consumer_id)))
                .group_by(Payment.consumer_id)
                .order_by(func.count().desc(), Payment.consumer_id)
                .limit(3)
            )
        )
    headers = auth(seeded_csr)
    parts = {
        "profile": "", "overview": "/overview", "connections": "/connections", "financial": "/financial",
        "service": "/service", "communications": "/communications", "documents": "/documents",
    }  # fmt: skip
    async with api_client_for(database_url=db_url) as client:
        for consumer_id in busiest:
            full = await client.get(f"{BASE}/{consumer_id}/full", headers=headers)
            assert full.status_code == 200, full.text
            tabs = {
                name: (await client.get(f"{BASE}/{consumer_id}{path}", headers=headers)).json()
                for name, path in parts.items()
            }
            assert full.json() == tabs
            assert tabs["financial"]["payments"]["items"] and tabs["connections"]["meters"]
        assert_problem(await client.get(f"{BASE}/WU-00000000/full", headers=headers), 404)


# ---- profile header ----------------------------------------------------------------------------------


async def test_profile_by_id_or_account_number_in_any_case(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(
        sessionmaker,
        account_number="WU-10001",
        first_name="John",
        last_name="Doe",
        balance=Decimal("125.40"),
        last_billing_date=date(2026, 10, 15),
    )

    for key in (str(consumer.id), "WU-10001", "wu-10001"):
        response = await client.get(f"{BASE}/{key}", headers=csr)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == consumer.id

    assert body["account_number"] == "WU-10001" and body["full_name"] == "John Doe"
    assert body["status"] == "Inactive" and body["balance"] == "125.40"
    assert body["last_billing_date"] == "2026-10-15"
    assert body["is_vip"] is False and body["vip_reason"] is None
    assert body["locked_by_request"] is None and body["alerts"] == []


async def test_profile_alerts_open_request_and_its_sla_breach(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    calm = await add_consumer(sessionmaker)
    late = await add_consumer(sessionmaker)
    now = datetime.now(UTC)
    async with sessionmaker() as session:
        on_track = await factories.request_row(
            session,
            calm.id,
            RequestStatus.IN_PROGRESS,
            created_at=now,
            ack_due_at=now + timedelta(hours=2),
            response_due_at=now + timedelta(hours=4),
            resolution_due_at=now + timedelta(hours=24),
            ack_state=SlaState.MET,
            acknowledged_at=now,
        )
        breached = await factories.request_row(
            session, late.id, RequestStatus.PENDING, sla_status=SlaState.BREACHED, ack_state=SlaState.BREACHED
        )
        await session.execute(
            update(Consumer).where(Consumer.id == calm.id).values(locked_by_request=on_track.request_id)
        )
        await session.execute(
            update(Consumer).where(Consumer.id == late.id).values(locked_by_request=breached.request_id)
        )
        await session.commit()

    calm_body = (await client.get(f"{BASE}/{calm.id}", headers=csr)).json()
    late_body = (await client.get(f"{BASE}/{late.id}", headers=csr)).json()

    assert calm_body["locked_by_request"] == on_track.request_id
    assert [(a["kind"], a["request_id"]) for a in calm_body["alerts"]] == [
        ("open_request", on_track.request_id)
    ]
    kinds = {a["kind"]: a for a in late_body["alerts"]}
    assert set(kinds) == {"open_request", "sla_breach"}
    assert kinds["sla_breach"]["request_id"] == breached.request_id
    assert kinds["sla_breach"]["severity"] == "critical"
    # the factory's clocks are long past due and unmet: all three targets are breached
    assert "acknowledgement and response and resolution" in kinds["sla_breach"]["message"]


async def test_profile_alerts_a_clock_past_due_before_the_workflow_marks_it(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    now = datetime.now(UTC)
    async with sessionmaker() as session:
        await factories.request_row(
            session,
            consumer.id,
            created_at=now - timedelta(hours=3),
            ack_due_at=now - timedelta(hours=1),
            response_due_at=now + timedelta(hours=1),
            resolution_due_at=now + timedelta(hours=21),
        )
        await session.commit()

    alerts = (await client.get(f"{BASE}/{consumer.id}", headers=csr)).json()["alerts"]

    breach = next(a for a in alerts if a["kind"] == "sla_breach")
    assert "breached its acknowledgement SLA" in breach["message"]


async def test_profile_alerts_overdue_balance_from_unpaid_past_due_payments_only(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    t = today()
    await add(
        sessionmaker,
        payment(consumer, t - timedelta(days=40), None, PaymentStatus.FAILED, "80.00"),
        payment(consumer, t - timedelta(days=10), None, PaymentStatus.PENDING, "20.50"),
        payment(
            consumer, t - timedelta(days=70), t - timedelta(days=60), amount="999.00"
        ),  # paid late: not overdue
        payment(consumer, t, None, PaymentStatus.PENDING, "500.00"),  # due today: not past due yet
        payment(consumer, t + timedelta(days=5), None, PaymentStatus.PENDING, "500.00"),
    )

    alerts = (await client.get(f"{BASE}/{consumer.id}", headers=csr)).json()["alerts"]

    assert [a["kind"] for a in alerts] == ["overdue_balance"]
    assert alerts[0]["count"] == 2 and alerts[0]["amount"] == "100.50"
    assert f"the oldest due {(t - timedelta(days=40)).isoformat()}" in alerts[0]["message"]


async def _metered(
    sessionmaker: Maker,
    consumer: Consumer,
    values: list[str],
    *,
    utility: UtilityType = UtilityType.ELECTRICITY,
    pending: tuple[int, ...] = (),
    start: date = date(2026, 1, 5),
    assigned_on: date = date(2025, 12, 1),
    unassigned_on: date | None = None,
) -> str:
    """A meter assigned to ``consumer`` with monthly readings ``values`` from ``start``; its number."""
    async with sessionmaker() as session:
        if not await session.scalar(select(func.count()).select_from(UtilityService)):
            await factories.utilities(session)
        meter = await factories.meter(
            session,
            utility,
            status=MeterStatus.ASSIGNED,
            last_reading=Decimal(values[-1]),
            last_reading_date=add_months(start, len(values) - 1),
        )
        session.add(
            MeterAssignment(
                meter_id=meter.id,
                consumer_id=consumer.id,
                assigned_on=assigned_on,
                unassigned_on=unassigned_on,
            )
        )
        for i, value in enumerate(values):
            session.add(
                MeterReading(
                    meter_id=meter.id,
                    consumer_id=consumer.id,
                    reading_date=add_months(start, i),
                    value=Decimal(value),
                    verification_status=VerificationStatus.PENDING
                    if i in pending
                    else VerificationStatus.VERIFIED,
                )
            )
        await session.commit()
        return meter.meter_number


async def test_profile_alerts_unverified_readings_and_meter_anomalies(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    # consumption 100, 100, 100, then 1000: a spike (> 2.5 × median 100); the last reading is pending
    number = await _metered(
        sessionmaker, consumer, ["1000", "1100", "1200", "1300", "2300", "2400"], pending=(5,)
    )

    alerts = {a["kind"]: a for a in (await client.get(f"{BASE}/{consumer.id}", headers=csr)).json()["alerts"]}

    assert set(alerts) == {"unverified_readings", "meter_anomaly"}
    assert alerts["unverified_readings"]["count"] == 1
    anomaly = alerts["meter_anomaly"]
    assert anomaly["meter_number"] == number and anomaly["count"] == 1
    assert anomaly["message"].startswith(f"Meter {number}: spike on 2026-05-05.")
    assert "exceeds 2.5× the median 100" in anomaly["message"]


async def test_verifying_a_reading_clears_its_alert_and_is_recorded(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    number = await _metered(sessionmaker, consumer, ["1000", "1100", "1200"], pending=(2,))
    url = f"{BASE}/{consumer.id}/meters/{number.lower()}/readings/2026-03-05"  # the meter number in any case

    verified = await client.patch(url, json={"verification_status": "verified"}, headers=csr)

    assert verified.status_code == 200, verified.text
    assert verified.json() == {
        "meter_number": number, "reading_date": "2026-03-05", "value": "1200.00", "verification_status": "verified",
    }  # fmt: skip
    alerts = (await client.get(f"{BASE}/{consumer.id}", headers=csr)).json()["alerts"]
    assert "unverified_readings" not in {a["kind"] for a in alerts}
    again = await client.patch(url, json={"verification_status": "verified"}, headers=csr)
    assert again.status_code == 200  # already verified: nothing more recorded
    log = (
        await client.get(f"{BASE}/{consumer.id}/communications", params={"channel": "system"}, headers=csr)
    ).json()
    assert [(c["author"], c["subject"], c["body"]) for c in log["items"]] == [
        ("csr", f"Reading of meter {number} verified", "2026-03-05: 1200.00"),
    ]
    assert_problem(await client.patch(url, json={"verification_status": "pending"}, headers=csr), 422)
    other = await add_consumer(sessionmaker)
    elsewhere = f"{BASE}/{other.id}/meters/{number}/readings/2026-03-05"  # not this account's reading
    assert_problem(await client.patch(elsewhere, json={"verification_status": "verified"}, headers=csr), 404)


async def test_a_stored_vip_flag_the_rule_does_not_back_is_corrected_by_the_profile(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker, is_vip=True)  # a flag set by hand, or by an older rule

    body = (await client.get(f"{BASE}/{consumer.id}", headers=csr)).json()

    assert (body["is_vip"], body["vip_reason"]) == (False, None)
    async with sessionmaker() as session:
        assert (await session.get(Consumer, consumer.id)).is_vip is False  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("category", "bill", "cycle", "vip"),
    [
        (Category.COMMERCIAL, "500.00", BillingCycle.MONTHLY, "high_value"),  # inclusive bound
        (Category.INDUSTRIAL, "499.99", BillingCycle.MONTHLY, None),
        (Category.COMMERCIAL, "1500.00", BillingCycle.QUARTERLY, "high_value"),  # 500 a month
        (Category.COMMERCIAL, "1499.97", BillingCycle.QUARTERLY, None),
        (Category.RESIDENTIAL, "9000.00", BillingCycle.MONTHLY, None),  # residential: not on the bill alone
    ],
)
async def test_profile_vip_rule_high_value_uses_the_average_monthly_bill(
    client: httpx.AsyncClient,
    csr: dict[str, str],
    sessionmaker: Maker,
    category: Category,
    bill: str,
    cycle: BillingCycle,
    vip: str | None,
) -> None:
    consumer = await add_consumer(
        sessionmaker, category=category, customer_since=today() - timedelta(days=400)
    )
    plan = Plan(
        name="Business",
        short_name=f"BIZ-{consumer.id}",
        category=category,
        sub_category="Retail",
        monthly_fee=Decimal("10"),
        rates={},
        features=[],
    )
    await add(sessionmaker, plan)
    t = today()
    await add(
        sessionmaker,
        BillingAccount(
            consumer_id=consumer.id,
            plan_id=plan.id,
            billing_cycle=cycle,
            payment_mode=PaymentMode.MANUAL,
            cycle_start=t - timedelta(days=300),
            next_bill_date=t + timedelta(days=10),
        ),
        # two bills averaging ``bill``: one under, one over by the same amount
        payment(consumer, t - timedelta(days=60), t - timedelta(days=60), amount=str(Decimal(bill) - 100)),
        payment(consumer, t - timedelta(days=30), t - timedelta(days=30), amount=str(Decimal(bill) + 100)),
        payment(consumer, t + timedelta(days=30), None, PaymentStatus.PENDING, "100000"),  # not due: ignored
    )

    body = (await client.get(f"{BASE}/{consumer.id}", headers=csr)).json()

    assert (body["is_vip"], body["vip_reason"]) == (vip is not None, vip)


async def test_profile_vip_rule_loyal_and_healthy(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    t = today()
    loyal = await add_consumer(
        sessionmaker, customer_since=add_months(t, -120), portal_enrolled=True, paperless_billing=True
    )
    nine_years = await add_consumer(
        sessionmaker, customer_since=add_months(t, -119), portal_enrolled=True, paperless_billing=True
    )
    unhealthy = await add_consumer(sessionmaker, customer_since=add_months(t, -240), fraud_flag=True)

    reasons = [
        (await client.get(f"{BASE}/{c.id}", headers=csr)).json()["vip_reason"]
        for c in (loyal, nine_years, unhealthy)
    ]

    assert reasons == ["loyal_and_healthy", None, None]


async def test_service_applies_a_custom_vip_rule(sessionmaker: Maker) -> None:
    consumer = await add_consumer(sessionmaker, customer_since=add_months(today(), -24))
    rule = VipRule(min_health_score=50, min_years=1)

    async with sessionmaker() as session:
        row = await accounts.get_consumer(session=session, key=str(consumer.id))
        default = await profile.profile(session=session, consumer=row)
        custom = await profile.profile(session=session, consumer=row, vip_rule=rule)

    assert (default.is_vip, custom.is_vip) == (False, True)
    assert custom.vip_reason is schemas.VipReason.LOYAL_AND_HEALTHY


async def test_the_vip_rule_is_configured_in_settings(
    api_client_for: ApiFactory, db_url: str, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker, customer_since=add_months(today(), -24))
    for key in (str(consumer.id), f"{consumer.id}/full"):
        async with api_client_for(database_url=db_url) as default:
            body = (await default.get(f"{BASE}/{key}", headers=csr)).json()
        assert body.get("profile", body)["is_vip"] is False
        # CONNECTDESK_VIP_MIN_YEARS=1 and CONNECTDESK_VIP_MIN_HEALTH_SCORE=50
        async with api_client_for(database_url=db_url, vip_min_years=1, vip_min_health_score=50) as loose:
            body = (await loose.get(f"{BASE}/{key}", headers=csr)).json()
        assert (body.get("profile", body)["is_vip"], body.get("profile", body)["vip_reason"]) == (
            True, "loyal_and_healthy",
        )  # fmt: skip


def test_vip_settings_switch_criteria_off_and_refuse_unknown_categories() -> None:
    rule = Settings(vip_min_average_monthly_bill="", vip_categories="Industrial").vip_rule  # type: ignore[arg-type]
    assert rule.min_average_monthly_bill is None and rule.categories == frozenset({Category.INDUSTRIAL})
    with pytest.raises(ValidationError, match="unknown categories"):
        Settings(vip_categories="Commercial,Gold")


# ---- overview: health score and compliance -----------------------------------------------------------


async def _history(sessionmaker: Maker, consumer: Consumer) -> None:
    """A history with a known score (see test_overview_health_score_from_the_history)."""
    t = today()
    now = datetime.now(UTC)
    await add(
        sessionmaker,
        # payments: 4 due — 3 on time (one exactly on the due date), 1 paid late; 1 not due yet
        payment(consumer, t - timedelta(days=90), t - timedelta(days=95)),
        payment(consumer, t - timedelta(days=60), t - timedelta(days=60)),
        payment(consumer, t - timedelta(days=30), t - timedelta(days=31)),
        payment(consumer, t - timedelta(days=20), t - timedelta(days=10)),
        payment(consumer, t + timedelta(days=10), None, PaymentStatus.PENDING),
        # service orders: 2 of 3 completed
        *(
            ServiceOrder(
                order_number=f"SO-T{consumer.id}-{i}",
                consumer_id=consumer.id,
                service_type=ServiceOrderType.REPAIRS,
                description="fix",
                status=status,
                created_at=now - timedelta(days=30 - i),
            )
            for i, status in enumerate(
                [ServiceOrderStatus.COMPLETED, ServiceOrderStatus.COMPLETED, ServiceOrderStatus.SCHEDULED]
            )
        ),
        # customer contacts: 2, one answered within 2 days, one only after 3 days
        *(
            Communication(
                consumer_id=consumer.id,
                channel=Channel.EMAIL,
                direction=direction,
                visibility=Visibility.CONSUMER,
                body="…",
                author="x",
                created_at=when,
            )
            for direction, when in [
                (Direction.FROM_CUSTOMER, now - timedelta(days=20)),
                (Direction.TO_CUSTOMER, now - timedelta(days=19)),
                (Direction.FROM_CUSTOMER, now - timedelta(days=10)),
                (Direction.TO_CUSTOMER, now - timedelta(days=7)),
                (Direction.INTERNAL, now - timedelta(days=9)),  # a note answers nobody
            ]
        ),
    )
    async with sessionmaker() as session:
        # requests: 2, one resolved within SLA; the other a completed disconnection that breached
        await factories.request_row(session, consumer.id, RequestStatus.CLOSED, resolution_state=SlaState.MET)
        await factories.request_row(
            session,
            consumer.id,
            RequestStatus.COMPLETED,
            request_type=RequestType.DISCONNECTION,
            resolution_state=SlaState.BREACHED,
        )
        await session.commit()


async def test_overview_health_score_from_the_history(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(
        sessionmaker,
        customer_since=add_months(today(), -60),
        portal_enrolled=True,
        email="john@example.com",
        phone="555-0100",
        service_address="1 Main St",
        category=Category.RESIDENTIAL,
        sub_category="Senior Citizen",
    )
    await _history(sessionmaker, consumer)

    response = await client.get(f"{BASE}/{consumer.account_number}/overview", headers=csr)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["phone"], body["email"], body["service_address"]) == (
        "555-0100",
        "john@example.com",
        "1 Main St",
    )
    assert (body["category"], body["sub_category"]) == ("Residential", "Senior Citizen")
    assert body["customer_since"] == add_months(today(), -60).isoformat()
    assert body["payment_compliance"] == "75.0"  # 3 of 4 due payments on time
    health = body["health"]
    assert health["components"] == {
        "payment_compliance": "75.00",
        "service_quality": "60.00",  # (1 request within SLA + 2 orders completed) / (2 + 3)
        "communication_responsiveness": "50.00",  # 1 of 2 customer contacts answered within 2 days
        "account_longevity": "50.00",  # 5 years × 10
        "digital_engagement": "50.00",  # portal, not paperless
        "complaint_resolution": "100.00",  # no complaints: neutral
    }
    # 0.40×75 + 0.25×60 + 0.15×50 + 0.10×50 + 0.05×50 + 0.05×100 = 65
    assert health["weighted"] == "65.00"
    assert health["penalties"] == {
        "late_payments": 2,
        "unresolved_complaints": 0,
        "disconnections": 10,
        "fraud": 0,
    }
    assert (health["total_penalty"], health["score"], health["band"]) == (12, 53, "Fair")
    facts = health["facts"]
    assert (facts["payments_due"], facts["payments_on_time"], facts["late_payments"]) == (4, 3, 1)
    assert (facts["requests_total"], facts["requests_resolved_within_sla"], facts["disconnections"]) == (
        2,
        1,
        1,
    )
    assert (facts["service_orders_total"], facts["service_orders_completed"]) == (3, 2)
    assert (facts["communications_from_customer"], facts["communications_answered"]) == (2, 1)


async def test_overview_health_score_of_a_new_account_and_fraud_penalty(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    fresh = await add_consumer(sessionmaker, customer_since=today())
    fraud = await add_consumer(sessionmaker, customer_since=today(), fraud_flag=True, paperless_billing=True)

    fresh_body = (await client.get(f"{BASE}/{fresh.id}/overview", headers=csr)).json()
    fraud_body = (await client.get(f"{BASE}/{fraud.id}/overview", headers=csr)).json()

    # no data → neutral 100 for four components; no tenure, no digital engagement: 40+25+15+5 = 85
    assert fresh_body["payment_compliance"] is None
    assert (fresh_body["health"]["score"], fresh_body["health"]["band"]) == (85, "Excellent")
    # 85 + 0.05 × 50 (paperless) − 25 = 62.5 → 63 (half up)
    assert fraud_body["health"]["penalties"]["fraud"] == 25
    assert (fraud_body["health"]["score"], fraud_body["health"]["band"]) == (63, "Good")


async def test_overview_health_score_never_drops_below_zero(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker, customer_since=today(), fraud_flag=True)
    t = today()
    await add(
        sessionmaker,
        *(
            payment(consumer, t - timedelta(days=30 * i + 5), None, PaymentStatus.FAILED)
            for i in range(1, 41)
        ),
    )

    health = (await client.get(f"{BASE}/{consumer.id}/overview", headers=csr)).json()["health"]

    assert health["penalties"]["late_payments"] == 80
    assert (health["score"], health["band"]) == (0, "At Risk")


# ---- financial ---------------------------------------------------------------------------------------


async def test_financial_payment_history_newest_first_paginated_with_compliance(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    t = today()
    rows = [
        payment(consumer, t - timedelta(days=30 * i), t - timedelta(days=30 * i + (i % 2) * -3))
        for i in range(1, 6)
    ]
    await add(sessionmaker, *rows)

    page1 = (await client.get(f"{BASE}/{consumer.id}/financial", params={"size": 2}, headers=csr)).json()
    page3 = (
        await client.get(f"{BASE}/{consumer.id}/financial", params={"size": 2, "page": 3}, headers=csr)
    ).json()

    history = page1["payments"]
    assert (history["total"], history["page"], history["size"]) == (5, 1, 2)
    assert [p["due_date"] for p in history["items"]] == [
        rows[0].due_date.isoformat(),
        rows[1].due_date.isoformat(),
    ]
    first = history["items"][0]
    assert set(first) == {"id", "reference", "due_date", "paid_on", "amount", "method", "status"}
    assert (first["amount"], first["method"], first["status"]) == ("100.00", "Credit Card", "Processed")
    assert [p["reference"] for p in page3["payments"]["items"]] == [rows[4].reference]
    assert page1["payment_compliance"] == "40.0"  # i = 2, 4 paid on time; 1, 3, 5 three days late


async def test_financial_billing_overview_and_next_bill_estimate(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker, status=ConsumerStatus.ACTIVE, balance=Decimal("42.10"))
    plan = Plan(
        name="Standard Residential Essentials",
        short_name="RES-STD-ESS",
        category=Category.RESIDENTIAL,
        sub_category="Standard",
        monthly_fee=Decimal("20.00"),
        rates={"electricity_per_kwh": 0.15, "water_per_gallon": 0.005},
        features=[],
    )
    old_plan = Plan(
        name="Old plan",
        short_name="RES-OLD",
        category=Category.RESIDENTIAL,
        sub_category="Standard",
        monthly_fee=Decimal("99"),
        rates={},
        features=[],
    )
    await add(sessionmaker, plan, old_plan)
    t = today()
    await add(
        sessionmaker,
        BillingAccount(
            consumer_id=consumer.id,
            plan_id=old_plan.id,
            billing_cycle=BillingCycle.MONTHLY,
            payment_mode=PaymentMode.MANUAL,
            cycle_start=date(2020, 1, 1),
            next_bill_date=date(2021, 1, 1),
            active=False,
        ),
        BillingAccount(
            consumer_id=consumer.id,
            plan_id=plan.id,
            billing_cycle=BillingCycle.MONTHLY,
            payment_mode=PaymentMode.AUTO_PAY,
            cycle_start=t - timedelta(days=100),
            next_bill_date=t + timedelta(days=12),
        ),
    )
    # electricity: periods 100, 150, 150 → 133.33 kWh; water: 3000, 3000 → 3000 gallons
    await _metered(sessionmaker, consumer, ["1000", "1100", "1250", "1400"])
    await _metered(sessionmaker, consumer, ["0", "3000", "6000"], utility=UtilityType.WATER)
    # a meter no longer serving the consumer does not count towards the estimate
    await _metered(sessionmaker, consumer, ["0", "50000"], unassigned_on=date(2025, 12, 31))

    response = await client.get(f"{BASE}/{consumer.id}/financial", headers=csr)

    assert response.status_code == 200, response.text
    billing = response.json()["billing"]
    assert (billing["rate_plan"], billing["rate_plan_code"]) == (
        "Standard Residential Essentials",
        "RES-STD-ESS",
    )
    assert (billing["billing_cycle"], billing["payment_method"]) == ("Monthly", "Auto-pay")
    assert billing["next_bill_date"] == (t + timedelta(days=12)).isoformat()
    assert billing["usage"] == [
        {"utility": "electricity", "unit": "kWh", "average_monthly_usage": "133.33", "rate": "0.15"},
        {"utility": "water", "unit": "gallons", "average_monthly_usage": "3000.00", "rate": "0.005"},
    ]
    # 20 + 133.33 × 0.15 + 3000 × 0.005 = 54.9995 → 55.00, ± 15 %
    assert billing["next_bill_estimate"] == {"low": "46.75", "high": "63.25", "expected": "55.00"}
    assert billing["outstanding_amount"] == "42.10"


async def test_financial_quarterly_estimate_covers_three_months_and_flat_charges(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    plan = Plan(
        name="Low Income",
        short_name="RES-LOW-ESS",
        category=Category.RESIDENTIAL,
        sub_category="Low Income",
        monthly_fee=Decimal("10.00"),
        rates={"electricity_per_kwh": 0.1, "water_flat_monthly": 18.0},
        features=[],
    )
    await add(sessionmaker, plan)
    await add(
        sessionmaker,
        BillingAccount(
            consumer_id=consumer.id,
            plan_id=plan.id,
            billing_cycle=BillingCycle.QUARTERLY,
            payment_mode=PaymentMode.MANUAL,
            cycle_start=date(2026, 1, 1),
            next_bill_date=date(2027, 1, 1),
        ),
    )
    await _metered(sessionmaker, consumer, ["0", "200", "400"])

    billing = (await client.get(f"{BASE}/{consumer.id}/financial", headers=csr)).json()["billing"]

    # (10 + 18 + 200 × 0.1) × 3 = 144
    assert billing["next_bill_estimate"] == {"low": "122.40", "high": "165.60", "expected": "144.00"}
    assert billing["payment_method"] == "Manual"


async def test_financial_without_a_billing_account(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker, balance=Decimal("12.00"))

    body = (await client.get(f"{BASE}/{consumer.id}/financial", headers=csr)).json()

    assert body["payment_compliance"] is None
    assert body["billing"] == {
        "rate_plan": None,
        "rate_plan_code": None,
        "billing_cycle": None,
        "payment_method": None,
        "payment_reference": None,
        "next_bill_date": None,
        "usage": [],
        "next_bill_estimate": None,
        "outstanding_amount": "12.00",
    }
    assert body["payments"] == {"items": [], "total": 0, "page": 1, "size": 20, "total_exact": True}


# ---- connections -------------------------------------------------------------------------------------


async def test_connections_meters_readings_and_anomalies(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    old = await _metered(
        sessionmaker,
        consumer,
        ["5", "9"],
        assigned_on=date(2020, 1, 1),
        unassigned_on=date(2025, 11, 30),
        start=date(2025, 9, 1),
    )
    # 100, 100, 100, then a regression (1250 < 1300), then +1050 from 1250 — a spike against median 100
    current = await _metered(
        sessionmaker, consumer, ["1000", "1100", "1200", "1300", "1250", "2300"], pending=(4,)
    )

    response = await client.get(f"{BASE}/{consumer.id}/connections", headers=csr)

    assert response.status_code == 200, response.text
    meters = response.json()["meters"]
    assert [m["meter_number"] for m in meters] == [current, old]  # current first
    meter = meters[0]
    assert meter["device_number"].startswith("D-9")
    assert (meter["utility"], meter["unit"], meter["meter_type"], meter["model"]) == (
        "electricity",
        "kWh",
        "Smart",
        "PowerSense E3",
    )
    assert (meter["assigned_on"], meter["unassigned_on"], meter["installation_date"]) == (
        "2025-12-01",
        None,
        "2024-01-01",
    )
    assert (meter["reading_status"], meters[1]["reading_status"]) == ("Active", "Inactive")
    assert (meter["last_reading"], meter["last_reading_date"]) == ("2300.00", "2026-06-05")
    assert (
        meter["average_monthly_usage"] == "337.50"
    )  # (100 + 100 + 100 + 1050) / 4; the regression is left out
    assert meter["anomaly_count"] == 2
    readings = meter["readings"]
    assert [
        (r["reading_date"], r["value"], r["verification_status"], r["consumption"]) for r in readings
    ] == [
        ("2026-01-05", "1000.00", "verified", None),
        ("2026-02-05", "1100.00", "verified", "100.00"),
        ("2026-03-05", "1200.00", "verified", "100.00"),
        ("2026-04-05", "1300.00", "verified", "100.00"),
        ("2026-05-05", "1250.00", "pending", None),
        ("2026-06-05", "2300.00", "verified", "1050.00"),
    ]
    assert [a["kind"] for a in readings[4]["anomalies"]] == ["regression", "unverified"]
    assert "below the previous reading 1,300" in readings[4]["anomalies"][0]["why"]
    assert [a["kind"] for a in readings[5]["anomalies"]] == ["spike"]
    assert meters[1]["unassigned_on"] == "2025-11-30"


async def test_connections_show_the_latest_readings_only_when_asked(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    await _metered(sessionmaker, consumer, ["10", "20", "30", "40"])

    meter = (
        await client.get(f"{BASE}/{consumer.id}/connections", params={"readings": 2}, headers=csr)
    ).json()["meters"][0]

    assert [(r["value"], r["consumption"]) for r in meter["readings"]] == [
        ("30.00", "10.00"),
        ("40.00", "10.00"),
    ]
    assert_problem(
        await client.get(f"{BASE}/{consumer.id}/connections", params={"readings": 0}, headers=csr), 422
    )


async def test_connections_of_a_consumer_without_meters(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)

    assert (await client.get(f"{BASE}/{consumer.id}/connections", headers=csr)).json() == {"meters": []}


# ---- service tab and service orders ------------------------------------------------------------------


async def test_service_tab_lists_orders_and_requests_newest_first(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    await _history(sessionmaker, consumer)

    body = (await client.get(f"{BASE}/{consumer.id}/service", headers=csr)).json()

    orders = body["service_orders"]
    assert [o["status"] for o in orders] == ["Scheduled", "Completed", "Completed"]
    assert set(orders[0]) == {
        "order_number",
        "service_type",
        "description",
        "status",
        "technician",
        "created_at",
        "scheduled_date",
        "completed_at",
        "request_id",
        "meter_number",
    }
    requests = body["requests"]
    assert len(requests) == 2
    assert {(r["request_type"], r["status"], r["sla_status"]) for r in requests} == {
        ("Reconnection", "Closed", "On Track"),
        ("Disconnection", "Completed", "On Track"),
    }


async def test_create_service_order_numbers_it_from_its_id(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    order = {
        "service_type": "Meter Reading",
        "description": "  Check read after a high reading.  ",
        "technician": "Dana Whitfield",
        "scheduled_date": "2026-12-01",
    }

    response = await client.post(f"{BASE}/{consumer.account_number}/service-orders", json=order, headers=csr)

    assert response.status_code == 201, response.text
    body = response.json()
    async with sessionmaker() as session:
        row = await session.scalar(select(ServiceOrder).where(ServiceOrder.consumer_id == consumer.id))
    assert row is not None and body["order_number"] == f"SO-{row.id + 100000}"
    assert (body["service_type"], body["status"], body["technician"]) == (
        "Meter Reading",
        "Scheduled",
        "Dana Whitfield",
    )
    assert body["description"] == "Check read after a high reading."
    assert (body["scheduled_date"], body["completed_at"]) == ("2026-12-01", None)
    listed = (await client.get(f"{BASE}/{consumer.id}/service", headers=csr)).json()["service_orders"]
    assert [o["order_number"] for o in listed] == [body["order_number"]]


@pytest.mark.parametrize(
    "order",
    [
        {"service_type": "Gardening", "description": "x"},
        {"service_type": "Repairs", "description": "   "},
        {"description": "no type"},
        {"service_type": "Repairs", "description": "x", "status": "Completed"},
    ],
)
async def test_create_service_order_refuses_bad_input_with_422(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker, order: dict[str, Any]
) -> None:
    consumer = await add_consumer(sessionmaker)

    assert_problem(await client.post(f"{BASE}/{consumer.id}/service-orders", json=order, headers=csr), 422)


async def test_service_order_moves_forward_and_never_back(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    created = (
        await client.post(
            f"{BASE}/{consumer.id}/service-orders",
            json={"service_type": "Repairs", "description": "Leaking coupling"},
            headers=csr,
        )
    ).json()
    url = f"{BASE}/{consumer.id}/service-orders/{created['order_number']}"

    started = await client.patch(
        url, json={"status": "In Progress", "technician": "Luis Ortega"}, headers=csr
    )
    back = await client.patch(url, json={"status": "Scheduled"}, headers=csr)
    reassigned = await client.patch(url, json={"technician": "Dana Whitfield"}, headers=csr)
    before = datetime.now(UTC)
    done = await client.patch(url, json={"status": "Completed"}, headers=csr)
    reopened = await client.patch(url, json={"status": "In Progress"}, headers=csr)
    touched = await client.patch(url, json={"technician": "Someone Else"}, headers=csr)
    same = await client.patch(url, json={"status": "Completed"}, headers=csr)

    assert started.status_code == 200 and started.json()["status"] == "In Progress"
    assert started.json()["technician"] == "Luis Ortega" and started.json()["completed_at"] is None
    problem = assert_problem(back, 409)
    assert problem["type"] == "/problems/invalid-transition"
    assert problem["detail"].startswith(
        f"{created['order_number']} cannot go back from In Progress to Scheduled"
    )
    assert (
        reassigned.json()["technician"] == "Dana Whitfield" and reassigned.json()["status"] == "In Progress"
    )
    assert done.status_code == 200 and done.json()["status"] == "Completed"
    assert datetime.fromisoformat(done.json()["completed_at"]) >= before.replace(microsecond=0)
    assert_problem(reopened, 409)
    assert "cannot change" in assert_problem(touched, 409)["detail"]
    assert same.status_code == 200 and same.json()["completed_at"] == done.json()["completed_at"]

    # every change is on the account, by whom; the refused ones and the no-op left nothing
    log = (
        await client.get(f"{BASE}/{consumer.id}/communications", params={"channel": "system"}, headers=csr)
    ).json()
    number = created["order_number"]
    assert [(c["author"], c["subject"], c["body"], c["direction"]) for c in reversed(log["items"])] == [
        ("csr", f"Service order {number} created", "Repairs: Leaking coupling", "internal"),
        ("csr", f"Service order {number} updated", "Scheduled → In Progress; technician: — → Luis Ortega", "internal"),
        ("csr", f"Service order {number} updated", "technician: Luis Ortega → Dana Whitfield", "internal"),
        ("csr", f"Service order {number} updated", "In Progress → Completed", "internal"),
    ]  # fmt: skip


async def test_service_order_may_be_completed_straight_from_scheduled(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    created = (
        await client.post(
            f"{BASE}/{consumer.id}/service-orders",
            json={"service_type": "Meter Reading", "description": "Read"},
            headers=csr,
        )
    ).json()

    done = await client.patch(
        f"{BASE}/{consumer.id}/service-orders/{created['order_number'].lower()}",
        json={"status": "Completed"},
        headers=csr,
    )

    assert done.status_code == 200 and done.json()["completed_at"] is not None


async def test_service_order_of_another_consumer_or_unknown_is_404(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    owner = await add_consumer(sessionmaker)
    other = await add_consumer(sessionmaker)
    created = (
        await client.post(
            f"{BASE}/{owner.id}/service-orders",
            json={"service_type": "Repairs", "description": "x"},
            headers=csr,
        )
    ).json()

    assert_problem(
        await client.patch(
            f"{BASE}/{other.id}/service-orders/{created['order_number']}",
            json={"status": "In Progress"},
            headers=csr,
        ),
        404,
    )
    assert_problem(
        await client.patch(
            f"{BASE}/{owner.id}/service-orders/SO-999999", json={"status": "In Progress"}, headers=csr
        ),
        404,
    )
    assert_problem(
        await client.patch(
            f"{BASE}/{owner.id}/service-orders/{created['order_number']}", json={"status": None}, headers=csr
        ),
        422,
    )


# ---- communications and notes ------------------------------------------------------------------------


async def test_communications_newest_first_paginated_with_calls_and_direction(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)
    now = datetime.now(UTC)
    kinds = [
        (Channel.EMAIL, Direction.TO_CUSTOMER, None),
        (Channel.PHONE, Direction.FROM_CUSTOMER, 320),
        (Channel.SMS, Direction.FROM_CUSTOMER, None),
        (Channel.SYSTEM, Direction.TO_CUSTOMER, None),
    ]
    await add(
        sessionmaker,
        *(
            Communication(
                consumer_id=consumer.id,
                channel=channel,
                direction=direction,
                visibility=Visibility.CONSUMER,
                subject=f"#{i}",
                body="…",
                duration_seconds=duration,
                author="x",
                created_at=now - timedelta(hours=10 - i),
            )
            for i, (channel, direction, duration) in enumerate(kinds)
        ),
    )

    page1 = (await client.get(f"{BASE}/{consumer.id}/communications", params={"size": 3}, headers=csr)).json()
    page2 = (
        await client.get(f"{BASE}/{consumer.id}/communications", params={"size": 3, "page": 2}, headers=csr)
    ).json()
    calls = (
        await client.get(f"{BASE}/{consumer.id}/communications", params={"channel": "phone"}, headers=csr)
    ).json()

    past = (
        await client.get(f"{BASE}/{consumer.id}/communications", params={"size": 3, "page": 3}, headers=csr)
    ).json()

    assert (
        page1["total"] == page2["total"] == past["total"] == 4
    )  # counted with the page, or apart past the end
    assert past["items"] == []
    assert [c["channel"] for c in page1["items"] + page2["items"]] == ["system", "sms", "phone", "email"]
    call = calls["items"][0]
    assert (calls["total"], call["direction"], call["duration_seconds"]) == (1, "from_customer", 320)


async def test_add_note_is_authored_by_the_signed_in_user(
    client: httpx.AsyncClient, staff: dict[str, Any], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker)

    internal = await client.post(
        f"{BASE}/{consumer.id}/notes", json={"text": " Dog on premises. "}, headers=auth(staff["supervisor"])
    )
    shared = await client.post(
        f"{BASE}/{consumer.id}/notes",
        json={"text": "We called you.", "visibility": "consumer"},
        headers=auth(staff["csr"]),
    )

    assert internal.status_code == 201, internal.text
    note = internal.json()
    assert (note["channel"], note["direction"], note["visibility"]) == ("note", "internal", "internal")
    assert (note["body"], note["author"]) == ("Dog on premises.", "supervisor")
    assert (shared.json()["visibility"], shared.json()["author"]) == ("consumer", "csr")
    listed = (await client.get(f"{BASE}/{consumer.id}/communications", headers=auth(staff["csr"]))).json()
    assert [c["body"] for c in listed["items"]] == ["We called you.", "Dog on premises."]


@pytest.mark.parametrize("note", [{"text": ""}, {"text": "   "}, {"text": "x", "visibility": "public"}, {}])
async def test_add_note_refuses_bad_input_with_422(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker, note: dict[str, Any]
) -> None:
    consumer = await add_consumer(sessionmaker)

    assert_problem(await client.post(f"{BASE}/{consumer.id}/notes", json=note, headers=csr), 422)


# ---- contact edits and the profile lock --------------------------------------------------------------


async def test_edit_contact_fields(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(sessionmaker, first_name="Jon", email="old@example.com")
    changes = {
        "first_name": " John ",
        "last_name": "Doe",
        "phone": "(217) 555-0199",
        "service_address": "12 Maple Street, Springfield",
    }

    response = await client.patch(f"{BASE}/{consumer.account_number}", json=changes, headers=csr)
    cleared = await client.patch(f"{BASE}/{consumer.id}", json={"email": None}, headers=csr)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first_name"], body["last_name"], body["phone"]) == ("John", "Doe", "(217) 555-0199")
    assert (body["service_address"], body["email"]) == ("12 Maple Street, Springfield", "old@example.com")
    assert cleared.status_code == 200 and cleared.json()["email"] is None
    async with sessionmaker() as session:
        stored = await session.get(Consumer, consumer.id)
    assert stored is not None and (stored.first_name, stored.email) == ("John", None)
    log = (
        await client.get(f"{BASE}/{consumer.id}/communications", params={"channel": "system"}, headers=csr)
    ).json()
    assert [(c["author"], c["subject"], c["body"]) for c in reversed(log["items"])] == [
        ("csr", "Contact details changed",
         f"first name: Jon → John; last name: {consumer.last_name} → Doe; phone: {consumer.phone} → (217) 555-0199; "
         f"service address: {consumer.service_address} → 12 Maple Street, Springfield"),
        ("csr", "Contact details changed", "email: old@example.com → —"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "Active"},  # not a contact field
        {"phone": None},
        {"phone": "call me"},
        {"email": "not-an-email"},
        {"first_name": ""},
        {"service_address": "x" * 301},
    ],
)
async def test_edit_refuses_bad_input_with_422(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker, changes: dict[str, Any]
) -> None:
    consumer = await add_consumer(sessionmaker)

    body = assert_problem(await client.patch(f"{BASE}/{consumer.id}", json=changes, headers=csr), 422)
    assert body["errors"]


async def test_edit_of_a_locked_profile_is_423_naming_the_request(
    client: httpx.AsyncClient, csr: dict[str, str], sessionmaker: Maker
) -> None:
    consumer = await add_consumer(
        sessionmaker, account_number="WU-10001", phone="555-0100", locked_by_request="RC-2026-000123"
    )

    response = await client.patch(f"{BASE}/WU-10001", json={"phone": "555-0199"}, headers=csr)

    body = assert_problem(response, 423)
    assert body["detail"] == (
        "Profile WU-10001 is locked by open request RC-2026-000123; "
        "edit it after the request is completed or closed."
    )
    assert body["request_id"] == "RC-2026-000123" and body["type"] == "/problems/profile-locked"
    async with sessionmaker() as session:
        await session.execute(
            update(Consumer).where(Consumer.id == consumer.id).values(locked_by_request=None)
        )
        await session.commit()
        assert (await session.get(Consumer, consumer.id)).phone == "555-0100"  # type: ignore[union-attr]

    unlocked = await client.patch(f"{BASE}/WU-10001", json={"phone": "555-0199"}, headers=csr)
    assert unlocked.status_code == 200 and unlocked.json()["phone"] == "555-0199"


async def test_a_lock_taken_after_the_profile_was_read_still_refuses_the_edit(sessionmaker: Maker) -> None:
    consumer = await add_consumer(sessionmaker, phone="555-0100")
    async with sessionmaker() as editing:
        stale = await accounts.get_consumer(session=editing, key=str(consumer.id))
        async with sessionmaker() as activity:  # a request is created meanwhile and locks the profile
            await activity.execute(
                update(Consumer).where(Consumer.id == consumer.id).values(locked_by_request="RC-9")
            )
            await activity.commit()

        with pytest.raises(Problem) as refused:
            await accounts.update_contact(
                session=editing, consumer=stale, changes=schemas.ConsumerUpdate(phone="555-0199"), actor="csr"
            )

    assert refused.value.status == 423
    assert refused.value.extra["request_id"] == "RC-9"
    async with sessionmaker() as session:
        assert (await session.get(Consumer, consumer.id)).phone == "555-0100"  # type: ignore[union-attr]
