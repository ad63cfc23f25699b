"""Bulk work: one action on many requests — each through its own workflow update, as if its
single-request route had been called, with a per-request outcome.

Each request goes through ``actions.act`` (the role check, then the workflow's validator) in a
session of its own, a few at a time (``CONCURRENCY``). A refusal or an outage of one request is
that request's outcome, never the call's: the others go on. With an Idempotency-Key, each request's
update ID is the caller's key and the request ID (``request_key``), so a retried bulk call, or the
same selection sent again in smaller parts, acts at most once per request and answers what the
first attempt did.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import DependencyUnavailable, Problem
from api.requests import actions, queries
from api.requests.schemas import BULK_MAX, BulkOutcome, BulkStatus, RequestFilters
from api.temporal import TemporalGateway
from db.models import User
from domain.request.rules import Action
from settings import Settings

log = logging.getLogger(__name__)
DEPENDENCY = "/problems/dependency-unavailable"

CONCURRENCY = 8
"""Requests acted on at once: each is one update of its own workflow."""


def request_key(idempotency_key: str | None, request_id: str) -> str | None:
    """The Idempotency-Key of one request's action within a bulk call under ``idempotency_key``."""
    return f"{idempotency_key}/{request_id}" if idempotency_key else None


async def selected(
    *, session: AsyncSession, request_ids: Sequence[str] | None, filters: RequestFilters | None
) -> list[str]:
    """The requests a bulk call names: its IDs (repeats dropped, in order) or what its filters find
    (newest first). Refuses filters that find more than ``BULK_MAX`` (422, with how many)."""
    if request_ids is not None:
        return list(dict.fromkeys(request_ids))
    assert filters is not None
    ids, total = await queries.matching_ids(
        session=session, limit=BULK_MAX + 1, q=filters.q, status=filters.status, request_type=filters.type,
        priority=filters.priority, sla_status=filters.sla_status, created_from=filters.created_from,
        created_to=filters.created_to, assignee_id=filters.assignee_id, history=filters.history,
    )  # fmt: skip
    if total > BULK_MAX:
        raise Problem(
            422, f"{total} requests match these filters; a bulk action takes at most {BULK_MAX}. Narrow the "
            "filters, or act on them in parts.", type_="/problems/validation",
            errors=[{"field": "filters", "message": f"{total} match; at most {BULK_MAX}"}],
        )  # fmt: skip
    return ids


async def check(*, session: AsyncSession, action: Action, body: BaseModel | None) -> None:
    """Refuse once what would be refused for every request alike: an unknown or inactive assignee (422)."""
    if action is Action.ASSIGN and body is not None:
        await actions.assignee_name(session, body.model_dump()["user_id"])


async def act_on_each(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    temporal: TemporalGateway,
    settings: Settings,
    user: User,
    action: Action,
    body: BaseModel | None,
    request_ids: Sequence[str],
    idempotency_key: str | None,
    concurrency: int = CONCURRENCY,
) -> list[BulkOutcome]:
    """Run ``action`` on each request, ``concurrency`` at a time; each one's outcome, in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(request_id: str) -> BulkOutcome:
        async with gate, sessionmaker() as session:
            try:
                message = await actions.act(
                    session=session, temporal=temporal, settings=settings, user=user, request_id=request_id,
                    action=action, body=body, idempotency_key=request_key(idempotency_key, request_id),
                )  # fmt: skip
            except DependencyUnavailable as problem:  # Temporal down or slow: this one may be retried
                return _outcome(request_id, BulkStatus.FAILED, problem.detail, problem)
            except Problem as problem:
                return _outcome(request_id, BulkStatus.REFUSED, problem.detail, problem)
            except DBAPIError:
                log.warning(
                    "bulk %s of %s: the database did not answer", action.value, request_id, exc_info=True
                )
                return _failed(request_id, "The database is unavailable; try again shortly.", DEPENDENCY)
            except Exception:  # one request's bug must not lose the outcomes of the others, already done
                log.exception("bulk %s of %s failed", action.value, request_id)
                return _failed(
                    request_id, "Something went wrong with this request; try again, or act on it alone."
                )
            return BulkOutcome(request_id=request_id, status=BulkStatus.DONE, message=message)

    return list(await asyncio.gather(*(one(request_id) for request_id in request_ids)))


def _outcome(request_id: str, status: BulkStatus, message: str, problem: Problem) -> BulkOutcome:
    return BulkOutcome(request_id=request_id, status=status, message=message, problem=problem.type)


def _failed(request_id: str, message: str, problem: str | None = None) -> BulkOutcome:
    return BulkOutcome(request_id=request_id, status=BulkStatus.FAILED, message=message, problem=problem)
