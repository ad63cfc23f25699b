"""Partial, case-insensitive search for consumers and requests, shaped for each database's index.

The rule, for both: a consumer's search text is `` first last account-number`` and a request's is
its consumer's followed by `` request-id``, lower-cased, a space before each word. Every word of
the query (at most five, case ignored) must occur in that text; a word of fewer than three
characters must start one of its words (a trigram index cannot find it inside one, and a
two-letter fragment inside names matches a third of the book anyway).

How each database finds the rows without reading them all:

- PostgreSQL: pg_trgm GIN indexes serve ``text LIKE '%word%'`` (and ``LIKE '% wo%'``): on the
  consumer expression (``ix_consumers_search_text``) and on ``requests.search_text``, a column
  the database's triggers keep (migration d5e1a8c4b7f2), so that a request search is one index
  scan of the requests rather than the consumers' IDs looked up one by one among the requests.
- SQLite: FTS5 tables with the trigram tokenizer (``consumer_search``, ``request_search``), kept
  by triggers, serve the words of three or more characters; the short words are checked with
  ``LIKE`` on the rows they return.
- Both: a request-ID prefix ("rc-2026-0") is a range of a b-tree index on request_id.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, and_, literal_column, text

from db.models import Consumer, ServiceRequest

TRIGRAM = 3
MAX_WORDS = 5

# The expression of ix_consumers_search_text (migration d5e1a8c4b7f2), spelled the same way so
# that PostgreSQL matches it to the index; a literal, as a bound ' ' would not match.
CONSUMER_TEXT = literal_column(
    "(' ' || lower(consumers.first_name || ' ' || consumers.last_name || ' ' || consumers.account_number))"
)


def words(q: str | None) -> list[str]:
    """The query's words, lower-cased, at most five."""
    return (q or "").lower().split()[:MAX_WORDS]


def is_selective(q: str | None) -> bool:
    """True when some word is long enough for the trigram index, so few rows match."""
    return any(len(word) >= TRIGRAM for word in words(q))


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(text: Any, term: str) -> ColumnElement[bool]:
    """``term`` inside ``text`` or, shorter than a trigram, at the start of one of its words."""
    pattern = f"% {_escape(term)}%" if len(term) < TRIGRAM else f"%{_escape(term)}%"
    return text.like(pattern, escape="\\")  # type: ignore[no-any-return]


def _full_text(table: str, terms: list[str]) -> Any:
    """Row IDs of an FTS5 trigram table holding every term (each a quoted phrase, so no term is
    read as query syntax)."""
    query = " AND ".join('"{}"'.format(term.replace('"', '""')) for term in terms)
    return (
        text(f"SELECT rowid FROM {table} WHERE {table} MATCH :{table}_q")
        .bindparams(**{f"{table}_q": query})
        .columns(literal_column("rowid"))
    )


def _matching(
    q: str | None, dialect: str, text_: Any, row_id: Any, fts_table: str
) -> ColumnElement[bool] | None:
    terms = words(q)
    if not terms:
        return None
    indexed = [t for t in terms if len(t) >= TRIGRAM] if dialect == "sqlite" else []
    conditions = [row_id.in_(_full_text(fts_table, indexed))] if indexed else []
    conditions += [_like(text_, term) for term in terms if term not in indexed]
    return and_(*conditions)


def consumer_condition(q: str | None, dialect: str) -> ColumnElement[bool] | None:
    """Consumers matching ``q`` (see the module's rule), or None for an empty query."""
    return _matching(q, dialect, CONSUMER_TEXT, Consumer.id, "consumer_search")


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
