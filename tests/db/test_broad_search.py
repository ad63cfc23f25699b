"""A broad search (more than ``search.BROAD`` matches) finds its page by walking the list's sort
index (db/search.py): the same rows, in the same order, with the same total as reading and
sorting every match, for consumers and requests, on every page and sort, whether the walk finds
the page or gives up (matches bunched further on) and the matches are sorted after all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.consumers import accounts
from api.requests import queries
from db import search
from domain.request.types import Priority, RequestStatus
from tests import factories
from tests.conftest import database_kind

LAST_NAMES = ("Adams", "Baker", "Moreno", "Okafor", "Romero", "Silva", "Young")
STREETS = ("Mill Road", "Broad Road", "High Street", "Oak Lane", "Elm Drive")
BUNCHED = "Zephyr"  # the last in name order: a walk from the start finds none of them early
PRIORITIES = list(Priority)
THRESHOLD = 10  # search.BROAD for the test: walks of 7 × 96 / 10 = 68 rows at most, which the
# bunched matches lie beyond

QUERIES = [
    "road",  # two streets of five: broad, spread over the name order
    "ro",  # two letters: a word's start (Road, Romero; not Broad)
    "r",  # one letter: tested on the rows
    "mill ro",
    "zeph",  # bunched at the end of the name order
    "555-010",  # written as a phone number: its digits too
    "st",
    "nothing-like-it",
]


@pytest.fixture
async def book(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """96 consumers, each with one request created an hour after the previous one's."""
    async with sessionmaker() as session:
        for n in range(96):
            last = BUNCHED if n % 4 == 0 else LAST_NAMES[n % len(LAST_NAMES)]
            consumer = await factories.consumer(
                session,
                first_name=("Ann", "Bo", "Cy")[n % 3],
                last_name=last,
                service_address=f"{n + 1} {STREETS[n % len(STREETS)]}, Springfield",
                # all 96 match "555-010", whatever numbers the factory's counter has reached
                phone=f"555-010-{n:04d}",
            )
            await factories.request_row(
                session,
                consumer.id,
                status=RequestStatus.COMPLETED,
                priority=PRIORITIES[n % len(PRIORITIES)],
                created_at=factories.utc(2026, 11, 1) + timedelta(hours=n),
            )
        await session.commit()


@contextmanager
def broad_from(threshold: int, walks: list[bool], module: Any) -> Iterator[None]:
    """Searches with more than ``threshold`` matches walk, as briefly as allowed (no margin, no
    spread), recording in ``walks`` whether each walk found its page."""
    saved = search.BROAD, search.SPREAD, search.MARGIN, module._walked
    search.BROAD, search.SPREAD, search.MARGIN = threshold, 1, 0

    async def spy(*args: Any, **kwargs: Any) -> Any:
        found = await saved[3](*args, **kwargs)
        walks.append(found is not None)
        return found

    module._walked = spy
    try:
        yield
    finally:
        search.BROAD, search.SPREAD, search.MARGIN, module._walked = saved


async def _both_ways(
    sessionmaker: async_sessionmaker[AsyncSession],
    module: Any,
    read: Callable[[AsyncSession, str, int, str], Awaitable[Any]],
    sorts: list[str],
) -> list[bool]:
    walks: list[bool] = []
    inexact: list[str] = []
    for q in QUERIES:
        for sort in sorts:
            for page in (1, 2, 3, 6, 9):
                async with sessionmaker() as session:
                    sorted_all = await read(session, q, page, sort)
                with broad_from(THRESHOLD, walks, module):
                    async with sessionmaker() as session:
                        walked = await read(session, q, page, sort)
                assert walked.items == sorted_all.items, (q, sort, page)
                assert sorted_all.total_exact
                if walked.total_exact:
                    assert walked.total == sorted_all.total, (q, sort, page)
                else:  # counting stopped: "more than 10"
                    assert walked.total == THRESHOLD < sorted_all.total, (q, sort, page)
                    inexact.append(q)
    # SQLite counts exactly from its trigram table but for a one-letter word; PostgreSQL stops
    # counting past the threshold
    if database_kind() == "sqlite":
        assert set(inexact) == {"r"}
    else:
        assert {"road", "mill ro", "555-010"} <= set(inexact)
    return walks


async def test_a_broad_consumer_search_pages_like_sorting_every_match(
    sessionmaker: async_sessionmaker[AsyncSession], book: None
) -> None:
    async def read(session: AsyncSession, q: str, page: int, sort: str) -> Any:
        return await accounts.search_consumers(session=session, q=q, page=page, size=7)

    walks = await _both_ways(sessionmaker, accounts, read, ["name"])
    assert True in walks and False in walks  # pages found by walking, and walks given up

    async with sessionmaker() as session:
        found = await accounts.search_consumers(session=session, q="road", size=50)
    assert found.total == sum(1 for n in range(96) if n % 5 < 2)  # Mill Road and Broad Road
    assert all("Road" in row.service_address for row in found.items)


async def test_a_broad_request_search_pages_like_sorting_every_match(
    sessionmaker: async_sessionmaker[AsyncSession], book: None
) -> None:
    async def read(session: AsyncSession, q: str, page: int, sort: str) -> Any:
        return await queries.list_requests(session=session, q=q, page=page, size=7, sort=sort)

    walks = await _both_ways(sessionmaker, queries, read, ["-created_at", "priority", "request_id"])
    assert True in walks and False in walks

    async with sessionmaker() as session:
        found = await queries.list_requests(session=session, q="zeph", size=50)
    assert found.total == 24
    assert {row.consumer_name.split()[-1] for row in found.items} == {BUNCHED}
