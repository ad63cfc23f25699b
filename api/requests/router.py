"""The Requests module's JSON API: thin handlers over api.requests.create, .actions and .queries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.deps import CsrUser, SupervisorUser
from api.clock import end_of_local_day
from api.csv_export import CSV_RESPONSE, csv_response, file_name
from api.deps import MinimalDep, SessionDep, SettingsDep, TemporalDep
from api.errors import Problem
from api.idempotency import IdempotencyKey
from api.openapi import problem_responses
from api.pagination import Page, PageNumber, PageSize
from api.params import DB_INT_MAX
from api.requests import actions, bulk, queries, schemas
from api.requests.create import create_request
from api.temporal import TemporalGateway
from db.models import User
from domain.request.rules import Action
from domain.request.types import Priority, RequestStatus, RequestType, SlaState
from domain.users import Role
from settings import Settings
from workflows.actions import ACTIONS, ActionSpec

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])

REFUSALS = {
    403: {"description": "Your role may not do this"},
    404: {"description": "No such request"},
    409: {"description": "Refused by the workflow: wrong status or invalid data; `detail` says why"},
    503: {"description": "Temporal or the database is unavailable; retry after `Retry-After` seconds"},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a reconnection or disconnection request",
    responses={
        200: {"description": "Replayed: the request created earlier with this Idempotency-Key"},
        **REFUSALS,
    },
)
async def create(
    data: schemas.RequestCreate,
    request: Request,
    response: Response,
    user: CsrUser,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    minimal: MinimalDep,
    idempotency_key: IdempotencyKey = None,
) -> schemas.RequestDetail | schemas.RequestCreated:
    """The system decides the type from whether service is on (Inactive, Disconnected, Temporarily
    Disconnected → Reconnection; Active, Collection → Disconnection; Pending → 409 with the reason)
    and a disconnection's kind from its reason (`disconnection_kind` in the answer), checks
    eligibility, locks the consumer's profile, books the slot (the earliest free one when none is
    given) and starts the request's workflow. A retry with the same Idempotency-Key and body answers
    200 with the request created the first time."""
    await session.commit()  # hand back the connection the sign-in check used before the long create
    request_id, created = await create_request(
        sessionmaker=request.app.state.sessionmaker,
        temporal=temporal,
        settings=settings,
        user=user,
        data=data,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/api/v1/requests/{request_id}"
    if minimal:
        return schemas.RequestCreated(request_id=request_id)
    return await queries.detail(session=session, settings=settings, user=user, request_id=request_id)


DEFAULT_SORT = "-created_at"


@dataclass(frozen=True, slots=True)
class ListFilters:
    """The request list's filters and sort, as the list and its CSV export both take them."""

    q: str | None
    status: list[RequestStatus] | None
    request_type: RequestType | None
    priority: list[Priority] | None
    sla_status: list[SlaState] | None
    created_from: date | None
    created_to: date | None
    assignee_id: int | None
    history: bool
    sort: str

    def query(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


async def list_filters(
    q: Annotated[
        str | None,
        Query(
            description="Request ID, or the consumer's name, account number, phone, address or meter (partial)"
        ),
    ] = None,
    status_: Annotated[list[RequestStatus] | None, Query(alias="status")] = None,
    type_: Annotated[RequestType | None, Query(alias="type")] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    sla_status: Annotated[list[SlaState] | None, Query()] = None,
    created_from: date | None = None,
    created_to: date | None = None,
    assignee_id: Annotated[int | None, Query(ge=1, le=DB_INT_MAX)] = None,
    history: Annotated[bool, Query(description="Completed and Closed requests only")] = False,
    sort: Annotated[
        str,
        Query(description="created_at, priority, resolution_due_at, status, request_id; '-' for descending"),
    ] = DEFAULT_SORT,
) -> ListFilters:
    return ListFilters(
        q, status_, type_, priority, sla_status, created_from, created_to, assignee_id, history, sort
    )


ListFiltersDep = Annotated[ListFilters, Depends(list_filters)]


@router.get("", summary="Search, filter and page through requests")
async def list_requests(
    user: CsrUser, session: SessionDep, filters: ListFiltersDep, page: PageNumber = 1, size: PageSize = 25
) -> Page[schemas.RequestRow]:
    return await queries.list_requests(session=session, **filters.query(), page=page, size=size)


@router.get(
    "/export.csv",
    summary="The filtered request list as CSV (the list's filters and sort; every page), streamed",
    response_class=StreamingResponse,
    responses={**CSV_RESPONSE, **problem_responses({401: "Not signed in", 422: "Invalid filter"}, 422)},
)
async def export_requests(request: Request, user: CsrUser, filters: ListFiltersDep) -> StreamingResponse:
    """Every request `GET /api/v1/requests` would list with the same query (all pages, its order), as
    `text/csv` with a header line: the list row's fields. Named after the filters, e.g.
    `requests_status-pending_priority-high_2026-12-01.csv`. Whoever may list may export."""
    batches = await queries.export_requests(sessionmaker=request.app.state.sessionmaker, **filters.query())
    f = filters
    name = file_name(
        "requests",
        {
            "q": f.q, "status": f.status, "type": f.request_type, "priority": f.priority, "sla": f.sla_status,
            "from": f.created_from, "to": f.created_to, "assignee": f.assignee_id, "history": f.history,
            "sort": None if f.sort == DEFAULT_SORT else f.sort,
        },
    )  # fmt: skip
    return csv_response(name, queries.EXPORT_COLUMNS, batches)


@router.post(
    "/bulk",
    summary="One action on many requests (listed, or all the filters find), each through its own workflow",
    responses=problem_responses(
        {
            401: "Not signed in",
            422: f"Invalid body, an unknown assignee, or filters that find more than {schemas.BULK_MAX} requests",
        },
        422,
    ),
)
async def bulk_action(
    data: Annotated[schemas.BulkAction, Body()],
    request: Request,
    user: CsrUser,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> schemas.BulkResult:
    """Acknowledge, set the priority, assign, add a note or close: `action` names it and `body` is
    what its single-request route takes. The requests are `request_ids` (at most 500), or every
    request `filters` find (the list's filters, by the same names; more than 500 matching is 422).

    Each request is acted on as its own route would act: its role check (set_priority and assign are
    for supervisors) and its workflow's, through its own update, 8 at a time. The answer, once all
    are through (synchronous: seconds for 500), is each request's outcome in order: `done` with the
    workflow's message, `refused` with the reason (role, status, unknown ID) or `failed` (Temporal
    or the database did not answer: send the call again). One request's refusal or failure never
    stops the others, so the call itself answers 200 whatever their outcomes.

    With an Idempotency-Key, each request's update is keyed by it and the request ID: a retry of
    the call (whole, or the same selection in parts: the web UI sends a selection 8 at a time to
    show progress) acts at most once per request and answers `done` again for those done."""
    action = Action(data.action)
    body = getattr(data, "body", None)
    await bulk.check(session=session, action=action, body=body)
    request_ids = await bulk.selected(session=session, request_ids=data.request_ids, filters=data.filters)
    await session.commit()  # hand back the connection the sign-in check used before the long run
    results = await bulk.act_on_each(
        sessionmaker=request.app.state.sessionmaker, temporal=temporal, settings=settings, user=user,
        action=action, body=body, request_ids=request_ids, idempotency_key=idempotency_key,
    )  # fmt: skip
    return schemas.BulkResult.of(action, results)


@router.get("/dashboard", summary="Pending / completed counters and SLA at-risk / breached counts")
async def dashboard(user: CsrUser, session: SessionDep) -> schemas.Dashboard:
    return await queries.dashboard(session=session)


@router.get(
    "/customer-lookup",
    summary="Find a consumer for a new request: auto-fill fields, request type and eligibility",
)
async def customer_lookup(
    user: CsrUser,
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=2, description="Part of a name, account number or phone number")],
) -> list[schemas.CustomerMatch]:
    return await queries.lookup_customers(session=session, settings=settings, q=q)


@router.get(
    "/escalations",
    summary="The escalation queue: open requests breached or at risk, oldest first (supervisor)",
)
async def escalations(
    user: SupervisorUser, session: SessionDep, page: PageNumber = 1, size: PageSize = 25
) -> Page[schemas.RequestRow]:
    return await queries.escalation_queue(session=session, page=page, size=size)


@router.get(
    "/follow-ups",
    summary="Follow-ups due: yours by the end of today, or everyone's (supervisor)",
    description="Pending follow-ups due by `until` (default: the end of today in the utility's time "
    "zone), overdue ones included, soonest first. `scope=mine` (default) lists those on requests "
    "assigned to you and on unassigned requests you set them on; `scope=all` lists everyone's and "
    "needs a supervisor (403 otherwise).",
    responses=problem_responses(
        {401: "Not signed in", 403: "scope=all needs a supervisor", 422: "Invalid until / limit"}, 403, 422
    ),
)
async def follow_ups_due(
    user: CsrUser,
    session: SessionDep,
    scope: Annotated[Literal["mine", "all"], Query(description="Yours, or everyone's")] = "mine",
    until: Annotated[
        AwareDatetime | None, Query(description="Due by this moment (ISO 8601 with offset)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[schemas.FollowUpDue]:
    if scope == "all" and user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Problem(403, "Only a supervisor sees everyone's follow-ups.", type_="/problems/forbidden")
    return await queries.follow_ups_due(
        session=session, until=until or end_of_local_day(), user=None if scope == "all" else user, limit=limit
    )


@router.get("/{request_id}", summary="A request with everything the detail view shows", responses=REFUSALS)
async def detail(
    request_id: str, user: CsrUser, session: SessionDep, settings: SettingsDep
) -> schemas.RequestDetail:
    return await queries.detail(session=session, settings=settings, user=user, request_id=request_id)


class ActionCall:
    """One workflow action on one request, with what every action needs (the path's request ID,
    the caller, a session, Temporal, settings, the ``Prefer`` header and the Idempotency-Key)."""

    def __init__(
        self, request_id: str, user: User, session: AsyncSession, temporal: TemporalGateway,
        settings: Settings, minimal: bool, key: str | None,
    ) -> None:  # fmt: skip
        self.request_id, self.user, self.session = request_id, user, session
        self.temporal, self.settings, self.minimal, self.key = temporal, settings, minimal, key

    async def __call__(self, action: Action, body: BaseModel | None) -> schemas.ActionResult:
        message = await actions.act(
            session=self.session, temporal=self.temporal, settings=self.settings, user=self.user,
            request_id=self.request_id, action=action, body=body, idempotency_key=self.key,
        )  # fmt: skip
        if self.minimal:
            return schemas.ActionResult(message=message)
        return schemas.ActionResult(
            message=message,
            request=await queries.detail(
                session=self.session, settings=self.settings, user=self.user, request_id=self.request_id
            ),
        )


async def action_call(
    request_id: str, user: CsrUser, session: SessionDep, temporal: TemporalDep,
    settings: SettingsDep, minimal: MinimalDep, key: IdempotencyKey = None,
) -> ActionCall:  # fmt: skip
    """The dependency (``async def``: a class as a dependency is built in the thread pool)."""
    return ActionCall(request_id, user, session, temporal, settings, minimal, key)


ActionCallDep = Annotated[ActionCall, Depends(action_call)]


def _action_route(spec: ActionSpec) -> Callable[..., Awaitable[schemas.ActionResult]]:
    """The route that runs ``spec``'s action, taking its body as ``workflows.actions`` declares it."""
    if spec.body is None:

        async def route(call: ActionCallDep) -> schemas.ActionResult:
            return await call(spec.name, None)

        return route

    async def route_with_body(body: BaseModel, call: ActionCallDep) -> schemas.ActionResult:
        return await call(spec.name, body)

    route_with_body.__annotations__["body"] = spec.body  # FastAPI reads the body's model from here
    return route_with_body


# One route per action: POST /api/v1/requests/{request_id}/<path>, named as the action (its operationId).
for _spec in ACTIONS.values():
    router.add_api_route(
        f"/{{request_id}}/{_spec.path}", _action_route(_spec), methods=["POST"], name=_spec.name.value,
        summary=_spec.summary, responses=REFUSALS, response_model=schemas.ActionResult,
    )  # fmt: skip
