"""Request lists against a reference computed in Python: every filter, sort and page, with the
total taken from the running totals (type / status / SLA / priority filters only), from the
page's own window count (search, dates, assignee), or counted on its own past the last page."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.requests import queries
from db.models import User
from domain.request.types import OPEN_STATUSES, Priority, RequestStatus, RequestType, SlaState
from tests import factories

RANK = {p: rank for rank, p in enumerate(Priority)}


@pytest.fixture
async def rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    """40 requests of 20 consumers (named so that searches split them), spread over types, statuses,
    priorities, SLA states, creation days and two assignees; several share a creation time."""
    rng = random.Random(7)
    out: list[dict[str, Any]] = []
    async with sessionmaker() as session:
        users = [await factories.user(session, f"agent{n}") for n in range(2)]
        consumers = [
            await factories.consumer(session, first_name=first, last_name=f"{last}{n}")
            for n, (first, last) in enumerate(itertools.islice(itertools.cycle(
                [("Anna", "Larsson"), ("Bob", "Okafor"), ("Chen", "Annis"), ("Dana", "Brook")]), 20))
        ]  # fmt: skip
        for n in range(40):
            consumer = consumers[n % 20]
            status = RequestStatus.COMPLETED if n < 20 else rng.choice(list(RequestStatus))
            if status in OPEN_STATUSES and any(
                r["consumer_id"] == consumer.id and r["status"] in OPEN_STATUSES for r in out
            ):
                status = RequestStatus.CLOSED  # one open request per consumer
            created = factories.utc(2026, 10, 1 + n % 9, 9 + n % 3)
            request_type = rng.choice(list(RequestType))
            row = await factories.request_row(
                session, consumer.id, status=status, request_type=request_type,
                request_id=f"{'RC' if request_type is RequestType.RECONNECTION else 'DC'}-2026-{n + 1:06d}",
                priority=rng.choice(list(Priority)),
                sla_status=rng.choice(list(SlaState)), created_at=created,
                resolution_due_at=created + timedelta(hours=rng.randint(1, 72)),
                assigned_to=rng.choice([None, users[0].id, users[1].id]),
            )  # fmt: skip
            out.append(
                dict(id=row.id, request_id=row.request_id, consumer_id=consumer.id, status=status,
                     request_type=row.request_type, priority=row.priority, sla_status=row.sla_status,
                     created_at=created, resolution_due_at=row.resolution_due_at, assigned_to=row.assigned_to,
                     text=f" {consumer.first_name} {consumer.last_name} {consumer.account_number} "
                          f"{''.join(c for c in consumer.phone if c.isdigit())} {consumer.service_address} "
                          f"{row.request_id}".lower())
            )  # fmt: skip
        await session.commit()
    return out


def _found(q: str, r: dict[str, Any]) -> bool:
    """db/search.py's rule: every word in the search text; a short word at the start of one of
    its words; or (an ID prefix such as "rc-") the start of the request ID."""
    if q.lower().startswith(("rc-", "dc-")):
        return r["request_id"].lower().startswith(q.lower())
    return all((w if len(w) >= 3 else f" {w}") in r["text"] for w in q.lower().split())


def _expected(rows: list[dict[str, Any]], sort: str, **f: Any) -> list[str]:
    def keep(r: dict[str, Any]) -> bool:
        return (
            (not f.get("q") or _found(f["q"], r))
            and (not f.get("status") or r["status"] in f["status"])
            and (not f.get("history") or r["status"] in (RequestStatus.COMPLETED, RequestStatus.CLOSED))
            and (not f.get("request_type") or r["request_type"] == f["request_type"])
            and (not f.get("priority") or r["priority"] in f["priority"])
            and (not f.get("sla_status") or r["sla_status"] in f["sla_status"])
            and (not f.get("created_from") or r["created_at"].date() >= f["created_from"])
            and (not f.get("created_to") or r["created_at"].date() <= f["created_to"])
            and (f.get("assignee_id") is None or r["assigned_to"] == f["assignee_id"])
        )  # fmt: skip

    key = sort.lstrip("-")
    value = {"priority": lambda r: RANK[r["priority"]], "status": lambda r: r["status"].value}.get(
        key, lambda r: r[key]
    )
    ordered = sorted(
        (r for r in rows if keep(r)), key=lambda r: (value(r), r["id"]), reverse=sort.startswith("-")
    )
    return [r["request_id"] for r in ordered]


FILTERS: list[dict[str, Any]] = [
    {},
    {"status": [RequestStatus.PENDING, RequestStatus.IN_PROGRESS]},
    {"history": True},
    {"request_type": RequestType.DISCONNECTION, "priority": [Priority.HIGH, Priority.CRITICAL]},
    {"status": list(OPEN_STATUSES), "sla_status": [SlaState.BREACHED, SlaState.AT_RISK]},
    {"q": "anna"},
    {"q": "ann"},  # first names and last names (Annis)
    {"q": "an la"},  # two short words: starts of first and last name
    {"q": "ar"},  # a short word inside "Larsson" only: no match
    {"q": "okafor", "status": [RequestStatus.COMPLETED]},
    {"q": "rc-"},  # a request-ID prefix: a range of the ID index, counted apart
    {"q": "DC-"},
    {"q": "ID-FRAGMENT"},  # replaced by a fragment of a real ID (its digits) in the test
    {"q": "NAME-AND-ID"},  # replaced by that request's consumer's first name and the fragment
    {"created_from": date(2026, 10, 3), "created_to": date(2026, 10, 5)},
    {"assignee_id": "agent1"},
]
SORTS = [
    "-created_at",
    "created_at",
    "priority",
    "-priority",
    "status",
    "-status",
    "-resolution_due_at",
    "request_id",
]


@pytest.mark.parametrize("sort", SORTS)
async def test_every_filter_sort_and_page_matches_the_reference(
    sessionmaker: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]], sort: str
) -> None:
    async with sessionmaker() as session:
        agents = {u.username: u.id for u in await session.scalars(select(User))}
        for filters in FILTERS:
            f = {
                **filters,
                **({"assignee_id": agents[filters["assignee_id"]]} if "assignee_id" in filters else {}),
            }
            fragment = rows[7]["request_id"][-4:]
            if f.get("q") == "ID-FRAGMENT":
                f["q"] = fragment
            elif f.get("q") == "NAME-AND-ID":
                f["q"] = f"{rows[7]['text'].split()[0].upper()} {fragment}"
            expected = _expected(rows, sort, **f)
            if filters.get("q") in ("ID-FRAGMENT", "NAME-AND-ID"):
                assert rows[7]["request_id"] in expected, f
            if filters.get("q") in ("rc-", "DC-"):  # each prefix names some of the rows, not all
                assert 0 < len(expected) < len(rows), f
            if filters.get("q") == "ar":
                assert not expected
            got: list[str] = []
            for page in range(1, 5):
                result = await queries.list_requests(session=session, sort=sort, page=page, size=7, **f)
                assert result.total == len(expected), (filters, page)
                got += [item.request_id for item in result.items]
            assert got == expected[:28], filters


@pytest.mark.parametrize("walk", [20, 1])  # 20: the walk fills the page; 1: it gives up and gathers
@pytest.mark.parametrize("sort", ["-created_at", "priority", "request_id"])
async def test_a_broad_id_prefix_pages_by_walking_the_sort_index_with_the_same_result(
    sessionmaker: async_sessionmaker[AsyncSession],
    rows: list[dict[str, Any]],
    sort: str,
    walk: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(queries, "BROAD", 2)  # 40 rows stand for the thousands that share a prefix
    monkeypatch.setattr(queries, "WALK", walk)
    walked = queries._walked
    outcomes: list[bool] = []

    async def spy(*args: Any) -> Any:
        found = await walked(*args)
        outcomes.append(found is not None)
        return found

    monkeypatch.setattr(queries, "_walked", spy)
    async with sessionmaker() as session:
        for filters in ({"q": "rc-"}, {"q": "RC-", "status": [RequestStatus.COMPLETED]}):
            expected = _expected(rows, sort, **filters)
            assert len(expected) > 2
            result = await queries.list_requests(session=session, sort=sort, page=2, size=5, **filters)
            assert result.total == len(expected)
            assert [item.request_id for item in result.items] == expected[5:10]
    assert outcomes == [walk == 20] * 2
