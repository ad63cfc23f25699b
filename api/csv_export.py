"""CSV exports of a list, shared by every export endpoint: streamed, injection-safe, named after
their filters.

A list is read in keyset batches (``EXPORT_BATCH`` rows a query, each batch after the last key
the previous one ended on, in a session of its own), turned into CSV lines batch by batch and
streamed: memory stays constant however many rows match, and no transaction stays open while a
slow client reads. A cell a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is written with a leading ``'`` (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from fastapi.responses import StreamingResponse

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
EXPORT_BATCH = 1_000
"""Rows read per query while exporting."""
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE = re.compile(r"[^a-z0-9+]+")
MAX_NAME = 150


def cell(value: Any) -> str:
    """One CSV cell: '' for None, ISO 8601 for dates and times, enum values, and a leading ``'``
    for text a spreadsheet would read as a formula."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date | Decimal | int | float | bool):
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def lines(header: Sequence[str], batches: AsyncIterator[Iterable[Sequence[Any]]]) -> AsyncIterator[str]:
    """The CSV text: the header, then each batch's rows as one chunk."""

    async def chunks() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        yield buffer.getvalue()
        async for batch in batches:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([cell(value) for value in row] for row in batch)
            yield buffer.getvalue()

    return chunks()


def _part(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "+".join(_part(v) for v in value)
    if isinstance(value, Enum):
        value = value.value
    return _UNSAFE.sub("-", str(value).lower()).strip("-")


def file_name(kind: str, filters: dict[str, Any], today: date | None = None) -> str:
    """``requests_status-pending_priority-high_2026-12-01.csv``: the filters given (in order, empty
    ones left out), each value lower-cased with anything but letters, digits and '+' made '-',
    cut to a sane length, then today's date."""
    parts = [kind]
    for key, value in filters.items():
        if value is None or value == "" or value == [] or value is False:
            continue
        shown = _part(value) if value is not True else ""
        parts.append(f"{_part(key)}-{shown}" if shown else _part(key))
    stem = "_".join(p for p in parts if p)[:MAX_NAME].rstrip("-_")
    return f"{stem}_{(today or datetime.now(UTC).date()).isoformat()}.csv"


def csv_response(
    name: str, header: Sequence[str], batches: AsyncIterator[Iterable[Sequence[Any]]]
) -> StreamingResponse:
    """A streamed CSV download named ``name`` (already sanitized by :func:`file_name`)."""
    return StreamingResponse(
        lines(header, batches),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The matching rows as CSV (RFC 4180, UTF-8, a header line), streamed; named in "
        "`Content-Disposition` after the filters and today's date. Cells that a spreadsheet would run "
        "as a formula start with `'`.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
"""The ``responses=`` entry documenting an export's 200 in the OpenAPI document."""
