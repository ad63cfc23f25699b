"""What operators see of the API: Prometheus ``/metrics`` and a request ID on every request.

``/metrics``: the HTTP latency histogram and request counter by route template (``handler``),
method and status, from prometheus-fastapi-instrumentator. With several uvicorn workers, set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by them and the endpoint aggregates every
process. Labels hold route templates, never IDs or names.

The request ID: taken from ``X-Request-ID`` when the caller sends a sane one (a proxy's), else
generated; echoed in the response, put on every log line written while serving the request, on
problem+json bodies (``request_id``) and on the one access line the API logs per request.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import logs
from db import audit

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access = logging.getLogger("connectdesk.http")


def _user() -> dict[str, str | None]:
    return {"user": audit.actor.get()}


class RequestContext:
    """Pure ASGI middleware: the request ID in, on the logs, and out; one access line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(HEADER.lower().encode(), b"").decode("latin-1")
        rid = sent if _SANE.match(sent) else uuid.uuid4().hex
        logs.request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER.lower().encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or scope["path"]
            if not path.startswith("/static/") and path != "/metrics":
                elapsed = (time.perf_counter() - started) * 1000
                access.info("%s %s %s %.1f ms", scope["method"], path, status, elapsed)


def install(app: FastAPI) -> None:
    """Serve ``/metrics`` and put the request ID on requests, responses and log lines."""
    logs.add_context(_user)
    Instrumentator(
        should_group_status_codes=False,
        excluded_handlers=["/metrics", "/static/.*"],
        registry=CollectorRegistry(),  # the app's own: a second app in the process (tests) counts apart
    ).instrument(app).expose(app, endpoint="/metrics", include_in_schema=False)
    app.add_middleware(RequestContext)
