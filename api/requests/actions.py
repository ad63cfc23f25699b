"""The actions on a request: who may take which, and each one run as an Update of the request's
workflow (which decides whether the request's state allows it)."""

from __future__ import annotations

import re

from pydantic import BaseModel
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from api import idempotency
from api.errors import Problem
from api.temporal import TemporalGateway, translated
from db.models import ServiceRequest, User
from domain.request import rules
from domain.users import Role
from settings import Settings
from workflows.actions import ACTIONS, ActedBy, ActionSpec
from workflows.request import RequestWorkflow
from workflows.schemas import Outcome

SUPERVISOR_ACTIONS = {rules.Action.SET_PRIORITY, rules.Action.ASSIGN, rules.Action.WAIVE_FEE}


def may(user: User, action: rules.Action, row: ServiceRequest) -> bool:
    """Whether ``user``'s role allows ``action`` on this request (the workflow decides if the state does)."""
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return True
    if action in SUPERVISOR_ACTIONS:
        return False
    if action is rules.Action.CLOSE:
        return row.assigned_to in (None, user.id) or row.created_by == user.id
    return True


_ROW = select(ServiceRequest).where(ServiceRequest.request_id == bindparam("request_id"))  # built once


async def get_row(session: AsyncSession, request_id: str) -> ServiceRequest:
    row = await session.scalar(_ROW, {"request_id": request_id})
    if row is None:
        raise Problem(404, f"No request {request_id}.", type_="/problems/not-found")
    return row


async def act(
    *,
    session: AsyncSession,
    temporal: TemporalGateway,
    settings: Settings,
    user: User,
    request_id: str,
    action: rules.Action,
    body: BaseModel | None,
    idempotency_key: str | None = None,
) -> str:
    """Run one action (its ``body`` as ``workflows.actions`` declares it, None for an action with
    none) as a workflow Update and return its message once its projection is written.

    With an ``idempotency_key`` the update's ID is the caller's key for this action: Temporal runs
    it once and answers every retry with the first outcome (``api.idempotency``).

    Refuses: an unknown assignee (422), unknown request (404), the caller's role (403), a wrong
    state or invalid data (409 with the workflow's reason, 422 for data), the key already used with
    a different body (422), Temporal down or slow (503).
    """
    spec = ACTIONS[action]
    message = await _message(session, spec, body, user)
    row = await get_row(session, request_id)
    if not may(user, action, row):
        raise Problem(
            403,
            f"Your role ({user.role.value}) may not {action.value.replace('_', ' ')} this request.",
            type_="/problems/forbidden",
        )
    client = await temporal.client()
    status = row.status
    session.expunge(row)  # the caller re-reads it after the update; don't serve this copy
    await session.commit()  # and end this read snapshot, so that re-read sees the update's write
    handle = client.get_workflow_handle_for(RequestWorkflow.run, settings.workflow_id(request_id))
    sent = idempotency.digest(message.model_dump(exclude={"actor", "digest"})) if idempotency_key else None
    with translated(request_id, finished=status, field_errors=_field_errors):
        outcome = await handle.execute_update(
            spec.name.value, message.model_copy(update={"digest": sent}), result_type=Outcome,
            rpc_timeout=temporal.rpc_timeout,
            id=idempotency.update_id(action.value, user.id, idempotency_key) if idempotency_key else None,
        )  # fmt: skip
    if sent is not None and outcome.digest not in (None, sent):
        raise idempotency.key_reused(
            f"This Idempotency-Key was already used to {action.value.replace('_', ' ')} {request_id} with "
            "a different body; send a new key for a new action."
        )
    return outcome.message


async def _message(session: AsyncSession, spec: ActionSpec, body: BaseModel | None, user: User) -> ActedBy:
    """The workflow's message: the body, signed by ``user`` (and an assignee's name, which the body
    gives by ID only)."""
    fields = body.model_dump() if body is not None else {}
    if spec.name is rules.Action.ASSIGN:
        fields["user_name"] = await assignee_name(session, fields["user_id"])
    return spec.message.model_validate({**fields, "actor": user.username})


async def assignee_name(session: AsyncSession, user_id: int) -> str:
    """The username of the active user ``user_id``; 422 otherwise."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise Problem(
            422, f"No active user with ID {user_id} to assign to.", type_="/problems/validation",
            errors=[{"field": "user_id", "message": "unknown or inactive user"}],
        )  # fmt: skip
    return user.username


def _field_errors(cause: BaseException | None) -> list[dict[str, str]]:
    """A data refusal's problems as the API's field errors ('meters.0.reading', like FastAPI's own
    422s), or [] when the refusal is about the request's state rather than the data sent."""
    details = cause.details if isinstance(cause, ApplicationError) else ()
    problems = details[0].get("problems", []) if details and isinstance(details[0], dict) else []
    return [
        {"field": re.sub(r"\[(\d+)\]", r".\1", problem["field"]), "message": problem["message"]}
        for problem in problems
        if problem.get("field")
    ]


async def assignable_users(*, session: AsyncSession) -> list[User]:
    """Who a supervisor may hand a request to: the active CSRs and supervisors, by name."""
    query = (
        select(User)
        .where(User.is_active, User.role.in_((Role.CSR, Role.SUPERVISOR)))
        .order_by(User.full_name, User.id)
    )
    return list((await session.scalars(query)).all())
