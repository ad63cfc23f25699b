"""A consumer's complaints: list, open, change, resolve or reopen. Every write is idempotent."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.auth.deps import CsrUser
from api.complaints import schemas, service
from api.consumers import profile
from api.consumers.deps import CurrentConsumer
from api.deps import SessionDep, SettingsDep
from api.idempotency import IdempotencyKey, IdempotentWrite
from api.openapi import problem_responses
from api.params import DB_INT_MAX

router = APIRouter(prefix="/api/v1/consumers", tags=["complaints"])
ComplaintId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
_REASONS = {401: "Not signed in", 404: "No such consumer or complaint", 422: "Invalid input"}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(_REASONS, *codes)


@router.get("/{id_or_account_number}/complaints", responses=_problems(404))
async def list_complaints(session: SessionDep, consumer: CurrentConsumer) -> list[schemas.ComplaintRead]:
    """The consumer's complaints, newest first."""
    return await service.list_complaints(session=session, consumer=consumer)


@router.post("/{id_or_account_number}/complaints", status_code=201, responses=_problems(404, 422))
async def open_complaint(
    session: SessionDep,
    settings: SettingsDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    body: schemas.ComplaintCreate,
    key: IdempotencyKey = None,
) -> schemas.ComplaintRead:
    """Open a complaint (optionally about one of the consumer's requests); it counts against the
    health score until it is resolved."""
    once = IdempotentWrite.of(key, user_id=user.id, operation=f"complaints.open:{consumer.id}", payload=body)
    await once.check(session)
    result = await service.open_complaint(session=session, consumer=consumer, body=body, by=user.username)
    await profile.refresh_vip(session=session, consumer=consumer, rule=settings.vip_rule)  # health score
    await once.commit(session, result, status_code=201)
    return result


@router.patch("/{id_or_account_number}/complaints/{complaint_id}", responses=_problems(404, 422))
async def update_complaint(
    session: SessionDep,
    settings: SettingsDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    complaint_id: ComplaintId,
    body: schemas.ComplaintUpdate,
    key: IdempotencyKey = None,
) -> schemas.ComplaintRead:
    """Change a complaint; `status: Resolved` with `resolution_notes` resolves it."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"complaints.update:{complaint_id}", payload=body
    )
    await once.check(session)
    result = await service.update_complaint(
        session=session, consumer=consumer, complaint_id=complaint_id, changes=body, by=user.username
    )
    await profile.refresh_vip(session=session, consumer=consumer, rule=settings.vip_rule)  # health score
    await once.commit(session, result)
    return result
