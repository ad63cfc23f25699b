"""Partial, case-insensitive search for consumers and requests, shaped for each database's index.

The rule, for both: every word of the query must occur in the consumer's first name, last name or
account number (or, for a one-word query, in the request ID); case is ignored; a word of fewer
than three characters must start the field (a trigram index cannot find it inside one, and a
two-letter fragment inside names matches a third of the book anyway). At most five words.

How each database finds the rows without reading them all:

- PostgreSQL: pg_trgm GIN indexes on ``lower(first_name)``, ``lower(last_name)``,
  ``lower(account_number)`` and ``lower(request_id)`` serve ``lower(col) LIKE '%word%'``. Request
  search puts the matching consumer IDs in an array (``consumer_id = ANY(ARRAY(...))``) so that
  the planner ORs two bitmap index scans instead of filtering every request.
- SQLite: FTS5 tables with the trigram tokenizer (``consumer_search``, ``request_search``), kept
  by triggers, serve the words of three or more characters; the short words are checked with
  ``LIKE`` on the rows they return (SQLite's ``LIKE`` already ignores ASCII case).
- Both: a request-ID prefix ("rc-2026-0") is a range of a b-tree index on request_id.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, any_, func, literal_column, or_, select, text

from db.models import Consumer, ServiceRequest

TRIGRAM = 3
MAX_WORDS = 5
CONSUMER_FIELDS = (Consumer.first_name, Consumer.last_name, Consumer.account_number)


def words(q: str | None) -> list[str]:
    """The query's words, lower-cased, at most five."""
    return (q or "").lower().split()[:MAX_WORDS]


def is_selective(q: str | None) -> bool:
    """True when some word is long enough for the trigram index, so few rows match."""
    return any(len(word) >= TRIGRAM for word in words(q))


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _pattern(term: str) -> str:
    return f"{_escape(term)}%" if len(term) < TRIGRAM else f"%{_escape(term)}%"


def _like(column: Any, term: str, dialect: str) -> ColumnElement[bool]:
    field = column if dialect == "sqlite" else func.lower(column)
    return field.like(_pattern(term), escape="\\")  # type: ignore[no-any-return]


def _full_text(table: str, terms: list[str]) -> Any:
    """Row IDs of an FTS5 trigram table holding every term (each a quoted phrase, so no term is
    read as query syntax)."""
    query = " AND ".join('"{}"'.format(term.replace('"', '""')) for term in terms)
    return (
        text(f"SELECT rowid FROM {table} WHERE {table} MATCH :{table}_q")
        .bindparams(**{f"{table}_q": query})
        .columns(literal_column("rowid"))
    )


def consumer_condition(q: str | None, dialect: str) -> ColumnElement[bool] | None:
    """Consumers matching ``q`` (see the module's rule), or None for an empty query."""
    terms = words(q)
    if not terms:
        return None
    indexed = [t for t in terms if len(t) >= TRIGRAM] if dialect == "sqlite" else []
    conditions: list[ColumnElement[bool]] = (
        [Consumer.id.in_(_full_text("consumer_search", indexed))] if indexed else []
    )
    conditions += [
        or_(*(_like(field, term, dialect) for field in CONSUMER_FIELDS))
        for term in terms
        if term not in indexed
    ]
    return and_(*conditions)


def _matching_consumer_ids(q: str, dialect: str) -> Select[Any]:
    condition = consumer_condition(q, dialect)
    return select(Consumer.id).where(condition if condition is not None else False)


# A prefix of a request ID ("rc-", "dc-2026-00…"): "RC-2026-000123" holds it only at its start.
_ID_PREFIX = re.compile(r"^(rc|dc)-[0-9-]*$")


def id_prefix(q: str | None) -> str | None:
    """The request-ID prefix ``q`` is (upper-cased, as IDs are written), or None."""
    terms = words(q)
    return terms[0].upper() if len(terms) == 1 and _ID_PREFIX.match(terms[0]) else None


def request_condition(q: str | None, dialect: str) -> ColumnElement[bool] | None:
    """Requests whose consumer matches ``q``, or (a one-word ``q``) whose request ID contains it.

    An ID prefix is a range of the request-ID index (no name or account number holds "RC-2026-"):
    thousands of IDs share it, and trigrams would have to intersect all of them."""
    terms = words(q)
    if not terms:
        return None
    prefix = id_prefix(q)
    if prefix is not None:
        if dialect == "sqlite":  # binary collation: a plain range of the unique index
            return and_(
                ServiceRequest.request_id >= prefix,
                ServiceRequest.request_id < prefix[:-1] + chr(ord(prefix[-1]) + 1),
            )
        return ServiceRequest.request_id.like(f"{prefix}%")  # ix_requests_request_id_pattern
    consumers = _matching_consumer_ids(" ".join(terms), dialect)
    by_consumer = (
        ServiceRequest.consumer_id == any_(func.array(consumers.scalar_subquery()))
        if dialect == "postgresql"
        else ServiceRequest.consumer_id.in_(consumers)
    )
    if len(terms) > 1:
        return by_consumer
    (term,) = terms
    if dialect == "sqlite" and len(term) >= TRIGRAM:
        by_id: ColumnElement[bool] = ServiceRequest.id.in_(_full_text("request_search", [term]))
    else:
        by_id = _like(ServiceRequest.request_id, term, dialect)
    return or_(by_id, by_consumer)
