"""Partial, case-insensitive search for consumers and requests, shaped for each database's index.

The rule, for both: a consumer's search text is
`` first last account-number phone-digits service address meter-number device-number …`` (the
meters serving the consumer now) and a request's is its consumer's followed by `` request-id``,
lower-cased, a space before each word; the database's triggers keep both (migrations
d5e1a8c4b7f2, a9d2f4c6e8b1). Every word of the query (at most five, case ignored) must occur in
that text; a word of fewer than three characters must start one of its words (a trigram index
cannot find it inside one, and a two-letter fragment inside names matches a third of the book
anyway). A query written as a phone number ("(555) 123-4567", "555.123.4567", "123-4567": digits
and ``+()-./`` only, four digits or more) also matches when its digits occur in the text, so any
formatting finds the phone, kept as its digits, and a partial run of four digits or more too.

How each database finds the rows without reading them all:

- PostgreSQL: pg_trgm GIN indexes serve ``text LIKE '%word%'`` (and ``LIKE '% wo%'``): on
  ``consumers.search_text`` (``ix_consumers_search_text``) and on ``requests.search_text``, so
  that a request search is one index scan of the requests rather than the consumers' IDs looked
  up one by one among the requests.
- SQLite: FTS5 tables with the trigram tokenizer (``consumer_search``, ``request_search``), kept
  by triggers, serve the words of three or more characters, and the two-letter ones as the
  trigram of a space and the two letters (a word starting with them); a one-letter word is
  checked with ``LIKE`` on the rows they return. Where the table alone decides, the matches are
  counted from it without reading a row.
- Both: a request-ID prefix ("rc-2026-0") is a range of a b-tree index on request_id.
- Both: a broad search (``BROAD`` matches or more) finds its page by walking the list's sort
  index, testing each row, rather than by reading and sorting every match (``find_page``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Consumer, ServiceRequest

TRIGRAM = 3
WORD_START = 2
"""The shortest word SQLite's trigram table finds at a word's start (its space and two letters)."""
MAX_WORDS = 5
PHONE_DIGITS = 4
"""The fewest digits a query written as a phone number is also searched by."""
_PHONE_LIKE = re.compile(r"^[0-9+()\-./ ]+$")


def words(q: str | None) -> list[str]:
    """The query's words, lower-cased, at most five."""
    return (q or "").lower().split()[:MAX_WORDS]


def digit_run(q: str | None) -> str | None:
    """The digits of a query written as a phone number ("(555) 123-4567" → "5551234567"), when it
    has four or more and is not already one word of digits (searched as itself); else None."""
    written = (q or "").strip()
    if not _PHONE_LIKE.match(written):
        return None
    digits = re.sub(r"[^0-9]", "", written)
    if len(digits) < PHONE_DIGITS or words(q) == [digits]:
        return None
    return digits


def is_selective(q: str | None) -> bool:
    """True when some word is long enough for the trigram index, so few rows match."""
    return any(len(word) >= TRIGRAM for word in words(q))


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(text: Any, term: str) -> ColumnElement[bool]:
    """``term`` inside ``text`` or, shorter than a trigram, at the start of one of its words."""
    pattern = f"% {_escape(term)}%" if len(term) < TRIGRAM else f"%{_escape(term)}%"
    return text.like(pattern, escape="\\")  # type: ignore[no-any-return]


def _indexed(term: str) -> str:
    """What the trigram table is asked for a word: itself, or a two-letter word with the space
    before it (" dr": a word starting "dr"; the text has a space before every word)."""
    return term if len(term) >= TRIGRAM else " " + term


def _phrases(terms: list[str]) -> str:
    """FTS5 query: every term, each a quoted phrase (so no term is read as query syntax)."""
    return " AND ".join('"{}"'.format(term.replace('"', '""')) for term in terms)


def _full_text(table: str, query: str, name: str = "q") -> Any:
    """Row IDs of an FTS5 trigram table matching ``query`` (bound as ``:<table>_<name>``)."""
    return (
        text(f"SELECT rowid FROM {table} WHERE {table} MATCH :{table}_{name}")
        .bindparams(**{f"{table}_{name}": query})
        .columns(literal_column("rowid"))
    )


def _trigram_query(q: str | None, dialect: str) -> str | None:
    """The FTS5 query that alone decides which rows match ``q``, where one does: on SQLite, when
    every word is long enough for the trigram table (with a phone number's digits as an
    alternative); else None (a short word is checked on the rows, and PostgreSQL has no such table)."""
    terms = words(q)
    if dialect != "sqlite" or not terms or any(len(t) < WORD_START for t in terms):
        return None
    digits = digit_run(q)
    every_word = _phrases([_indexed(t) for t in terms])
    return f"({every_word}) OR {_phrases([digits])}" if digits else every_word


def _matching(
    q: str | None, dialect: str, text_: Any, row_id: Any, fts_table: str
) -> ColumnElement[bool] | None:
    terms = words(q)
    if not terms:
        return None
    digits = digit_run(q)
    if digits and (query := _trigram_query(q, dialect)):
        # one look-up in the trigram table: every word, or else the phone number's digits
        return row_id.in_(_full_text(fts_table, query))
    every_word = _all_of(terms, dialect, text_, row_id, fts_table)
    if digits is None:
        return every_word
    return or_(every_word, _all_of([digits], dialect, text_, row_id, fts_table, name="digits"))


def _all_of(
    terms: list[str], dialect: str, text_: Any, row_id: Any, fts_table: str, name: str = "q"
) -> ColumnElement[bool]:
    indexed = [t for t in terms if len(t) >= WORD_START] if dialect == "sqlite" else []
    phrases = _phrases([_indexed(t) for t in indexed])
    conditions = [row_id.in_(_full_text(fts_table, phrases, name))] if indexed else []
    conditions += [_like(text_, term) for term in terms if term not in indexed]
    return and_(*conditions)


def consumer_condition(
    q: str | None, dialect: str, text_: Any = Consumer.search_text, row_id: Any = Consumer.id
) -> ColumnElement[bool] | None:
    """Consumers matching ``q`` (see the module's rule), or None for an empty query; ``text_``
    and ``row_id`` name the columns to test when they come from a subquery of consumers."""
    return _matching(q, dialect, text_, row_id, "consumer_search")


# ---- broad searches: walk the sort index instead of sorting every match ------------------------

BROAD = 3_000
"""As many matches as this, and a search's page is looked for by walking the list's sort index
(reading a few hundred rows) rather than by reading and sorting every match: "road" or "lin"
match 15-20 % of the book, and sorting 20,000 rows to show 20 cost 70 ms. Where counting is
not free (``find_page``), a broad search counts up to this many and says "more than"."""
SPREAD = 3
"""How many times the rows an even spread of matches needs a walk reads before it gives up (the
matches bunched further on: then they are gathered and sorted after all)."""
MARGIN = 100
"""Rows a walk reads beyond that (a short page of sparse matches costs little more)."""
WALK_MAX = 20_000
"""The longest walk (about 25 ms on PostgreSQL); deeper pages sort the matches instead."""


def count_from_index(q: str | None, dialect: str, fts_table: str) -> Any | None:
    """A statement counting the rows matching ``q`` from the trigram table alone (its row IDs,
    never the rows: 2 ms for 15,000 matches against 15 ms through the table), where the trigram
    query alone decides the matches; else None."""
    query = _trigram_query(q, dialect)
    if query is None:
        return None
    return text(f"SELECT count(*) FROM {fts_table} WHERE {fts_table} MATCH :n").bindparams(n=query)


Walk = Callable[[int, bool], Awaitable[list[int] | None]]
"""A list's walk down its sort index for the page: given the matches' count and whether it is
exact, the page's IDs, or None where the walked rows held too few (or the walk would be long)."""


async def find_page(
    session: AsyncSession,
    keys: Select[Any],
    order: Callable[[Any], list[Any]],
    skip: int,
    size: int,
    from_index: Any | None,
    walk: Walk,
) -> tuple[int, bool, list[int]]:
    """How many rows match — ``(n, True)``, or ``(BROAD, False)`` for more than ``BROAD`` — and
    the page's IDs. ``keys`` selects the matching rows' IDs and sort keys, ``order`` orders a
    table of them.

    With ``from_index`` (``count_from_index``: SQLite, where the trigram table alone decides) the
    count comes first, exact and reading no row (2 ms for 15,000 matches); a broad search then
    walks, a narrow one sorts its matches. Else counting every match reads every one (PostgreSQL
    rechecks each row the trigram index names: 20 ms for 21,000), so the walk comes first, as if
    ``BROAD`` matched: where it finds the page (matches spread through the order: "road", "lin")
    they are counted up to ``BROAD + 1``; where not (few, bunched, or a page too deep to walk to)
    every match is sorted and counted in one statement."""
    if from_index is not None:
        matches = await session.scalar(from_index) or 0
        ids = await walk(matches, True) if matches >= BROAD else None
        return matches, True, ids if ids is not None else await _sorted(session, keys, order, skip, size)
    ids = await walk(BROAD, False)
    if ids is not None:
        n = await session.scalar(select(func.count()).select_from(keys.limit(BROAD + 1).subquery())) or 0
        return (BROAD, False, ids) if n > BROAD else (n, True, ids)
    matched = keys.cte("matches").prefix_with("MATERIALIZED")
    rows = (
        await session.execute(
            select(matched.c.id, func.count().over()).order_by(*order(matched)).offset(skip).limit(size)
        )
    ).all()
    if rows:
        return rows[0][1], True, [row[0] for row in rows]
    return await session.scalar(select(func.count()).select_from(keys.subquery())) or 0, True, []


async def _sorted(
    session: AsyncSession, keys: Select[Any], order: Callable[[Any], list[Any]], skip: int, size: int
) -> list[int]:
    """The page's IDs, every match's keys read and the first ``skip + size`` kept in order."""
    matched = keys.cte("matches").prefix_with("MATERIALIZED")
    return list(
        await session.scalars(select(matched.c.id).order_by(*order(matched)).offset(skip).limit(size))
    )


def reads_text(q: str | None, dialect: str) -> bool:
    """Whether testing a row for ``q`` reads its search text (else only its ID, in the trigram
    table's answer): a walk then reads the sort index alone."""
    return _trigram_query(q, dialect) is None


def walk_length(through: int, matches: int, rows: int) -> int | None:
    """Rows of a sort index to read to find the first ``through`` of ``matches`` rows among
    ``rows``: ``SPREAD`` times what an even spread needs, and ``MARGIN`` more; None past
    ``WALK_MAX`` (a deep page: sorting the matches costs less)."""
    length = SPREAD * -(-through * max(rows, 1) // max(matches, 1)) + MARGIN
    return length if length <= WALK_MAX else None


# A prefix of a request ID ("rc-", "dc-2026-00…"): "RC-2026-000123" holds it only at its start.
_ID_PREFIX = re.compile(r"^(rc|dc)-[0-9-]*$")


def id_prefix(q: str | None) -> str | None:
    """The request-ID prefix ``q`` is (upper-cased, as IDs are written), or None."""
    terms = words(q)
    return terms[0].upper() if len(terms) == 1 and _ID_PREFIX.match(terms[0]) else None


def request_condition(
    q: str | None, dialect: str, text_: Any = ServiceRequest.search_text, row_id: Any = ServiceRequest.id
) -> ColumnElement[bool] | None:
    """Requests matching ``q``: by their search text (see the module's rule; ``text_`` and
    ``row_id`` as for consumers) or, for an ID prefix, by request ID: thousands of IDs share
    "RC-2026-", and no name or account number holds it."""
    prefix = id_prefix(q)
    if prefix is None:
        return _matching(q, dialect, text_, row_id, "request_search")
    if dialect == "sqlite":  # binary collation: a plain range of the unique index
        return and_(
            ServiceRequest.request_id >= prefix,
            ServiceRequest.request_id < prefix[:-1] + chr(ord(prefix[-1]) + 1),
        )
    return ServiceRequest.request_id.like(f"{prefix}%")  # ix_requests_request_id_pattern
