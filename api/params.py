"""Input the database can hold, and types the schema alone would get wrong.

IDs are 32-bit ``INTEGER`` columns on PostgreSQL: an ID outside 1..2^31-1 is refused with a 422
problem before any query runs, never a 500 from the driver; so is a NUL character, which no
PostgreSQL text can hold. Times of day are wall-clock times without an offset, which JSON Schema's
``format: time`` (it requires one) does not describe.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import Request
from pydantic import AfterValidator, Field, WithJsonSchema

from api.errors import Problem

DB_INT_MAX = 2**31 - 1
"""The largest value of a PostgreSQL ``INTEGER`` (every ID column)."""

DbId = Annotated[int, Field(ge=1, le=DB_INT_MAX, description="An ID (1 to 2³¹−1)")]
"""An ID in a request body."""


def _without_offset(value: dt.time) -> dt.time:
    if value.tzinfo is not None:
        raise ValueError("give a wall-clock time without an offset (local time in the utility's time zone)")
    return value


WallClock = Annotated[
    dt.time,
    AfterValidator(_without_offset),
    WithJsonSchema(
        {
            "type": "string",
            "format": "partial-time",
            "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?$",
            "description": "A wall-clock time in the utility's time zone (CONNECTDESK_TIME_ZONE), "
            "`HH:MM` or `HH:MM:SS`, without an offset",
            "examples": ["08:00"],
        }
    ),
]
"""A time of day (a time slot's start or end)."""


NUL_REFUSED = "contains a NUL character (U+0000), which no text column can hold"


def _nul_in(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_nul_in(k) or _nul_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_nul_in(item) for item in value)
    return False


async def refuse_nul_characters(request: Request) -> None:
    """422 for a NUL character anywhere in the path, the query or a JSON or form body.

    PostgreSQL text cannot hold U+0000: let through, it fails the query (a 500) or, in a workflow
    action, an activity that would retry it for ever. An app-wide dependency, run before any handler.
    """
    where = "path" if "\x00" in request.url.path else None
    for name, value in request.query_params.multi_items():
        if where is None and ("\x00" in name or "\x00" in value):
            where = f"query.{name}"
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if where is None and request.method in ("POST", "PUT", "PATCH"):
        if content_type == "application/json" or content_type.endswith("+json"):
            body = await request.body()  # cached: the handler's body parameter reads the same bytes
            if (b"\\u0000" in body or b"\x00" in body) and _nul_in(_json_or_none(body)):
                where = "body"
        elif content_type == "application/x-www-form-urlencoded":
            form = await request.form()  # cached likewise
            if any(_nul_in(name) or _nul_in(value) for name, value in form.multi_items()):
                where = "body"
    if where is not None:
        raise Problem(
            422,
            f"Invalid input — {where}: {NUL_REFUSED}",
            type_="/problems/validation",
            errors=[{"field": where, "message": NUL_REFUSED}],
        )


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:  # not JSON (or not UTF-8): the body parameter reports it
        return None


def is_db_id(text: str) -> bool:
    """Whether ``text`` is an ID the database can hold: ASCII digits only, 1 to 2^31-1."""
    return text.isascii() and text.isdigit() and 1 <= int(text) <= DB_INT_MAX
