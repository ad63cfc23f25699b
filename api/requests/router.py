"""The Requests module's JSON API: thin handlers over api.requests.service."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from api.auth.deps import CsrUser, SupervisorUser
from api.deps import MinimalDep, SessionDep, SettingsDep, TemporalDep
from api.idempotency import IdempotencyKey
from api.pagination import Page, PageNumber, PageSize
from api.params import DB_INT_MAX
from api.requests import schemas, service
from domain.request.rules import Action
from domain.request.types import Priority, RequestStatus, RequestType, SlaState
from workflows import schemas as wf

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
    """The system decides the type (Inactive → Reconnection, otherwise Disconnection), checks
    eligibility, locks the consumer's profile, books the slot (the earliest free one when none is
    given) and starts the request's workflow. A retry with the same Idempotency-Key and body answers
    200 with the request created the first time."""
    await session.commit()  # hand back the connection the sign-in check used before the long create
    request_id, created = await service.create_request(
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
    return await service.detail(session=session, settings=settings, user=user, request_id=request_id)


@router.get("", summary="Search, filter and page through requests")
async def list_requests(
    user: CsrUser,
    session: SessionDep,
    q: Annotated[
        str | None, Query(description="Request ID, consumer name or account number (partial)")
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
    ] = "-created_at",
    page: PageNumber = 1,
    size: PageSize = 25,
) -> Page[schemas.RequestRow]:
    return await service.list_requests(
        session=session, q=q, status=status_, request_type=type_, priority=priority, sla_status=sla_status,
        created_from=created_from, created_to=created_to, assignee_id=assignee_id, history=history,
        sort=sort, page=page, size=size,
    )  # fmt: skip


@router.get("/dashboard", summary="Pending / completed counters and SLA at-risk / breached counts")
async def dashboard(user: CsrUser, session: SessionDep) -> schemas.Dashboard:
    return await service.dashboard(session=session)


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
    return await service.lookup_customers(session=session, settings=settings, q=q)


@router.get(
    "/escalations",
    summary="The escalation queue: open requests breached or at risk, oldest first (supervisor)",
)
async def escalations(
    user: SupervisorUser, session: SessionDep, page: PageNumber = 1, size: PageSize = 25
) -> Page[schemas.RequestRow]:
    return await service.escalation_queue(session=session, page=page, size=size)


@router.get("/{request_id}", summary="A request with everything the detail view shows", responses=REFUSALS)
async def detail(
    request_id: str, user: CsrUser, session: SessionDep, settings: SettingsDep
) -> schemas.RequestDetail:
    return await service.detail(session=session, settings=settings, user=user, request_id=request_id)


class ActionCall:
    """One workflow action on one request, with what every action needs (the path's request ID,
    the caller, a session, Temporal, settings, the ``Prefer`` header). Each handler below only
    builds its payload."""

    def __init__(
        self, request_id: str, user: CsrUser, session: SessionDep, temporal: TemporalDep,
        settings: SettingsDep, minimal: MinimalDep, key: IdempotencyKey = None,
    ) -> None:  # fmt: skip
        self.request_id, self.user, self.session = request_id, user, session
        self.temporal, self.settings, self.minimal, self.key = temporal, settings, minimal, key

    async def __call__(self, action: Action, payload: object) -> schemas.ActionResult:
        message = await service.act(
            session=self.session, temporal=self.temporal, settings=self.settings, user=self.user,
            request_id=self.request_id, action=action, payload=payload, idempotency_key=self.key,
        )  # fmt: skip
        if self.minimal:
            return schemas.ActionResult(message=message)
        return schemas.ActionResult(
            message=message,
            request=await service.detail(
                session=self.session, settings=self.settings, user=self.user, request_id=self.request_id
            ),
        )


Act = Annotated[ActionCall, Depends()]


@router.post("/{request_id}/acknowledge", summary="Acknowledge: Pending → In Progress", responses=REFUSALS)
async def acknowledge(act: Act) -> schemas.ActionResult:
    return await act(Action.ACKNOWLEDGE, wf.Acknowledge(actor=act.user.username))


@router.post(
    "/{request_id}/hold", summary="Put on hold with a reason: In Progress → On Hold", responses=REFUSALS
)
async def put_on_hold(body: schemas.PutOnHoldBody, act: Act) -> schemas.ActionResult:
    payload = wf.PutOnHold(actor=act.user.username, reason=body.reason)
    return await act(Action.PUT_ON_HOLD, payload)


@router.post("/{request_id}/resume", summary="Resume: On Hold → In Progress", responses=REFUSALS)
async def resume(act: Act) -> schemas.ActionResult:
    return await act(Action.RESUME, wf.Resume(actor=act.user.username))


@router.post(
    "/{request_id}/plan", summary="Select and save the billing plan (reconnection)", responses=REFUSALS
)
async def select_plan(body: schemas.SelectPlanBody, act: Act) -> schemas.ActionResult:
    payload = wf.SelectPlan(actor=act.user.username, plan_id=body.plan_id)
    return await act(Action.SELECT_PLAN, payload)


@router.post(
    "/{request_id}/activate",
    summary="Reconnect and activate: assign meters with their readings → Completed",
    responses=REFUSALS,
)
async def activate(body: schemas.ActivateBody, act: Act) -> schemas.ActionResult:
    payload = wf.Activate(actor=act.user.username, meters=body.meters)
    return await act(Action.ACTIVATE, payload)


@router.post(
    "/{request_id}/final-readings",
    summary="Record final readings and disconnect → Completed",
    responses=REFUSALS,
)
async def record_final_readings(body: schemas.FinalReadingsBody, act: Act) -> schemas.ActionResult:
    payload = wf.RecordFinalReadings(actor=act.user.username, readings=body.readings)
    return await act(Action.RECORD_FINAL_READINGS, payload)


@router.post("/{request_id}/close", summary="Close with a reason and notes → Closed", responses=REFUSALS)
async def close(body: schemas.CloseBody, act: Act) -> schemas.ActionResult:
    payload = wf.Close(actor=act.user.username, reason=body.reason, notes=body.notes)
    return await act(Action.CLOSE, payload)


@router.post(
    "/{request_id}/notes", summary="Add a note, internal or visible to the consumer", responses=REFUSALS
)
async def add_note(body: schemas.NoteBody, act: Act) -> schemas.ActionResult:
    payload = wf.AddNote(actor=act.user.username, text=body.text, visibility=body.visibility)
    return await act(Action.ADD_NOTE, payload)


@router.post(
    "/{request_id}/responses", summary="Send a response to the consumer (email, SMS, phone, in person)",
    responses=REFUSALS,
)  # fmt: skip
async def send_response(body: schemas.ResponseBody, act: Act) -> schemas.ActionResult:
    payload = wf.SendResponse(
        actor=act.user.username, channel=body.channel, message=body.message, subject=body.subject
    )
    return await act(Action.SEND_RESPONSE, payload)


@router.post(
    "/{request_id}/service-orders", summary="Create a service order for field work", responses=REFUSALS
)
async def create_service_order(body: schemas.ServiceOrderBody, act: Act) -> schemas.ActionResult:
    payload = wf.CreateServiceOrder(
        actor=act.user.username, service_type=body.service_type, description=body.description,
        scheduled_date=body.scheduled_date,
    )  # fmt: skip
    return await act(Action.CREATE_SERVICE_ORDER, payload)


@router.post("/{request_id}/priority", summary="Change the priority (supervisor)", responses=REFUSALS)
async def set_priority(body: schemas.PriorityBody, act: Act) -> schemas.ActionResult:
    payload = wf.SetPriority(actor=act.user.username, priority=body.priority)
    return await act(Action.SET_PRIORITY, payload)


@router.post("/{request_id}/assign", summary="Assign or reassign to a user (supervisor)", responses=REFUSALS)
async def assign(body: schemas.AssignBody, act: Act) -> schemas.ActionResult:
    payload = await service.assign_payload(session=act.session, actor=act.user, user_id=body.user_id)
    return await act(Action.ASSIGN, payload)
