"""The search text the database keeps for each request (db/search.py, migrations d5e1a8c4b7f2 and
a9d2f4c6e8b1): written on insert, rewritten when the request's ID or its consumer's searched
columns change, and (SQLite) its trigram table kept in step, on a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.consumers import accounts
from api.requests import queries as requests
from db.models import Consumer, ServiceRequest
from domain.request.types import RequestStatus
from tests import factories


async def _found(session: AsyncSession, q: str) -> list[str]:
    page = await requests.list_requests(session=session, q=q, size=50)
    assert page.total == len(page.items)
    return sorted(item.request_id for item in page.items)


async def _fts_intact(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "sqlite":  # compares the index with the requests' text
        await session.execute(
            text("INSERT INTO request_search (request_search, rank) VALUES ('integrity-check', 1)")
        )


async def test_the_search_text_follows_renames_id_changes_and_deletes(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        ada = await factories.consumer(session, first_name="Ada", last_name="Quimby")
        bo = await factories.consumer(session, first_name="Bo", last_name="Quimby")
        first = await factories.request_row(session, ada.id, status=RequestStatus.COMPLETED)
        second = await factories.request_row(session, ada.id)
        other = await factories.request_row(session, bo.id)
        await session.commit()
        assert (
            await session.scalar(select(ServiceRequest.search_text).where(ServiceRequest.id == first.id))
            == f" ada quimby {ada.account_number.lower()} {''.join(c for c in ada.phone if c.isdigit())} "
            f"{ada.service_address.lower()} {first.request_id.lower()}"
        )
        assert await _found(session, "quim") == sorted(
            [first.request_id, second.request_id, other.request_id]
        )
        assert await _found(session, "ADA quim") == sorted([first.request_id, second.request_id])

        ada.last_name = "Okonkwo"  # both of her requests follow; Bo's does not
        await session.commit()
        assert await _found(session, "okonkwo") == sorted([first.request_id, second.request_id])
        assert await _found(session, "quimby") == [other.request_id]

        await session.execute(  # a bulk update of the account number, not through the ORM
            update(Consumer).where(Consumer.id == bo.id).values(account_number="ZZ-777001")
        )
        await session.execute(
            update(ServiceRequest).where(ServiceRequest.id == second.id).values(request_id="DC-T424242")
        )
        await session.commit()
        assert await _found(session, "777001") == [other.request_id]
        assert await _found(session, "424242") == ["DC-T424242"]
        assert await _found(session, "okonkwo") == sorted([first.request_id, "DC-T424242"])

        await session.execute(delete(ServiceRequest).where(ServiceRequest.id == first.id))
        await session.commit()
        assert await _found(session, "okonkwo") == ["DC-T424242"]
        await _fts_intact(session)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("nkw", ["Okonkwo"]),  # inside a word
        ("ko", []),  # a short word must start a word of the text
        ("ok", ["Okonkwo"]),
        ("ada ok", ["Okonkwo"]),
        ("ada mb", []),
        ("ADA QUIM", ["Quimby"]),
    ],
)
async def test_consumer_search_follows_the_same_rule(
    sessionmaker: async_sessionmaker[AsyncSession], q: str, expected: list[str]
) -> None:
    async with sessionmaker() as session:
        await factories.consumer(session, first_name="Ada", last_name="Okonkwo")
        await factories.consumer(session, first_name="Ada", last_name="Quimby")
        await session.commit()
        page = await accounts.search_consumers(session=session, q=q)
        assert [row.last_name for row in page.items] == expected
        assert page.total == len(expected)
