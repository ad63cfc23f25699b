"""The business calendar over the real app and a real database (issue 17, point 1): read, replaced
(the same body twice changes nothing), refused with field errors, previewed, admins only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditEntry
from tests.api.conftest import ApiFactory, auth

PROBLEM = "application/problem+json"
URL = "/api/v1/admin/business-calendar"
WEEKDAY = [{"start": "08:00", "end": "17:00"}]
NEW_YORK = {
    "time_zone": "America/New_York",
    "hours": {
        "0": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],  # a lunch break
        "1": WEEKDAY, "2": WEEKDAY, "3": WEEKDAY, "4": WEEKDAY,
    },
    "holidays_country": "US",
    "holidays_subdivision": "NY",
    "closures": [{"date": "2026-12-24", "label": "Christmas Eve"}],
}  # fmt: skip


@pytest.fixture
async def client(api_client_for: ApiFactory, db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(database_url=db_url, time_zone="America/Chicago") as client:
        yield client


@pytest.fixture
def admin(staff: dict[str, Any]) -> dict[str, str]:
    return auth(staff["admin"])


def problem(response: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    if fields:
        assert {error["field"] for error in body["errors"]} >= set(fields), body
    return body


async def _audited(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count()).where(AuditEntry.object_type == "setting")
                .where(AuditEntry.object_id == "business_calendar")
            ) or 0
        )  # fmt: skip


async def test_defaults_then_replaced_and_the_same_body_again_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    defaults = await client.get(URL, headers=admin)
    assert defaults.status_code == 200, defaults.text
    body = defaults.json()
    assert body["time_zone"] == "America/Chicago"  # CONNECTDESK_TIME_ZONE until an admin saves one
    assert body["hours"] == {str(d): [{"start": "08:00:00", "end": "17:00:00"}] for d in range(5)}
    assert body["holidays_country"] is None and body["closures"] == [] and body["closed_this_year"] == []
    assert body["updated_by"] is None

    saved = await client.put(URL, json=NEW_YORK, headers=admin)
    assert saved.status_code == 200, saved.text
    calendar = saved.json()
    assert calendar["time_zone"] == "America/New_York" and calendar["updated_by"] == "admin"
    assert calendar["hours"]["0"] == [
        {"start": "08:00:00", "end": "12:00:00"}, {"start": "13:00:00", "end": "17:00:00"},
    ]  # fmt: skip
    assert calendar["holidays_country"] == "US" and calendar["holidays_subdivision"] == "NY"
    names = {h["name"] for h in calendar["closed_this_year"]}
    assert {"New Year's Day", "Independence Day", "Christmas Day"} <= names
    assert (await client.get(URL, headers=admin)).json() == calendar
    audited = await _audited(sessionmaker)
    assert audited == 1

    again = await client.put(URL, json=NEW_YORK, headers=admin)
    assert again.status_code == 200 and again.json() == calendar  # updated_at too: nothing written
    assert await _audited(sessionmaker) == audited


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "unknown time zone 'Mars/Olympus_Mons'"),
        (
            {"hours": {"0": [{"start": "08:00", "end": "12:00"}, {"start": "11:30", "end": "17:00"}]}},
            "hours",
            "Monday: working windows overlap",
        ),
        ({"hours": {"2": [{"start": "17:00", "end": "08:00"}]}}, "hours.2.0", "must end after it starts"),
        ({"hours": {}}, "hours", "at least one working window"),
        ({"holidays_country": "XX"}, "holidays_country", "unknown holidays country 'XX'"),
        ({"holidays_subdivision": "ZZ"}, "holidays_subdivision", "unknown holidays subdivision 'ZZ' of US"),
        (
            {"closures": [{"date": "2026-12-24", "label": "a"}, {"date": "2026-12-24", "label": "b"}]},
            "closures",
            "one closure per date",
        ),
        ({"typo": 1}, "typo", ""),
    ],
)
async def test_a_wrong_calendar_is_refused_naming_the_field_and_nothing_is_written(
    client: httpx.AsyncClient, admin: dict[str, str], change: dict[str, Any], field: str, words: str
) -> None:
    body = problem(await client.put(URL, json=NEW_YORK | change, headers=admin), 422, field)
    assert body["type"] == "/problems/validation"
    assert words in body["detail"]
    assert (await client.get(URL, headers=admin)).json()["updated_by"] is None


async def test_the_preview_counts_business_hours_over_a_weekend_and_the_holidays(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await client.put(URL, json=NEW_YORK, headers=admin)).status_code == 200

    async def due(start: str, hours: float) -> str:
        answer = await client.get(f"{URL}/preview", params={"start": start, "hours": hours}, headers=admin)
        assert answer.status_code == 200, answer.text
        assert answer.json()["time_zone"] == "America/New_York"
        return str(answer.json()["due_at"])

    # Friday 15:30: 1.5 h left that day, 2.5 h on Monday — whose lunch break does not count
    assert await due("2026-12-04T15:30:00-05:00", 4) == "2026-12-07T10:30:00-05:00"
    assert await due("2026-12-04T20:30:00Z", 5.5) == "2026-12-07T12:00:00-05:00"  # the window's end
    assert await due("2026-12-04T20:30:00Z", 6) == "2026-12-07T13:30:00-05:00"
    # Wednesday 23rd 16:00: the closure on the 24th, Christmas on the 25th, the weekend: Monday the 28th
    assert await due("2026-12-23T16:00:00-05:00", 2) == "2026-12-28T09:00:00-05:00"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-12-04T15:30:00", "hours": 4}, "query.start"),  # no offset: which 15:30?
        ({"start": "2026-12-04T15:30:00Z", "hours": 0}, "query.hours"),
        ({"start": "2026-12-04T15:30:00Z", "hours": 721}, "query.hours"),
        ({"hours": 4}, "query.start"),
    ],
)
async def test_the_preview_refuses_a_moment_without_offset_and_hours_out_of_range(
    client: httpx.AsyncClient, admin: dict[str, str], params: dict[str, Any], field: str
) -> None:
    problem(await client.get(f"{URL}/preview", params=params, headers=admin), 422, field)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", URL, None),
        ("PUT", URL, NEW_YORK),
        ("GET", f"{URL}/preview?start=2026-12-04T15:30:00Z&hours=1", None),
    ],
)
async def test_only_admins_read_change_or_preview_the_calendar(
    client: httpx.AsyncClient, staff: dict[str, Any], method: str, path: str, body: Any
) -> None:
    assert (
        problem(await client.request(method, path, json=body), 401)["type"] == "/problems/not-authenticated"
    )
    for role in ("csr", "supervisor"):
        refused = problem(await client.request(method, path, json=body, headers=auth(staff[role])), 403)
        assert refused["required_roles"] == ["admin"]
