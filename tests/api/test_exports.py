"""CSV exports of the request list and the consumer search (api/csv_export.py): the same rows as the
list with the same filters, every page, in its order; read in keyset batches; named after the
filters; formula cells neutralised; refused as the list is (401, 422)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.consumers import accounts
from api.csv_export import cell, file_name
from api.requests import queries
from domain.consumers.types import ConsumerStatus
from domain.request.types import Priority, RequestStatus
from tests import factories
from tests.api.conftest import ApiFactory, auth

PROBLEM = "application/problem+json"


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, documents_dir=tmp_path / "documents") as client:
        yield client


@pytest.fixture
async def people(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    """Seven consumers (one a formula in disguise), each with a Completed request and, for the odd
    ones, a Pending High one; returns the request IDs of the pending high ones."""
    pending = []
    async with sessionmaker() as session:
        for n in range(7):
            consumer = await factories.consumer(
                session,
                first_name='=HYPERLINK("http://x")' if n == 3 else f"Ann{n}",
                last_name=f"Exporter{n}",
                phone=f"(555) 200-00{n:02d}",
                status=ConsumerStatus.ACTIVE if n % 2 else ConsumerStatus.INACTIVE,
            )
            await factories.request_row(session, consumer.id, status=RequestStatus.COMPLETED)
            if n % 2:
                row = await factories.request_row(
                    session, consumer.id, status=RequestStatus.PENDING, priority=Priority.HIGH
                )
                pending.append(row.request_id)
        await session.commit()
    return pending


def _read(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_request_export_holds_every_page_of_the_filtered_list(
    client: httpx.AsyncClient, staff: dict[str, Any], people: list[str]
) -> None:
    query = {"status": "Pending", "priority": "High", "sort": "request_id", "size": 2}
    listed = await client.get("/api/v1/requests", params=query, headers=auth(staff["csr"]))
    assert listed.json()["total"] == 3 and len(listed.json()["items"]) == 2  # a page of the list

    response = await client.get(
        "/api/v1/requests/export.csv", params={k: v for k, v in query.items() if k != "size"},
        headers=auth(staff["csr"]),
    )  # fmt: skip
    rows = _read(response)
    assert [r["request_id"] for r in rows] == sorted(people)  # every page, in the list's order
    assert {r["status"] for r in rows} == {"Pending"} and {r["priority"] for r in rows} == {"High"}
    assert list(rows[0]) == list(queries.EXPORT_COLUMNS)
    today = datetime.now(UTC).date().isoformat()
    assert response.headers["content-disposition"] == (
        f'attachment; filename="requests_status-pending_priority-high_sort-request-id_{today}.csv"'
    )

    by_phone = _read(
        await client.get(
            "/api/v1/requests/export.csv", params={"q": "555.200.0003"}, headers=auth(staff["csr"])
        )
    )
    assert {r["consumer_name"] for r in by_phone} == {'\'=HYPERLINK("http://x") Exporter3'}  # neutralised


async def test_consumer_export_holds_every_match_and_neutralises_formulas(
    client: httpx.AsyncClient, staff: dict[str, Any], people: list[str]
) -> None:
    response = await client.get(
        "/api/v1/consumers/export.csv",
        params={"q": "exporter", "status": "Active"},
        headers=auth(staff["csr"]),
    )
    rows = _read(response)
    assert [r["last_name"] for r in rows] == ["Exporter1", "Exporter3", "Exporter5"]
    assert rows[1]["first_name"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["phone"] == "(555) 200-0001"  # "(" is harmless: left as it is
    assert list(rows[0]) == list(accounts.EXPORT_COLUMNS)
    assert 'filename="consumers_q-exporter_status-active_' in response.headers["content-disposition"]


async def test_exports_are_refused_as_the_lists_are(client: httpx.AsyncClient, staff: dict[str, Any]) -> None:
    for path in ("/api/v1/requests/export.csv", "/api/v1/consumers/export.csv"):
        anonymous = await client.get(path)
        assert anonymous.status_code == 401 and anonymous.headers["content-type"] == PROBLEM
    bad_sort = await client.get("/api/v1/requests/export.csv?sort=-phone", headers=auth(staff["csr"]))
    assert bad_sort.status_code == 422 and bad_sort.headers["content-type"] == PROBLEM
    assert "Cannot sort by 'phone'" in bad_sort.json()["detail"]
    bad_status = await client.get("/api/v1/consumers/export.csv?status=Asleep", headers=auth(staff["csr"]))
    assert bad_status.status_code == 422 and bad_status.headers["content-type"] == PROBLEM


async def test_exports_read_in_keyset_batches(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], people: list[str]
) -> None:
    """Memory stays constant: each query reads at most a batch, whatever the number of rows."""
    selects: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        batches = [
            b async for b in accounts.export_consumers(sessionmaker=sessionmaker, q="exporter", batch=3)
        ]
        assert [len(b) for b in batches] == [3, 3, 1]
        assert [row[2] for b in batches for row in b] == [f"Exporter{n}" for n in range(7)]
        assert len(selects) == 3  # one query per batch

        selects.clear()
        for sort in ("-created_at", "priority", "-status", "request_id", "resolution_due_at"):
            async with sessionmaker() as session:
                every = await queries.list_requests(session=session, sort=sort, size=50)
            exported = await queries.export_requests(sessionmaker=sessionmaker, sort=sort, batch=4)
            batches = [b async for b in exported]
            assert [len(b) for b in batches] == [4, 4, 2], sort
            assert [row[0] for b in batches for row in b] == [i.request_id for i in every.items], sort
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Ada", "Ada"),
        (None, ""),
        (RequestStatus.ON_HOLD, "On Hold"),
        (date(2026, 12, 1), "2026-12-01"),
    ],
)
def test_cells_a_spreadsheet_would_run_start_with_a_quote(value: object, written: str) -> None:
    assert cell(value) == written


def test_file_names_carry_the_filters_sanitised() -> None:
    day = date(2026, 12, 1)
    assert file_name("requests", {"status": ["Pending"], "priority": ["High"]}, day) == (
        "requests_status-pending_priority-high_2026-12-01.csv"
    )
    assert file_name("requests", {"q": '../"a b";\r\nx', "history": True, "to": None}, day) == (
        "requests_q-a-b-x_history_2026-12-01.csv"
    )
    assert file_name("consumers", {"q": "x" * 500}, day) == f"consumers_q-{'x' * 138}_2026-12-01.csv"
