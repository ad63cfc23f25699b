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
  by triggers, serve the words of three or more characters; the short words are checked with
  ``LIKE`` on the rows they return.
- Both: a request-ID prefix ("rc-2026-0") is a range of a b-tree index on request_id.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, and_, literal_column, or_, text

from db.models import Consumer, ServiceRequest

TRIGRAM = 3
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


def _matching(
    q: str | None, dialect: str, text_: Any, row_id: Any, fts_table: str
) -> ColumnElement[bool] | None:
    terms = words(q)
    if not terms:
        return None
    digits = digit_run(q)
    if dialect == "sqlite" and digits and all(len(t) >= TRIGRAM for t in terms):
        # one look-up in the trigram table: every word, or else the phone number's digits
        return row_id.in_(_full_text(fts_table, f"({_phrases(terms)}) OR {_phrases([digits])}"))
    every_word = _all_of(terms, dialect, text_, row_id, fts_table)
    if digits is None:
        return every_word
    return or_(every_word, _all_of([digits], dialect, text_, row_id, fts_table, name="digits"))


def _all_of(
    terms: list[str], dialect: str, text_: Any, row_id: Any, fts_table: str, name: str = "q"
) -> ColumnElement[bool]:
    indexed = [t for t in terms if len(t) >= TRIGRAM] if dialect == "sqlite" else []
    conditions = [row_id.in_(_full_text(fts_table, _phrases(indexed), name))] if indexed else []
    conditions += [_like(text_, term) for term in terms if term not in indexed]
    return and_(*conditions)


def consumer_condition(q: str | None, dialect: str) -> ColumnElement[bool] | None:
    """Consumers matching ``q`` (see the module's rule), or None for an empty query."""
    return _matching(q, dialect, Consumer.search_text, Consumer.id, "consumer_search")


# A prefix of a request ID ("rc-", "dc-2026-00…"): "RC-2026-000123" holds it only at its start.
_ID_PREFIX = re.compile(r"^(rc|dc)-[0-9-]*$")


def id_prefix(q: str | None) -> str | None:
    """The request-ID prefix ``q`` is (upper-cased, as IDs are written), or None."""
    terms = words(q)
    return terms[0].upper() if len(terms) == 1 and _ID_PREFIX.match(terms[0]) else None


def request_condition(q: str | None, dialect: str) -> ColumnElement[bool] | None:
    """Requests matching ``q``: by their search text (see the module's rule) or, for an ID prefix,
    by request ID: thousands of IDs share "RC-2026-", and no name or account number holds it."""
    prefix = id_prefix(q)
    if prefix is None:
        return _matching(q, dialect, ServiceRequest.search_text, ServiceRequest.id, "request_search")
    if dialect == "sqlite":  # binary collation: a plain range of the unique index
        return and_(
            ServiceRequest.request_id >= prefix,
            ServiceRequest.request_id < prefix[:-1] + chr(ord(prefix[-1]) + 1),
        )
    return ServiceRequest.request_id.like(f"{prefix}%")  # ix_requests_request_id_pattern
