"""The consumers themselves: the dashboard's counts, search, finding one by ID or account number,
and contact edits (refused while an open request holds the profile lock).

Functions of the consumers' modules take keyword-only arguments and a session, flush but never
commit (the caller commits once), and raise :class:`api.errors.Problem` for anything a caller can
act on. The pure rules (compliance, health score, VIP, reading anomalies) live in
``domain.consumers``; these modules only gather their inputs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.consumers import schemas
from api.consumers.communications import record_change
from api.csv_export import EXPORT_BATCH
from api.errors import Problem
from api.pagination import Page, offset, paginate
from api.params import is_db_id
from db import audit, search
from db.models import Consumer, ConsumerTotal
from domain.consumers.types import ConsumerStatus

_CENTS = Decimal("0.01")
_TENTH = Decimal("0.1")
_HUNDRED = Decimal(100)


def today_utc() -> date:
    return datetime.now(UTC).date()


def cents(value: Decimal) -> Decimal:
    return value.quantize(_CENTS, rounding=ROUND_HALF_UP)


def _percent(part: int, whole: int) -> Decimal:
    """part / whole × 100 to 1 decimal (half up); 0.0 when there is no whole."""
    if whole == 0:
        return Decimal("0.0")
    return (Decimal(part) * _HUNDRED / Decimal(whole)).quantize(_TENTH, rounding=ROUND_HALF_UP)


def not_found(detail: str) -> Problem:
    return Problem(404, detail, type_="/problems/not-found")


async def dashboard(*, session: AsyncSession) -> schemas.ConsumerDashboard:
    """Account counts per status (with percentages of the total) and the total balance, from the
    running totals the database keeps (one row per status, whatever the number of consumers)."""
    counts = {status: 0 for status in ConsumerStatus}
    balance_cents = 0
    for kept in await session.scalars(select(ConsumerTotal)):  # kept by triggers: no scan
        counts[kept.status] = kept.n
        balance_cents += kept.balance_cents
    total_balance = Decimal(balance_cents) / 100
    total = sum(counts.values())

    def share(status: ConsumerStatus) -> schemas.StatusCount:
        return schemas.StatusCount(count=counts[status], percentage=_percent(counts[status], total))

    return schemas.ConsumerDashboard(
        total_accounts=total,
        active=share(ConsumerStatus.ACTIVE),
        inactive=share(ConsumerStatus.INACTIVE),
        temporarily_disconnected=share(ConsumerStatus.TEMPORARILY_DISCONNECTED),
        total_balance=cents(total_balance),
        by_status=[
            schemas.StatusBreakdown(status=s, count=counts[s], percentage=_percent(counts[s], total))
            for s in ConsumerStatus
        ],
    )


async def search_consumers(
    *,
    session: AsyncSession,
    q: str | None = None,
    status: ConsumerStatus | None = None,
    page: int = 1,
    size: int = 20,
) -> Page[schemas.ConsumerRow]:
    """Consumers whose search text (name, account number, phone digits, service address, the
    meter and device numbers of their meters: db/search.py) contains each word of ``q``
    (case-insensitive; words of 1–2 characters match the start), optionally of one ``status``;
    ordered by last name, first name; with the total.

    "john doe" finds John Doe; "wu-1000" and "10001" find WU-10001; "do" finds Doe, not Guidotti;
    "(217) 555-0142", "217.555.0142" and "5550142" find the phone (217) 555-0142; "elm st" the
    address "12 Elm St"; "m-100042" the consumer meter M-100042 serves.
    """
    dialect = session.get_bind().dialect.name
    text = search.consumer_condition(q, dialect)
    conditions = [c for c in (text, None if status is None else Consumer.status == status) if c is not None]
    skip = offset(page, size)
    if text is None or (dialect != "sqlite" and not search.is_selective(q)):
        # No words, or PostgreSQL with short words only (thousands match, and the trigram index
        # cannot serve them): walk the name index.
        stmt = (
            select(Consumer).where(*conditions).order_by(Consumer.last_name, Consumer.first_name, Consumer.id)
        )
        return await paginate(session, stmt, page=page, size=size, item=schemas.ConsumerRow)

    # The count and the page (search.find_page): where thousands match ("road", "lin") the page
    # lies a short walk down the name index, where sorting them all took 70 ms.
    keys = select(Consumer.id, Consumer.last_name, Consumer.first_name).where(*conditions)

    def order(table: Any) -> list[Any]:
        return [table.c.last_name, table.c.first_name, table.c.id]

    async def walk(matches: int, exact: bool) -> list[int] | None:
        return await _walked(session, q, dialect, status, skip, size, matches, exact)

    from_index = search.count_from_index(q, dialect, "consumer_search") if status is None else None
    matches, exact, ids = await search.find_page(session, keys, order, skip, size, from_index, walk)
    found = await _rows(session, ids)
    return Page[schemas.ConsumerRow](
        items=[schemas.ConsumerRow.model_validate(c) for c in found],
        total=matches,
        total_exact=exact,
        page=page,
        size=size,
    )


async def _rows(session: AsyncSession, ids: list[int]) -> Sequence[Consumer]:
    """The consumers ``ids`` names, by last name, first name and id."""
    if not ids:
        return []
    found = await session.scalars(
        select(Consumer)
        .where(Consumer.id.in_(ids))
        .order_by(Consumer.last_name, Consumer.first_name, Consumer.id)
    )
    return found.all()


async def _walked(
    session: AsyncSession,
    q: str | None,
    dialect: str,
    status: ConsumerStatus | None,
    skip: int,
    size: int,
    matches: int,
    exact: bool,
) -> list[int] | None:
    """The page of a broad search (``matches`` consumers match ``q``, or more unless ``exact``),
    read off the first rows of the name index (of ``status``) and tested one by one; None when
    those rows hold fewer than the page wants (the matches bunch further on, or the page is past
    the end of an inexact count, or the walk would be long: then they are sorted after all).

    Exact: every match before the page lies within the rows walked, in the same order."""
    totals = select(func.coalesce(func.sum(ConsumerTotal.n), 0))
    if status is not None:
        totals = totals.where(ConsumerTotal.status == status)
    length = search.walk_length(skip + size, matches, await session.scalar(totals) or 0)
    if length is None:
        return None
    text_ = [Consumer.search_text] if search.reads_text(q, dialect) else []
    head = (
        select(Consumer.id, Consumer.last_name, Consumer.first_name, *text_)
        .where(*([] if status is None else [Consumer.status == status]))
        .order_by(Consumer.last_name, Consumer.first_name, Consumer.id)
        .limit(length)
        .subquery()
    )
    matching = search.consumer_condition(q, dialect, head.c.get("search_text"), head.c.id)
    assert matching is not None  # a broad search has words
    ids = list(
        await session.scalars(
            select(head.c.id)
            .where(matching)
            .order_by(head.c.last_name, head.c.first_name, head.c.id)
            .offset(skip)
            .limit(size)
        )
    )
    if len(ids) < (min(size, matches - skip) if exact else size):
        return None
    return ids


EXPORT_COLUMNS = (
    "account_number", "first_name", "last_name", "status", "category", "sub_category", "phone", "email",
    "service_address", "balance", "last_billing_date", "customer_since", "locked_by_request",
)  # fmt: skip
"""The columns of a consumer search's CSV export."""


async def export_consumers(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    q: str | None = None,
    status: ConsumerStatus | None = None,
    batch: int = EXPORT_BATCH,
) -> AsyncIterator[list[list[Any]]]:
    """Every consumer the search with ``q`` and ``status`` finds, by last name, first name and id,
    as rows of ``EXPORT_COLUMNS``: ``batch`` at a time, each batch one keyset query (after the last
    name pair and id, on ``ix_consumers_last_name_first_name``) in a session of its own."""
    columns = [getattr(Consumer, name) for name in EXPORT_COLUMNS]
    keys = (Consumer.last_name, Consumer.first_name, Consumer.id)
    last: tuple[str, str, int] | None = None
    while True:
        async with sessionmaker() as session:
            found = search.consumer_condition(q, session.get_bind().dialect.name)
            conditions: list[Any] = [
                c for c in (found, None if status is None else Consumer.status == status) if c is not None
            ]
            if last is not None:  # keyset: after the last row of the previous batch
                conditions.append(
                    or_(
                        keys[0] > last[0],
                        and_(keys[0] == last[0], keys[1] > last[1]),
                        and_(keys[0] == last[0], keys[1] == last[1], keys[2] > last[2]),
                    )
                )
            rows = (
                await session.execute(select(*columns, *keys).where(*conditions).order_by(*keys).limit(batch))
            ).all()
        if not rows:
            return
        yield [list(row[: len(columns)]) for row in rows]
        if len(rows) < batch:
            return
        last = tuple(rows[-1][len(columns) :])  # type: ignore[assignment]


async def by_account_number(session: AsyncSession, account_number: str) -> Consumer | None:
    """The consumer with this account number in any case (the exact spelling first: it is indexed)."""
    account_number = account_number.strip()
    consumer = await session.scalar(select(Consumer).where(Consumer.account_number == account_number))
    if consumer is None:
        consumer = await session.scalar(
            select(Consumer).where(func.lower(Consumer.account_number) == account_number.lower())
        )
    return consumer


async def get_consumer(*, session: AsyncSession, key: str) -> Consumer:
    """The consumer with id ``key`` (all digits) or account number ``key`` (any case); 404 otherwise."""
    key = key.strip()
    consumer = (
        await session.get(Consumer, int(key)) if is_db_id(key) else await by_account_number(session, key)
    )
    if consumer is None:
        raise not_found(f"No consumer with ID or account number '{key}'.")
    return consumer


def profile_locked(consumer: Consumer, request_id: str) -> Problem:
    return Problem(
        423,
        f"Profile {consumer.account_number} is locked by open request {request_id}; "
        "edit it after the request is completed or closed.",
        type_="/problems/profile-locked",
        request_id=request_id,
        account_number=consumer.account_number,
    )


async def update_contact(
    *, session: AsyncSession, consumer: Consumer, changes: schemas.ConsumerUpdate, actor: str
) -> Consumer:
    """Apply the given contact fields (names, phone, e-mail, service address), recording who changed
    what (old → new) in the consumer's communications.

    Refuses (423, naming the request) while an open request holds the profile lock. The write is
    a guarded UPDATE (``WHERE locked_by_request IS NULL``), so a lock taken a moment earlier by a
    request's activity is never overwritten.
    """
    if consumer.locked_by_request:
        raise profile_locked(consumer, consumer.locked_by_request)
    values = changes.model_dump(exclude_unset=True)
    before = {name: getattr(consumer, name) for name in values}
    values = {name: value for name, value in values.items() if value != before[name]}
    if not values:
        return consumer
    result = await session.execute(
        update(Consumer)
        .where(Consumer.id == consumer.id, Consumer.locked_by_request.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(consumer)
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise profile_locked(consumer, consumer.locked_by_request or "(unknown)")
    changed = "; ".join(
        f"{name.replace('_', ' ')}: {before[name] or '—'} → {value or '—'}" for name, value in values.items()
    )
    record_change(session, consumer, actor, "Contact details changed", changed)
    await audit.record(
        session, object_type="consumer", object_id=consumer.id, action="update",
        changes={name: [before[name], value] for name, value in values.items()},
    )  # fmt: skip
    return consumer
