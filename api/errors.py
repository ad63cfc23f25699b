"""RFC 9457 problem+json for every error the API returns."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

import logs

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRY_WRITE = "Retry with the same Idempotency-Key: the change is then made once, however often it is sent."
logger = logging.getLogger("connectdesk.api")


class Problem(Exception):
    """An error a caller can act on: raised by services, rendered as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type_: str = "about:blank",
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type_
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.extra = extra


class DependencyUnavailable(Problem):
    """A dependency (database, Temporal) is down: 503 with Retry-After, never a 500."""

    def __init__(self, dependency: str, detail: str) -> None:
        super().__init__(
            503,
            detail,
            type_="/problems/dependency-unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            dependency=dependency,
        )


# PostgreSQL's SQLSTATEs that say "not now" rather than "never": the connection was refused, lost or
# is being shut down (class 08, 57P01–57P03), or the transaction lost a deadlock or a serialization
# race (40P01, 40001) and was rolled back whole. Retrying the same request can succeed.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})


def database_transient(exc: BaseException) -> bool:
    """Whether a database error is an outage or a lost race (503: nothing was changed, retry) rather
    than a bug: asyncpg reports a connection lost while being opened, or a deadlock, as a plain
    DBAPIError that SQLAlchemy does not mark as a disconnect."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("08") or state in _TRANSIENT_SQLSTATES):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        if problem.status == 503 and request.method in WRITES and "Idempotency-Key" not in problem.detail:
            body["detail"] = f"{problem.detail} {RETRY_WRITE}"
    body.update(problem.extra)
    if (rid := logs.request_id.get()) is not None:
        body["http_request_id"] = rid
    return JSONResponse(body, status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


def _routes(app: FastAPI) -> Iterator[Any]:
    try:  # FastAPI ≥ 0.16x keeps included routers nested; their routes are reached through contexts
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: app.routes is flat
        yield from app.routes
        return
    yield from iter_route_contexts(app.routes)


def allowed_methods(request: Request) -> list[str]:
    """The methods of the resource this request's path names: those of every route with the path
    template of the first route that matches it (as routing picks it).

    Starlette's 405 names only the methods of the first route whose path matched (``Allow: POST``
    for ``PUT /api/v1/requests``, which also answers GET).
    """
    path = request.url.path
    routes = [r for r in _routes(request.app) if getattr(r, "methods", None) and hasattr(r, "path_regex")]
    template = next((r.path for r in routes if r.path_regex.match(path)), None)
    methods = set().union(*(r.methods for r in routes if r.path == template)) if template else set()
    return [m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE") if m in methods]


def method_not_allowed(request: Request, exc: StarletteHTTPException) -> Problem:
    """405 with an ``Allow`` header listing every method the path answers."""
    headers = dict(exc.headers or {})
    if allowed := allowed_methods(request):
        headers["Allow"] = ", ".join(allowed)
    methods = headers.get("Allow", "")
    return Problem(
        405,
        f"{request.method} is not supported on {request.url.path}"
        + (f"; use {methods}." if methods else "."),
        type_="/problems/method-not-allowed",
        headers=headers,
    )


def install(app: FastAPI) -> None:
    """Route every error through problem+json."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            return problem_response(method_not_allowed(request, exc), request)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(Problem(exc.status_code, detail, headers=dict(exc.headers or {})), request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in err["loc"] if p != "body"), "message": err["msg"]}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            Problem(422, f"Invalid input — {summary}", type_="/problems/validation", errors=errors), request
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc, OperationalError) or exc.connection_invalidated or database_transient(exc):
            return problem_response(
                DependencyUnavailable(
                    "database", "The database is unavailable; nothing was changed. Try again shortly."
                ),
                request,
            )
        raise exc

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        # every connection of the pool is busy (a burst, or a slow database): wait and retry
        return problem_response(
            DependencyUnavailable(
                "database", "The database is busy; nothing was changed. Try again shortly."
            ),
            request,
        )

    @app.exception_handler(OSError)
    async def _os(request: Request, exc: OSError) -> JSONResponse:
        # asyncpg raises plain ConnectionRefusedError/OSError when PostgreSQL is down.
        return problem_response(
            DependencyUnavailable(
                "database", f"A dependency is unreachable ({exc.__class__.__name__}); try again shortly."
            ),
            request,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the caller's doing: still problem+json, with a reference to find it in the log.
        reference = uuid.uuid4().hex[:12]
        logger.error(
            "unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
        )
        return problem_response(
            Problem(
                500,
                f"Something went wrong on our side (reference {reference}). Try again; if it keeps "
                "happening, give the reference to your administrator.",
                type_="/problems/internal",
                reference=reference,
            ),
            request,
        )
