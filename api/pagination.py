"""A page of results with its total, shared by every list endpoint, and the one way to read it.

``paginate`` counts and fetches a page of a ``Select`` (offset and limit). A list that sorts and
counts its matches in one pass instead (a window count, as the consumer and request searches do
for a few thousand matches) takes its total with ``window_total``. A broad search whose exact
count would cost more than its page says only that more than ``total`` match
(``total_exact=False``; ``db/search.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="How many match (more than this when `total_exact` is false)")
    page: int
    size: int
    total_exact: bool = Field(
        default=True,
        description="False when counting stopped early: more than `total` match (a broad search "
        "where an exact count would read every match, as on PostgreSQL)",
    )


PAGE_MAX = 1_000_000
SIZE_MAX = 200
# PAGE_MAX × SIZE_MAX stays far below 2^31 - 1: no OFFSET can overflow, on any database.
PageNumber = Annotated[int, Query(ge=1, le=PAGE_MAX, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=SIZE_MAX, description="Rows per page")]


def offset(page: int, size: int) -> int:
    """The rows before 1-based ``page``."""
    return (page - 1) * size


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    page: int,
    size: int,
    item: type[M],
    total: int | None = None,
    one_pass: bool = False,
) -> Page[M]:
    """Page ``page`` of ``stmt``'s rows (its first column, in its order), each read as ``item``,
    with the count of all of them: ``total`` where the caller knows it; counted in the same
    statement (a window) with ``one_pass``, for short lists such as one consumer's payments;
    else counted apart (a long list's count reads an index, its page stops early)."""
    rows: Sequence[Any]
    if one_pass and total is None:
        found = (
            await session.execute(
                stmt.add_columns(func.count().over()).limit(size).offset(offset(page, size))
            )
        ).all()
        total = await window_total(found, page, lambda: _count(session, stmt))
        rows = [row[0] for row in found]
    else:
        if total is None:
            total = await _count(session, stmt)
        rows = (await session.scalars(stmt.limit(size).offset(offset(page, size)))).all()
    return Page[item](  # type: ignore[valid-type]
        items=[item.model_validate(row) for row in rows], total=total, page=page, size=size
    )


async def _count(session: AsyncSession, stmt: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


async def window_total(rows: Sequence[Any], page: int, count: Callable[[], Awaitable[int]]) -> int:
    """The total a window count gave a page's rows (each row's last column). A page past the end
    has no row to carry it: then ``count`` counts the matches apart (an empty first page: none)."""
    if rows:
        return int(rows[0][-1])
    return await count() if page > 1 else 0
