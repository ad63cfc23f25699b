"""Live push: "request X changed" to every open page, by server-sent events (``GET /api/v1/events``).

Every change to a request — a CSR's action, a timer's escalation, a payment's cancellation — is
projected to the database as a timeline event (``request_events``), whichever process wrote it. The
feed turns those rows into notices:

- PostgreSQL: a trigger on ``request_events`` calls ``pg_notify('connectdesk_events', request_id)``
  in the writing transaction (migration e7b1c5d9f3a6), and each API process ``LISTEN``s on one
  connection of its own, so a change made by a worker reaches every API process as it commits.
- SQLite (one machine, the dev stack): no NOTIFY; each API process reads the rows added since the
  last it saw, every ``TAIL_INTERVAL`` (one primary-key range query per process, not per browser).

An API process feeds only while someone is listening. Each browser tab holds one stream; bursts
are coalesced (``COALESCE``) into one ``changed`` event (the IDs as data) plus one
``changed-<request ID>`` per request, which the pages' htmx triggers (``sse:changed``,
``sse:changed-RC-…``) use to fetch their fresh parts. A keep-alive comment every ``KEEPALIVE`` and
an end after ``MAX_STREAM`` (the browser reconnects by itself) keep dead connections from piling up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.deps import CsrUser
from db.models import RequestEvent

log = logging.getLogger(__name__)

CHANNEL = "connectdesk_events"
TAIL_INTERVAL = 0.25  # seconds between SQLite reads
COALESCE = 0.1  # seconds to gather a burst into one event
KEEPALIVE = 15.0  # seconds between keep-alive comments
MAX_STREAM = timedelta(minutes=10)  # then the browser reconnects (EventSource retries by itself)
RECONNECT = 2.0  # seconds before the PostgreSQL listener connects again
QUEUE = 1000  # notices held for a slow browser; past that it misses some and refetches on the next

router = APIRouter(prefix="/api/v1", tags=["events"])


class EventHub:
    """The process's subscribers and the one feed that fills their queues."""

    def __init__(self, database_url: str, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.database_url = database_url
        self.sessionmaker = sessionmaker
        self._queues: set[asyncio.Queue[str]] = set()
        self._feed: asyncio.Task[None] | None = None

    @property
    def listening(self) -> int:
        return len(self._queues)

    def publish(self, request_id: str) -> None:
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(request_id)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE)
        self._queues.add(queue)
        if self._feed is None or self._feed.done():
            self._feed = asyncio.create_task(self._run(), name="connectdesk-events-feed")
        try:
            yield queue
        finally:
            self._queues.discard(queue)
            if not self._queues and self._feed is not None:
                self._feed.cancel()
                self._feed = None

    async def close(self) -> None:
        if self._feed is not None:
            self._feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed

    async def _run(self) -> None:
        postgres = self.database_url.startswith("postgresql")
        while True:
            try:
                await (self._listen() if postgres else self._tail())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lost connection or a database outage: feed again shortly
                log.warning("live events feed interrupted: %s", exc)
            await asyncio.sleep(RECONNECT)

    async def _listen(self) -> None:
        dsn = self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        connection = await asyncpg.connect(dsn)
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(CHANNEL, lambda _c, _pid, _channel, payload: self.publish(payload))
            await lost.wait()
        finally:
            await connection.close()

    async def _tail(self) -> None:
        async with self.sessionmaker() as session:
            last = await session.scalar(select(func.max(RequestEvent.id))) or 0
        while True:
            await asyncio.sleep(TAIL_INTERVAL)
            async with self.sessionmaker() as session:
                rows = (
                    await session.execute(
                        select(RequestEvent.id, RequestEvent.request_id)
                        .where(RequestEvent.id > last)
                        .order_by(RequestEvent.id)
                    )
                ).all()
            for row_id, request_id in rows:
                last = row_id
                self.publish(request_id)


def _event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


async def stream(request: Request, hub: EventHub) -> AsyncIterator[str]:
    """The SSE body: coalesced notices, keep-alives, and an end after MAX_STREAM."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + MAX_STREAM.total_seconds()
    async with hub.subscribe() as queue:
        yield "retry: 3000\n\n"
        while loop.time() < ends:
            try:
                first = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            await asyncio.sleep(COALESCE)
            changed = {first}
            while not queue.empty():
                changed.add(queue.get_nowait())
            ordered = sorted(changed)
            yield _event("changed", json.dumps(ordered))
            for request_id in ordered:
                yield _event(f"changed-{request_id}", request_id)


@router.get(
    "/events",
    summary="Live changes to requests (server-sent events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "A stream of `changed` events (data: the changed request IDs as a JSON list) and "
            "one `changed-<request ID>` event per request, after each change is committed; a keep-alive "
            "comment every 15 s; the stream ends after 10 minutes (EventSource reconnects).",
        }
    },
)
async def events(request: Request, _user: CsrUser) -> StreamingResponse:
    """Server-sent events for the pages that update live (dashboard, lists, escalation queue, a
    request's page); any signed-in role. Only notices that something changed: the page then reads
    what it may see through the usual endpoints."""
    hub: EventHub = request.app.state.events
    return StreamingResponse(
        stream(request, hub),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
