"""Requests pages: dashboard, list and history, the create wizard, the detail view and its actions,
and the supervisors' escalation queue. Every read and write goes through ``api.requests``' create,
actions and queries (and ``api.reference.service`` for plans, meters and slots), as the JSON API's does."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, get_args, get_origin
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, QueryParams

from api.clock import end_of_local_day, local_now, local_zone
from api.consumers import accounts, service_orders
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import Problem
from api.reference import service as reference
from api.requests import actions, bulk, create, queries, schemas
from api.ui.common import (
    IDEMPOTENCY_FIELD,
    PageUser,
    SupervisorPageUser,
    UiRoute,
    blank_to_none,
    form_dict,
    is_fragment,
    is_supervisor,
    pager_links,
    plain_words,
    redirect,
    render,
)
from db.models import User
from db.system_settings import load_sla_settings
from domain.consumers.types import BillingCycle, PaymentMode, ServiceOrderType
from domain.disconnection.rules import DisconnectionOutcome, DisconnectionReason, disconnection_outcome
from domain.request.rules import Action
from domain.request.types import (
    MANUAL_CLOSE_REASONS,
    OPEN_STATUSES,
    Channel,
    ContactOutcome,
    Priority,
    RequestStatus,
    RequestType,
    SlaState,
    Visibility,
)
from settings import Settings
from workflows.actions import ACTIONS, ActionSpec

router = APIRouter(route_class=UiRoute, include_in_schema=False)

PAGE_SIZE = 20
TABS = [
    ("overview", "Overview"),
    ("plan", "Plan"),
    ("activate", "Activate"),
    ("service", "Service"),
    ("communication", "Communication"),
    ("timeline", "Timeline"),
]
FINISHED = (RequestStatus.COMPLETED, RequestStatus.CLOSED)


def _enum(kind: type[Any], raw: str | None) -> Any:
    """The enum member named by a query value, or None for '' or anything unknown."""
    try:
        return kind(raw) if raw else None
    except ValueError:
        return None


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _page(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and int(raw) > 0 else 1


def temporal_link(settings: Settings, request_id: str) -> str:
    """The request's workflow in the Temporal Web UI (as the detail's ``temporal_url``)."""
    return (
        f"{settings.temporal_ui}/namespaces/{settings.temporal_namespace}/workflows/"
        f"{settings.workflow_id(request_id)}"
    )


async def _at_risk_fraction(session: SessionDep) -> float:
    return (await load_sla_settings(session)).at_risk_fraction


# ---- dashboard ----------------------------------------------------------------------------------


@router.get("/")
async def dashboard_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    board = await queries.dashboard(session=session)
    urgent = await queries.list_requests(
        session=session, status=list(OPEN_STATUSES), sort="resolution_due_at", page=1, size=8
    )
    follow_ups = await queries.follow_ups_due(session=session, until=end_of_local_day(), user=user)
    return render(
        request,
        "requests/dashboard.html",
        {
            "board": board,
            "urgent": urgent,
            "follow_ups": follow_ups,
            "fraction": await _at_risk_fraction(session),
        },
        user=user,
        active="dashboard",
    )


@router.get("/partials/request-counters")
async def dashboard_counters(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The counters alone: the dashboard fetches them again on every change (live push)."""
    board = await queries.dashboard(session=session)
    return render(request, "requests/_counters.html", {"board": board}, user=user)


# ---- list and history -----------------------------------------------------------------------------


LIST_SORTS = [
    ("-created_at", "Newest first"),
    ("created_at", "Oldest first"),
    ("-priority", "Priority, highest first"),
    ("resolution_due_at", "Resolution due, soonest first"),
    ("request_id", "Request ID"),
    ("status", "Status"),
]


def _list_query(
    params: Mapping[str, str], user: User, *, history: bool
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """A list page's query parameters as the filters shown, what is wrong with them, and the
    filters as ``queries.list_requests`` takes them."""
    open_only = params.get("status") == "open" and not history
    filters = {
        "q": (params.get("q") or "").strip(),
        "status": _enum(RequestStatus, params.get("status")),
        "type": _enum(RequestType, params.get("type")),
        "priority": _enum(Priority, params.get("priority")),
        "sla": _enum(SlaState, params.get("sla")),
        "created_from": _day(params.get("created_from")),
        "created_to": _day(params.get("created_to")),
    }
    problems = []
    for key in ("created_from", "created_to"):
        if params.get(key) and filters[key] is None:
            problems.append(f"'{params[key]}' is not a date; use YYYY-MM-DD.")
    if filters["created_from"] and filters["created_to"] and filters["created_from"] > filters["created_to"]:
        problems.append("The 'from' date is after the 'to' date, so nothing can match.")
    assignee = params.get("assignee", "")
    assignee_id = user.id if assignee == "me" else (int(assignee) if assignee.isdigit() else None)
    query = {
        "q": filters["q"] or None,
        "status": list(OPEN_STATUSES) if open_only else ([filters["status"]] if filters["status"] else None),
        "request_type": filters["type"],
        "priority": [filters["priority"]] if filters["priority"] else None,
        "sla_status": [filters["sla"]] if filters["sla"] else None,
        "created_from": filters["created_from"],
        "created_to": filters["created_to"],
        "assignee_id": assignee_id,
        "history": history,
    }
    return filters, problems, query


async def _list(request: Request, user: User, session: SessionDep, *, history: bool) -> Response:
    params = request.query_params
    filters, problems, query = _list_query(params, user, history=history)
    open_only = params.get("status") == "open" and not history
    sort = params.get("sort", "")
    if sort not in dict(LIST_SORTS):
        sort = "-created_at"  # unknown or none: newest first
    page = _page(params.get("page"))
    results = await queries.list_requests(session=session, **query, sort=sort, page=page, size=PAGE_SIZE)
    context = {
        "results": results,
        "filters": filters,
        "raw": dict(params),
        "problems": problems,
        "history": history,
        **pager_links(request, results, PAGE_SIZE),
        "statuses": list(FINISHED) if history else list(RequestStatus),
        "fraction": await _at_risk_fraction(session),
        "assignees": await actions.assignable_users(session=session),
        "sorts": LIST_SORTS,
        "export_url": _export_url(filters, open_only, query["assignee_id"], history, sort),
        # bulk work on the open list: "all N matching" carries these filters (the page's own names)
        "bulk": not history,
        "bulk_actions": [(action.value, BULK_LABELS[action]) for action in _bulk_actions(user)],
        "matching": urlencode([(k, v) for k, v in params.multi_items() if k not in ("page", "sort")]),
        "priorities": list(Priority),
        "close_reasons": list(MANUAL_CLOSE_REASONS),
        "visibilities": list(Visibility),
    }
    template = "requests/_results.html" if is_fragment(request) else "requests/list.html"
    return render(request, template, context, user=user, active="history" if history else "requests")


def _export_url(
    filters: dict[str, Any], open_only: bool, assignee_id: int | None, history: bool, sort: str
) -> str:
    """The JSON API's CSV export of the list these filters show (GET /api/v1/requests/export.csv,
    which takes the session cookie): the page's parameters in the API's names."""
    status = list(OPEN_STATUSES) if open_only else [filters["status"]] if filters["status"] else []
    params: list[tuple[str, str]] = [("q", filters["q"])] if filters["q"] else []
    params += [("status", s.value) for s in status]
    params += [(name, filters[key].value) for name, key in (("type", "type"), ("priority", "priority"),
                                                            ("sla_status", "sla")) if filters[key]]  # fmt: skip
    params += [(key, filters[key].isoformat()) for key in ("created_from", "created_to") if filters[key]]
    params += [("assignee_id", str(assignee_id))] if assignee_id is not None else []
    params += [("history", "true")] if history else []
    params += [("sort", sort)] if sort != "-created_at" else []
    return f"/api/v1/requests/export.csv?{urlencode(params)}" if params else "/api/v1/requests/export.csv"


@router.get("/requests")
async def list_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    return await _list(request, user, session, history=False)


@router.get("/requests/history")
async def history_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Completed and Closed requests: the Request History tab."""
    return await _list(request, user, session, history=True)


# ---- bulk work on the list ----------------------------------------------------------------------------

BULK_LABELS = {
    Action.ACKNOWLEDGE: "Acknowledge",
    Action.SET_PRIORITY: "Set priority",
    Action.ASSIGN: "Assign",
    Action.ADD_NOTE: "Add a note",
    Action.CLOSE: "Close with a reason",
}
BULK_CHUNK = bulk.CONCURRENCY
"""Requests per round trip while a bulk action runs in the page: the progress moves a chunk at a time."""
TALLY = ("total", "done", "refused", "failed")


def _bulk_actions(user: User) -> list[Action]:
    """The bulk actions this role is offered (the supervisors' own ones are refused to others anyway)."""
    return [a for a in schemas.BULK_ACTIONS if is_supervisor(user) or a not in actions.SUPERVISOR_ACTIONS]


async def _bulk_selection(
    session: SessionDep, user: User, values: dict[str, str], form: FormData
) -> list[str]:
    """The requests a bulk form names: "all N matching" (the list's filters, as its URL carries
    them) or the rows ticked."""
    if values.get("matching") is not None and values.get("run") != "continue":
        _, problems, query = _list_query(QueryParams(values["matching"]), user, history=False)
        if problems:
            raise Problem(422, " ".join(problems))
        found = schemas.RequestFilters.model_validate(
            {**{k: v for k, v in query.items() if k != "request_type"}, "type": query["request_type"]}
        )
        return await bulk.selected(session=session, request_ids=None, filters=found)
    ticked = [value for value in form.getlist("request_ids") if isinstance(value, str) and value]
    if len(set(ticked)) > schemas.BULK_MAX:
        raise Problem(
            422, f"{len(set(ticked))} requests ticked; a bulk action takes at most {schemas.BULK_MAX}."
        )
    return list(dict.fromkeys(ticked))


@router.post("/requests/bulk")
async def bulk_page(
    request: Request, user: PageUser, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> Response:
    """Run one action on the requests ticked (or all matching) through ``bulk.act_on_each``, as the
    JSON API's bulk call does. In the page (htmx) a chunk at a time: each answer lists its chunk's
    outcomes and carries the rest in a form that posts itself on load, so the progress shows while
    it runs; without htmx, all at once on a page of its own."""
    form = await request.form()
    values = form_dict(form)
    fragment = is_fragment(request)
    action = _enum(Action, values.get("action"))
    context: dict[str, Any] = {
        "first": values.get("run") != "continue",
        "tally": {name: int(values[name]) if values.get(name, "").isdigit() else 0 for name in TALLY},
    }
    try:
        if action not in schemas.BULK_ACTIONS:
            raise Problem(422, "Choose what to do to the requests selected.")
        spec = ACTIONS[action]
        body = _body(spec.body, values, form) if spec.body is not None else None
        await bulk.check(session=session, action=action, body=body)
        request_ids = await _bulk_selection(session, user, values, form)
        if not request_ids:
            raise Problem(422, "Tick the requests to act on, or select all matching.")
    except (ValidationError, Problem) as exc:
        context["error"] = plain_words(exc) if isinstance(exc, ValidationError) else exc.detail
        return _bulk_render(request, user, context, fragment, status_code=200 if fragment else 422)
    await session.commit()  # hand back the connection before the updates
    now, rest = (request_ids[:BULK_CHUNK], request_ids[BULK_CHUNK:]) if fragment else (request_ids, [])
    outcomes = await bulk.act_on_each(
        sessionmaker=request.app.state.sessionmaker, temporal=temporal, settings=settings, user=user,
        action=action, body=body, request_ids=now, idempotency_key=values.get(IDEMPOTENCY_FIELD) or None,
    )  # fmt: skip
    tally = context["tally"]
    if context["first"]:
        tally["total"] = len(request_ids)
    for outcome in outcomes:
        tally[outcome.status.value] += 1
    context.update(
        action=action, label=BULK_LABELS[action], outcomes=outcomes, rest=rest,
        key=values.get(IDEMPOTENCY_FIELD, ""), processed=tally["done"] + tally["refused"] + tally["failed"],
        body_fields=body.model_dump(mode="json") if body is not None else {},
    )  # fmt: skip
    response = _bulk_render(request, user, context, fragment)
    if fragment and not rest:
        response.headers["HX-Trigger"] = "bulk-finished"  # the list reloads: statuses, priorities, owners
    return response


def _bulk_render(
    request: Request, user: User, context: dict[str, Any], fragment: bool, status_code: int = 200
) -> Response:
    template = "requests/_bulk_run.html" if fragment else "requests/bulk.html"
    return render(request, template, context, user=user, active="requests", status_code=status_code)


# ---- escalation queue (supervisors) ------------------------------------------------------------------


@router.get("/escalations")
async def escalations_page(
    request: Request, user: SupervisorPageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """Open requests breached or at risk, oldest first, each with its workflow in the Temporal UI."""
    page = _page(request.query_params.get("page"))
    queue = await queries.escalation_queue(session=session, page=page, size=PAGE_SIZE)
    return render(
        request,
        "requests/escalations.html",
        {
            "queue": queue,
            "links": {row.request_id: temporal_link(settings, row.request_id) for row in queue.items},
            **pager_links(request, queue, PAGE_SIZE),
            "fraction": await _at_risk_fraction(session),
        },
        user=user,
        active="escalations",
    )


# ---- create wizard -----------------------------------------------------------------------------------


@router.get("/requests/new")
async def new_request_page(
    request: Request, user: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """Step 1 (no consumer yet): search and pick. Step 2 (``consumer_id``): type, eligibility, details."""
    consumer_id = request.query_params.get("consumer_id", "")
    if not consumer_id:
        q = (request.query_params.get("q") or "").strip()
        found = await accounts.search_consumers(session=session, q=q, size=10) if q else None
        return render(request, "requests/new_search.html", {"q": q, "found": found}, user=user, active="new")
    return await _details_step(request, user, session, settings, consumer_id, values={})


@router.get("/requests/new/consumers")
async def new_request_consumers(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Search-as-you-type results for step 1."""
    q = (request.query_params.get("q") or "").strip()
    found = await accounts.search_consumers(session=session, q=q, size=10) if q else None
    return render(request, "requests/_consumer_choices.html", {"q": q, "found": found}, user=user)


async def _slots(session: SessionDep, raw_day: str) -> tuple[date | None, list[Any], str | None]:
    """(day, slots with a seat left, why none can be offered)."""
    if not raw_day:
        return None, [], None
    day = _day(raw_day)
    if day is None:
        return None, [], f"'{raw_day}' is not a date; use the date picker."
    try:
        availability = await reference.slot_availability(session=session, day=day)
    except Problem as problem:
        return day, [], problem.detail
    open_slots = [slot for slot in availability.slots if slot.available]
    if not open_slots:
        return day, [], f"Every time slot on {day:%d %b %Y} is fully booked; choose another date."
    return day, open_slots, None


@router.get("/requests/new/slots")
async def new_request_slots(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The time slots with capacity on the chosen date (past dates refused)."""
    raw_day = request.query_params.get("preferred_date", "")
    _, slots, slot_error = await _slots(session, raw_day)
    return render(
        request,
        "requests/_slots.html",
        {"slots": slots, "slot_error": slot_error, "values": dict(request.query_params)},
        user=user,
    )


async def _details_step(
    request: Request,
    user: User,
    session: SessionDep,
    settings: Settings,
    consumer_id: str,
    *,
    values: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    consumer = await accounts.get_consumer(session=session, key=consumer_id)
    request_type, refusal = create.eligibility(consumer, settings)
    _, slots, slot_error = await _slots(session, values.get("preferred_date", ""))
    return render(
        request,
        "requests/new_details.html",
        {
            "consumer": consumer,
            "request_type": request_type,
            "refusal": refusal,
            "reasons": reference.reasons_for(request_type) if request_type else [],
            "outcomes": _outcomes(request_type),
            "priorities": list(Priority),
            "slots": slots,
            "slot_error": slot_error,
            "values": {"priority": Priority.MEDIUM.value, "idempotency_key": uuid.uuid4().hex, **values},
            "error": error,
        },
        user=user,
        active="new",
        status_code=status_code,
    )


def _outcomes(request_type: RequestType | None) -> dict[str, DisconnectionOutcome]:
    """For a disconnection, what each reason's kind will do: shown before submit."""
    if request_type is not RequestType.DISCONNECTION:
        return {}
    return {r.value: disconnection_outcome(r) for r in DisconnectionReason}


def _create_body(values: dict[str, str]) -> schemas.RequestCreate:
    data = blank_to_none(values, "preferred_date", "slot_id", "notes")
    return schemas.RequestCreate.model_validate(
        {k: data.get(k) for k in ("consumer_id", "reason", "preferred_date", "slot_id", "notes", "priority")}
    )


@router.post("/requests/new")
async def new_request_submit(
    request: Request, user: PageUser, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> Response:
    """The wizard's buttons: ``step=review`` checks and shows the summary, ``step=edit`` goes back with
    everything typed, ``step=submit`` creates the request (refusals shown on the form, values kept)."""
    values = form_dict(await request.form())
    step = values.pop("step", "review")
    consumer_id = values.get("consumer_id", "")
    if not consumer_id.isdigit():
        return redirect("/requests/new")
    if step == "edit":
        return await _details_step(request, user, session, settings, consumer_id, values=values)
    try:
        body = _create_body(values)
        if body.preferred_date is not None:
            reference.refuse_past(body.preferred_date, today=local_now().date(), field="preferred_date")
    except ValidationError as exc:
        return await _details_step(
            request, user, session, settings, consumer_id, values=values, error=plain_words(exc),
            status_code=422,
        )  # fmt: skip
    except Problem as problem:
        return await _details_step(
            request, user, session, settings, consumer_id, values=values, error=problem.detail,
            status_code=problem.status,
        )  # fmt: skip
    if step != "submit":
        consumer = await accounts.get_consumer(session=session, key=consumer_id)
        request_type, refusal = create.eligibility(consumer, settings)
        _, slots, _ = await _slots(session, values.get("preferred_date", ""))
        slot = next((s for s in slots if str(s.slot_id) == values.get("slot_id")), None)
        if body.slot_id is not None and slot is None:
            return await _details_step(
                request, user, session, settings, consumer_id, values=values, status_code=409,
                error="That time slot has no seat left on this date; choose another.",
            )  # fmt: skip
        return render(
            request,
            "requests/new_review.html",
            {
                "consumer": consumer,
                "request_type": request_type,
                "refusal": refusal,
                "outcome": _outcomes(request_type).get(body.reason),
                "body": body,
                "slot": slot,
                "values": values,
            },
            user=user,
            active="new",
        )
    await session.commit()  # hand back the connection the sign-in check used before the long create
    try:
        request_id, _ = await create.create_request(
            sessionmaker=request.app.state.sessionmaker,
            temporal=temporal,
            settings=settings,
            user=user,
            data=body,
            idempotency_key=values.get("idempotency_key") or None,
        )
    except Problem as problem:
        return await _details_step(
            request, user, session, settings, consumer_id, values=values, error=problem.detail,
            status_code=problem.status,
        )  # fmt: skip
    return redirect(f"/requests/{request_id}", flash=f"Request {request_id} created.")


# ---- detail -------------------------------------------------------------------------------------------


async def _detail_page(
    request: Request,
    user: User,
    session: SessionDep,
    settings: Settings,
    request_id: str,
    tab: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    detail = await queries.detail(session=session, settings=settings, user=user, request_id=request_id)
    tab = tab if tab in dict(TABS) else "overview"
    context: dict[str, Any] = {
        "r": detail,
        "tab": tab,
        "tabs": TABS,
        "errors": errors or {},
        "values": values or {},
        "allowed": set(detail.allowed_actions),
        "is_open": detail.status in OPEN_STATUSES,
        "fraction": await _at_risk_fraction(session),
        "close_reasons": list(MANUAL_CLOSE_REASONS),
        "priorities": list(Priority),
        "channels": [c for c in Channel if c not in (Channel.SYSTEM, Channel.NOTE, Channel.LETTER)],
        "visibilities": list(Visibility),
        "contact_outcomes": list(ContactOutcome),
        "billing_cycles": list(BillingCycle),
        "payment_methods": list(PaymentMode),
        "order_types": list(ServiceOrderType),
        "show_temporal": is_supervisor(user),
    }
    reconnection = detail.request_type is RequestType.RECONNECTION
    if tab == "plan" and reconnection:
        plan_q = (request.query_params.get("plan_q") or "").strip()
        context["plan_q"] = plan_q
        context["plans"] = await reference.search_plans(
            session=session, search=plan_q or None, consumer_id=detail.consumer.id
        )
    if tab == "activate" and reconnection and detail.plan is not None:
        found = await reference.search_plans(
            session=session, search=detail.plan.short_name, consumer_id=detail.consumer.id
        )
        plan = next((p for p in found.items if p.id == detail.plan.id), None)
        context["plan_services"] = [s for s in plan.services if s.metered] if plan else []
        context["meter_choices"] = {
            s.utility: (
                await reference.available_meters(session=session, utility=s.utility, page=1, size=200)
            ).items
            for s in context["plan_services"]
        }
    if tab == "service":
        consumer = await accounts.get_consumer(session=session, key=str(detail.consumer.id))
        history = await service_orders.service_history(session=session, consumer=consumer)
        context["orders"] = [o for o in history.service_orders if o.request_id == detail.request_id]
    if tab == "overview" and Action.ASSIGN.value in context["allowed"]:
        context["assignees"] = await actions.assignable_users(session=session)
    if request.query_params.get("dialog") in ("close", "hold", "escalate", "follow-up"):
        context["open_dialog"] = request.query_params["dialog"]
    return render(
        request, "requests/detail.html", context, user=user, active="requests", status_code=status_code
    )


@router.get("/requests/{request_id}")
async def detail_page(
    request: Request, request_id: str, user: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _detail_page(
        request, user, session, settings, request_id, request.query_params.get("tab", "overview")
    )


# ---- actions: one form each, posted here, refusals shown on that form ---------------------------------


def _rows(form: FormData, prefix: str) -> list[dict[str, str]]:
    """``meters-0-reading``, ``meters-1-reading`` … as a list of dicts, in index order."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.multi_items():
        match = re.fullmatch(rf"{prefix}-(\d+)-(\w+)", key)
        if match and isinstance(value, str):
            rows.setdefault(int(match[1]), {})[match[2]] = value.strip()
    return [rows[i] for i in sorted(rows)]


def _is_rows(annotation: Any) -> bool:
    """Whether a body field is a list of models (the form's numbered rows)."""
    args = get_args(annotation)
    return get_origin(annotation) is list and isinstance(args[0], type) and issubclass(args[0], BaseModel)


def _body(body: type[BaseModel], values: dict[str, str], form: FormData) -> BaseModel:
    """An action's body from its form: a list field from its numbered rows, an optional field left
    blank as not given."""
    data: dict[str, Any] = {}
    for name, field in body.model_fields.items():
        if _is_rows(field.annotation):
            data[name] = _rows(form, name)
        elif name in values:
            data[name] = None if values[name] == "" and field.default is None else values[name]
            if data[name] and _is_moment(field.annotation):
                data[name] = _local_moment(data[name])
    return body.model_validate(data)


def _is_moment(annotation: Any) -> bool:
    return annotation is datetime or datetime in get_args(annotation)


def _local_moment(value: str) -> str:
    """A form's ``datetime-local`` value (a wall-clock time) read on the utility's clock; a value
    with its own offset, or not a date and time at all, is left to the model to judge."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return (moment if moment.tzinfo else moment.replace(tzinfo=local_zone())).isoformat()


# The tab an action's form is on (its refusal is shown there again) and the tab to open once it
# succeeds (None: the same); an action not listed has its form on the overview.
FORM_TABS: dict[Action, tuple[str, str | None]] = {
    Action.SELECT_PLAN: ("plan", "activate"),
    Action.ACTIVATE: ("activate", "overview"),
    Action.RECORD_FINAL_READINGS: ("activate", "overview"),
    Action.ADD_NOTE: ("communication", None),
    Action.SEND_RESPONSE: ("communication", None),
    Action.LOG_CONTACT: ("communication", None),
    Action.CREATE_SERVICE_ORDER: ("service", None),
}
# Each action's form posts to /requests/{id}/actions/<its path>, as the JSON API's route is named.
BY_PATH: dict[str, ActionSpec] = {spec.path: spec for spec in ACTIONS.values()}


@router.post("/requests/{request_id}/actions/{name}")
async def request_action(
    request: Request,
    request_id: str,
    name: str,
    user: PageUser,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """Run one action through ``actions.act`` (role check, then the workflow's validator); on success
    redirect to the next tab with the workflow's message, on refusal show the form again with it."""
    spec = BY_PATH.get(name)
    if spec is None:
        raise Problem(404, f"There is no action called '{name}'.")
    form_tab, then = FORM_TABS.get(spec.name, ("overview", None))
    form = await request.form()
    values = form_dict(form)
    tab = values.pop("tab", "") or form_tab
    key = values.pop(IDEMPOTENCY_FIELD, "") or None  # the form's own: a double submit acts once
    try:
        body = _body(spec.body, values, form) if spec.body is not None else None
        message = await actions.act(
            session=session, temporal=temporal, settings=settings, user=user, request_id=request_id,
            action=spec.name, body=body, idempotency_key=key,
        )  # fmt: skip
    except (ValidationError, Problem) as exc:
        detail, status = (
            (plain_words(exc), 422) if isinstance(exc, ValidationError) else (exc.detail, exc.status)
        )
        if status == 404:
            raise
        return await _detail_page(
            request, user, session, settings, request_id, tab,
            errors={name: detail}, values={name: values}, status_code=status,
        )  # fmt: skip
    return redirect(f"/requests/{request_id}?tab={then or tab}", flash=message)
