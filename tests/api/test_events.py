"""Live push (issue 17, point 5): a timeline row committed by any process reaches the API process's
subscribers — by LISTEN/NOTIFY on PostgreSQL (a trigger on request_events), by reading the new rows
on SQLite — and the SSE stream coalesces a burst into one `changed` event plus one per request."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from api.events import EventHub, stream
from db.models import RequestEvent
from tests import factories


async def _timeline_row(sessionmaker: Any) -> str:
    """A request and one timeline row for it, committed in a session of its own (as a worker would)."""
    async with sessionmaker() as session:
        consumer = await factories.consumer(session)
        row = await factories.request_row(session, consumer.id)
        session.add(
            RequestEvent(
                request_id=row.request_id, event_key=f"{row.request_id}:0001:created",
                occurred_at=datetime.now(UTC), actor="system", kind="created", detail="Created.",
            )
        )  # fmt: skip
        await session.commit()
        return row.request_id


async def test_a_committed_timeline_row_reaches_every_subscriber(db_url: str, sessionmaker: Any) -> None:
    hub = EventHub(db_url, sessionmaker)
    try:
        async with hub.subscribe() as first, hub.subscribe() as second:
            assert hub.listening == 2
            await asyncio.sleep(0.5)  # the feed is listening (or has its starting point)

            request_id = await _timeline_row(sessionmaker)

            assert await asyncio.wait_for(first.get(), timeout=2) == request_id
            assert await asyncio.wait_for(second.get(), timeout=2) == request_id
        assert hub.listening == 0
    finally:
        await hub.close()


class _Browser:
    """The part of a Starlette request the stream asks: is the browser still there?"""

    async def is_disconnected(self) -> bool:
        return False


async def test_the_stream_coalesces_a_burst(db_url: str, sessionmaker: Any) -> None:
    hub = EventHub(db_url, sessionmaker)
    body = stream(_Browser(), hub)  # type: ignore[arg-type]
    try:
        assert await anext(body) == "retry: 3000\n\n"
        reading = asyncio.ensure_future(anext(body))
        await asyncio.sleep(0)
        for request_id in ("RC-2026-000002", "RC-2026-000001", "RC-2026-000002"):
            hub.publish(request_id)

        changed = await asyncio.wait_for(reading, timeout=2)
        assert changed.startswith("event: changed\n")
        assert json.loads(changed.split("data: ", 1)[1]) == ["RC-2026-000001", "RC-2026-000002"]
        assert await anext(body) == "event: changed-RC-2026-000001\ndata: RC-2026-000001\n\n"
        assert await anext(body) == "event: changed-RC-2026-000002\ndata: RC-2026-000002\n\n"
    finally:
        await body.aclose()
        await hub.close()
    assert hub.listening == 0


async def test_the_stream_needs_a_sign_in(api_client_for: Any, db_url: str) -> None:
    async with api_client_for(database_url=db_url) as client:
        anonymous = await client.get("/api/v1/events")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
