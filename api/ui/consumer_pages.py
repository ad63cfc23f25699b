"""Consumers pages: dashboard and search, the profile header and its tabs (Overview, Financial,
Connections, Service, Communications, Documents, Protections, Complaints), and the forms on them. Every read
and write goes through the ``api.consumers`` and ``api.disconnection`` modules, as the JSON API's
does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.complaints import schemas as complaint_schemas
from api.complaints import service as complaints
from api.consumers import (
    accounts,
    billing,
    communications,
    documents,
    meters,
    profile,
    schemas,
    service_orders,
)
from api.deps import SessionDep, SettingsDep
from api.disconnection import service as disconnection
from api.disconnection.schemas import ProtectionCreate, ProtectionEnd
from api.errors import Problem
from api.idempotency import IdempotentWrite, Replayed
from api.ui import protection_pages
from api.ui.common import (
    PageUser,
    SupervisorPageUser,
    UiRoute,
    blank_to_none,
    form_dict,
    form_write,
    is_fragment,
    pager_links,
    plain_words,
    redirect,
    render,
)
from db.disconnection import load_profile
from db.models import Consumer, User
from domain.consumers.types import ComplaintCategory, ConsumerStatus, ServiceOrderStatus, ServiceOrderType
from domain.request.types import Channel, ContactOutcome, Visibility
from settings import Settings
from workflows.actions import ContactBody

router = APIRouter(route_class=UiRoute, include_in_schema=False)

PAGE_SIZE = 20
TABS = [
    ("overview", "Overview"),
    ("financial", "Financial"),
    ("connections", "Connections"),
    ("service", "Service"),
    ("communications", "Communications"),
    ("documents", "Documents"),
    ("protections", "Protections"),
    ("complaints", "Complaints"),
]
NEXT_ORDER_STATUS = {
    ServiceOrderStatus.SCHEDULED: ServiceOrderStatus.IN_PROGRESS,
    ServiceOrderStatus.IN_PROGRESS: ServiceOrderStatus.COMPLETED,
}


def _page(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and int(raw) > 0 else 1


# ---- dashboard and search ------------------------------------------------------------------------------


@router.get("/consumers")
async def consumers_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    params = request.query_params
    q = (params.get("q") or "").strip()
    try:
        status = ConsumerStatus(params["status"]) if params.get("status") else None
    except ValueError:
        status = None
    page = _page(params.get("page"))
    results = await accounts.search_consumers(
        session=session, q=q or None, status=status, page=page, size=PAGE_SIZE
    )
    context = {
        "results": results,
        "q": q,
        "status": status,
        "statuses": list(ConsumerStatus),
        **pager_links(request, results, PAGE_SIZE),
        "export_url": "/api/v1/consumers/export.csv"
        + (
            f"?{query}"
            if (query := urlencode({k: v for k, v in (("q", q), ("status", status)) if v}))
            else ""
        ),
    }
    if is_fragment(request):
        return render(request, "consumers/_results.html", context, user=user)
    context["board"] = await accounts.dashboard(session=session)
    return render(request, "consumers/index.html", context, user=user, active="consumers")


# ---- the readings chart ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """An inline SVG line chart of one meter's readings (anomalies marked)."""

    width: int
    height: int
    points: str
    dots: list[dict[str, Any]]
    y_labels: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    summary: str


def reading_chart(meter: schemas.MeterConnection, width: int = 960, height: int = 240) -> Chart | None:
    readings = meter.readings
    if len(readings) < 2:
        return None
    left, right, top, bottom = 64, 12, 12, 28
    low, high = min(r.value for r in readings), max(r.value for r in readings)
    span = (high - low) or Decimal(1)
    step = (width - left - right) / (len(readings) - 1)

    def y(value: Decimal) -> float:
        return round(top + float((high - value) / span) * (height - top - bottom), 1)

    dots: list[dict[str, Any]] = [
        {
            "x": round(left + i * step, 1),
            "y": y(r.value),
            "anomaly": bool(r.anomalies),
            "title": f"{r.reading_date:%d %b %Y}: {r.value:,} {meter.unit}"
            + (f" — {'; '.join(a.why for a in r.anomalies)}" if r.anomalies else ""),
        }
        for i, r in enumerate(readings)
    ]
    middle = len(readings) // 2
    return Chart(
        width=width,
        height=height,
        points=" ".join(f"{d['x']},{d['y']}" for d in dots),
        dots=dots,
        y_labels=[(y(high), f"{high:,.0f}"), (y(low), f"{low:,.0f}")],
        x_labels=[
            (float(dots[i]["x"]), f"{readings[i].reading_date:%b %Y}")
            for i in sorted({0, middle, len(readings) - 1})
        ],
        summary=(
            f"{len(readings)} readings of meter {meter.meter_number} from {readings[0].reading_date:%d %b %Y} "
            f"({readings[0].value:,} {meter.unit}) to {readings[-1].reading_date:%d %b %Y} "
            f"({readings[-1].value:,} {meter.unit})"
            + (
                f"; {sum(1 for r in readings if r.anomalies)} flagged"
                if any(r.anomalies for r in readings)
                else ""
            )
        ),
    )


# ---- the profile ---------------------------------------------------------------------------------------


async def _profile_page(
    request: Request,
    user: User,
    session: SessionDep,
    consumer: Consumer,
    tab: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    tab = tab if tab in dict(TABS) else "overview"
    params = request.query_params
    header = await profile.profile(
        session=session, consumer=consumer, vip_rule=request.app.state.settings.vip_rule
    )
    await profile.keep_vip_correction(session=session, consumer=consumer)
    context: dict[str, Any] = {
        "c": header,
        "consumer": consumer,
        "tab": tab,
        "tabs": TABS,
        "errors": errors or {},
        "values": values or {},
        "protected": await protection_pages.in_force(session, consumer),
    }
    if tab == "protections":
        context.update(await protection_pages.tab_context(session, consumer))
    elif tab == "complaints":
        context["complaints"] = await complaints.list_complaints(session=session, consumer=consumer)
        context["complaint_categories"] = list(ComplaintCategory)
    elif tab == "overview":
        context["overview"] = await profile.overview(session=session, consumer=consumer)
    elif tab == "financial":
        page = _page(params.get("page"))
        fin = await billing.financial(session=session, consumer=consumer, page=page, size=PAGE_SIZE)
        context.update(fin=fin, **pager_links(request, fin.payments, PAGE_SIZE))
    elif tab == "connections":
        conn = await meters.connections(session=session, consumer=consumer)
        context["meters"] = [(m, reading_chart(m)) for m in conn.meters]
    elif tab == "service":
        context["history"] = await service_orders.service_history(session=session, consumer=consumer)
        context["order_types"] = list(ServiceOrderType)
        context["next_status"] = NEXT_ORDER_STATUS
        conn = await meters.connections(session=session, consumer=consumer)
        context["order_meters"] = [m.meter_number for m in conn.meters]
        if "order" not in context["values"] and (draft := _inspection_draft(params, conn)) is not None:
            context["values"] = {**context["values"], "order": draft}
            context["inspection"] = True
    elif tab == "communications":
        page = _page(params.get("page"))
        try:
            channel = Channel(params["channel"]) if params.get("channel") else None
        except ValueError:
            channel = None
        comms = await communications.communications(
            session=session, consumer=consumer, page=page, size=PAGE_SIZE, channel=channel
        )
        context.update(
            comms=comms,
            channel=channel,
            channels=list(Channel),
            visibilities=list(Visibility),
            contact_outcomes=list(ContactOutcome),
            **pager_links(request, comms, PAGE_SIZE),
        )
    elif tab == "documents":
        context["documents"] = await documents.list_documents(session=session, consumer=consumer)
        context["allowed_types"] = ", ".join(documents.ALLOWED_TYPES)
    return render(
        request, "consumers/profile.html", context, user=user, active="consumers", status_code=status_code
    )


def _inspection_draft(params: Any, conn: schemas.ConsumerConnections) -> dict[str, str] | None:
    """The service-order form prefilled from a flagged reading (``?inspect=<meter>&reading=<date>``):
    the reading's own ``inspection`` order, as the JSON API offers it."""
    number, when = (params.get("inspect") or "").strip().upper(), params.get("reading") or ""
    for meter in conn.meters:
        for reading in meter.readings if meter.meter_number == number else ():
            if reading.reading_date.isoformat() == when and reading.inspection is not None:
                draft = reading.inspection
                return {
                    "service_type": draft.service_type.value,
                    "meter_number": draft.meter_number or "",
                    "description": draft.description,
                }
    return None


@router.get("/consumers/{key}")
async def profile_page(request: Request, key: str, user: PageUser, session: SessionDep) -> Response:
    consumer = await accounts.get_consumer(session=session, key=key)
    return await _profile_page(request, user, session, consumer, request.query_params.get("tab", "overview"))


async def _refused(
    request: Request, user: User, session: SessionDep, consumer: Consumer, tab: str, form: str,
    values: dict[str, str], exc: ValidationError | Problem,
) -> Response:  # fmt: skip
    """Show the tab again with the refusal on its form and everything typed kept."""
    await session.rollback()  # nothing half-written; reload what the rollback expired
    await session.refresh(consumer)
    await session.refresh(user)
    detail, status = (plain_words(exc), 422) if isinstance(exc, ValidationError) else (exc.detail, exc.status)
    return await _profile_page(
        request,
        user,
        session,
        consumer,
        tab,
        errors={form: detail},
        values={form: values},
        status_code=status,
    )


@router.post("/consumers/{key}/contact")
async def update_contact(request: Request, key: str, user: PageUser, session: SessionDep) -> Response:
    """Edit contact fields; refused (423, naming the request) while an open request locks the profile."""
    consumer = await accounts.get_consumer(session=session, key=key)
    values = form_dict(await request.form())
    once = form_write(values, user, f"consumers.update:{consumer.id}")
    fields = ("first_name", "last_name", "phone", "email", "service_address")
    try:
        await once.check(session)
        changes = schemas.ConsumerUpdate.model_validate(
            blank_to_none({k: values[k] for k in fields if k in values}, "email")
        )
        await accounts.update_contact(
            session=session, consumer=consumer, changes=changes, actor=user.username
        )
        await once.commit(session)
    except Replayed:
        pass
    except (ValidationError, Problem) as exc:
        return await _refused(request, user, session, consumer, "overview", "contact", values, exc)
    return redirect(f"/consumers/{consumer.id}?tab=overview", flash="Contact details saved.")


@router.post("/consumers/{key}/notes")
async def add_note(request: Request, key: str, user: PageUser, session: SessionDep) -> Response:
    consumer = await accounts.get_consumer(session=session, key=key)
    values = form_dict(await request.form())
    once = form_write(values, user, f"consumers.add_note:{consumer.id}")
    try:
        await once.check(session)
        note = schemas.NoteCreate.model_validate(values)
        await communications.add_note(session=session, consumer=consumer, note=note, author=user.username)
        await once.commit(session)
    except Replayed:
        pass
    except (ValidationError, Problem) as exc:
        return await _refused(request, user, session, consumer, "communications", "note", values, exc)
    return redirect(f"/consumers/{consumer.id}?tab=communications", flash="Note added.")


@router.post("/consumers/{key}/contacts")
async def log_contact(request: Request, key: str, user: PageUser, session: SessionDep) -> Response:
    """Log a call, an SMS or e-mail received, or a visit on the account (not on a request)."""
    consumer = await accounts.get_consumer(session=session, key=key)
    values = form_dict(await request.form())
    once = form_write(values, user, f"consumers.log_contact:{consumer.id}")
    try:
        await once.check(session)
        contact = ContactBody.model_validate(
            {
                k: None if k in ("outcome", "duration_minutes", "subject") and v == "" else v
                for k, v in values.items()
            }
        )
        await communications.log_contact(
            session=session, consumer=consumer, contact=contact, author=user.username
        )
        await once.commit(session)
    except Replayed:
        pass
    except (ValidationError, Problem) as exc:
        return await _refused(request, user, session, consumer, "communications", "contact_log", values, exc)
    return redirect(f"/consumers/{consumer.id}?tab=communications", flash="Contact logged.")


@router.post("/consumers/{key}/service-orders")
async def create_service_order(request: Request, key: str, user: PageUser, session: SessionDep) -> Response:
    consumer = await accounts.get_consumer(session=session, key=key)
    values = form_dict(await request.form())
    once = form_write(values, user, f"consumers.create_service_order:{consumer.id}")
    try:
        await once.check(session)
        order = schemas.ServiceOrderCreate.model_validate(
            blank_to_none(values, "technician", "scheduled_date", "meter_number")
        )
        row = await service_orders.create_service_order(
            session=session, consumer=consumer, order=order, actor=user.username
        )
        message = f"Service order {row.order_number} created."
        await once.commit(session, message)
    except Replayed as done:
        message = done.body
    except (ValidationError, Problem) as exc:
        return await _refused(request, user, session, consumer, "service", "order", values, exc)
    return redirect(f"/consumers/{consumer.id}?tab=service", flash=message)


@router.post("/consumers/{key}/service-orders/{order_number}")
async def update_service_order(
    request: Request, key: str, order_number: str, user: PageUser, session: SessionDep
) -> Response:
    """Move an order forward one step (Scheduled → In Progress → Completed)."""
    consumer = await accounts.get_consumer(session=session, key=key)
    values = form_dict(await request.form())
    once = form_write(values, user, f"consumers.update_service_order:{consumer.id}:{order_number}")
    try:
        await once.check(session)
        changes = schemas.ServiceOrderUpdate.model_validate({"status": values.get("status")})
        row = await service_orders.update_service_order(
            session=session,
            consumer=consumer,
            order_number=order_number,
            changes=changes,
            actor=user.username,
        )
        message = f"{row.order_number} is now {row.status.value}."
        await once.commit(session, message)
    except Replayed as done:
        message = done.body
    except (ValidationError, Problem) as exc:
        return await _refused(request, user, session, consumer, "service", "order_update", values, exc)
    return redirect(f"/consumers/{consumer.id}?tab=service", flash=message)


class _UploadRoute(UiRoute, documents.UploadLimitRoute):
    """The JSON upload's Content-Length limit, with its refusal shown as a page."""


async def upload_document(
    request: Request, key: str, user: PageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    consumer = await accounts.get_consumer(session=session, key=key)
    form = await request.form()
    values = form_dict(form)
    once = form_write(values, user, f"consumers.upload_document:{consumer.id}")
    upload = form.get("file")
    title = values.get("title", "")
    try:
        if not title:
            raise Problem(422, "Title is required.")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Problem(422, "Choose a file to upload.")
        await once.check(session)
        await _store(session, settings, consumer, upload, title, user, once)
    except Replayed:
        pass
    except Problem as exc:
        return await _refused(request, user, session, consumer, "documents", "upload", values, exc)
    return redirect(f"/consumers/{consumer.id}?tab=documents", flash=f"Document “{title}” uploaded.")


router.add_api_route(
    "/consumers/{key}/documents", upload_document, methods=["POST"], route_class_override=_UploadRoute
)


async def _store(
    session: SessionDep,
    settings: Settings,
    consumer: Consumer,
    upload: UploadFile,
    title: str,
    user: User,
    once: IdempotentWrite,
) -> None:
    # A form's upload is Starlette's UploadFile (FastAPI's subclasses it); receive only reads it.
    async with documents.receive(
        upload,  # type: ignore[arg-type]
        documents_dir=settings.documents_dir,
        max_bytes=settings.documents_max_bytes,
    ) as stored:
        await documents.add_document(
            session=session, consumer=consumer, title=title, stored=stored, uploaded_by=user.username
        )
        await once.commit(session)  # a concurrent twin that committed first: this file is removed


@router.post("/consumers/{key}/documents/{document_id}/review")
async def review_document(
    request: Request, key: str, document_id: int, user: SupervisorPageUser, session: SessionDep
) -> Response:
    """Approve a document one step (supervisors): the JSON API's review, its refusal on the tab."""
    consumer = await accounts.get_consumer(session=session, key=key)
    values = form_dict(await request.form())
    once = form_write(values, user, f"consumers.review_document:{consumer.id}:{document_id}")
    try:
        await once.check(session)
        review = schemas.DocumentReview.model_validate({"status": values.get("status")})
        row = await documents.review_document(
            session=session,
            consumer=consumer,
            document_id=document_id,
            status=review.status,
            actor=user.username,
        )
        message = f"Document “{row.title}” is now {row.verification_status.value}."
        await once.commit(session, message)
    except Replayed as done:
        message = done.body
    except (ValidationError, Problem) as exc:
        return await _refused(request, user, session, consumer, "documents", "review", values, exc)
    return redirect(f"/consumers/{consumer.id}?tab=documents", flash=message)


@router.post("/consumers/{key}/meters/{meter_number}/readings/{reading_date}/verify")
async def verify_reading(
    request: Request, key: str, meter_number: str, reading_date: date, user: PageUser, session: SessionDep
) -> Response:
    """Mark a pending reading verified, from the Connections tab."""
    consumer = await accounts.get_consumer(session=session, key=key)
    once = form_write(
        form_dict(await request.form()),
        user,
        f"consumers.verify_reading:{consumer.id}:{meter_number}:{reading_date}",
    )
    try:
        await once.check(session)
        await meters.verify_reading(
            session=session,
            consumer=consumer,
            meter_number=meter_number,
            reading_date=reading_date,
            actor=user.username,
        )
        await once.commit(session)
    except Replayed:
        pass
    return redirect(
        f"/consumers/{consumer.id}?tab=connections",
        flash=f"The {reading_date.isoformat()} reading of {meter_number} is verified.",
    )


@router.post("/consumers/{key}/meters/{meter_number}/readings/{reading_date}/tampering")
async def mark_tampering(
    request: Request, key: str, meter_number: str, reading_date: date, user: PageUser, session: SessionDep
) -> Response:
    """Mark a reading suspected tampering, from the Connections tab (the JSON API's mark)."""
    consumer = await accounts.get_consumer(session=session, key=key)

    async def write(values: dict[str, str]) -> object:
        body = schemas.TamperingMark.model_validate({"note": values.get("note", "")})
        return await meters.mark_tampering(
            session=session, consumer=consumer, meter_number=meter_number, reading_date=reading_date,
            note=body.note, actor=user.username,
        )  # fmt: skip

    return await _tab_write(
        request, user, session, consumer, f"consumers.mark_tampering:{consumer.id}:{meter_number}:{reading_date}",
        "connections", "tampering", write,
        f"The {reading_date.isoformat()} reading of {meter_number} is marked suspected tampering.",
    )  # fmt: skip


@router.post("/consumers/{key}/meters/{meter_number}/readings/{reading_date}/tampering/clearance")
async def clear_tampering(
    request: Request,
    key: str,
    meter_number: str,
    reading_date: date,
    user: SupervisorPageUser,
    session: SessionDep,
) -> Response:
    """Clear a reading's suspected tampering (supervisors), from the Connections tab."""
    consumer = await accounts.get_consumer(session=session, key=key)

    async def write(values: dict[str, str]) -> object:
        body = schemas.TamperingClear.model_validate({"note": values.get("note", "")})
        return await meters.clear_tampering(
            session=session, consumer=consumer, meter_number=meter_number, reading_date=reading_date,
            note=body.note, actor=user.username,
        )  # fmt: skip

    return await _tab_write(
        request, user, session, consumer, f"consumers.clear_tampering:{consumer.id}:{meter_number}:{reading_date}",
        "connections", "tampering", write,
        f"Suspected tampering on the {reading_date.isoformat()} reading of {meter_number} is cleared.",
    )  # fmt: skip


# ---- protections --------------------------------------------------------------------------------------


async def _tab_write(
    request: Request, user: User, session: SessionDep, consumer: Consumer, operation: str, tab: str,
    form: str, write: Callable[[dict[str, str]], Awaitable[object]], flash: str,
) -> Response:  # fmt: skip
    """One form of a profile tab, written once per form key; a refusal shows the tab again with it.
    A committed change to protections tells the consumer's waiting disconnection at once."""
    values = form_dict(await request.form())
    once = form_write(values, user, operation)
    try:
        await once.check(session)
        await write(values)
        await once.commit(session)
    except Replayed:
        pass
    except (ValidationError, Problem) as exc:
        return await _refused(request, user, session, consumer, tab, form, values, exc)
    if tab == "protections":
        await disconnection.tell_waiting(
            session=session, temporal=request.app.state.temporal, settings=request.app.state.settings,
            consumer_id=consumer.id, what=flash.rstrip(".").lower(), by=user.username,
        )  # fmt: skip
    return redirect(f"/consumers/{consumer.id}?tab={tab}", flash=flash)


@router.post("/consumers/{key}/protections")
async def record_protection(request: Request, key: str, user: PageUser, session: SessionDep) -> Response:
    consumer = await accounts.get_consumer(session=session, key=key)

    async def write(values: dict[str, str]) -> object:
        profile = await load_profile(session)
        body = ProtectionCreate.model_validate(
            {
                **blank_to_none({k: v for k, v in values.items() if k != "ends_on"}, "evidence_document_id"),
                "ends_at": protection_pages.end_of_day(profile, values.get("ends_on")),
            }
        )
        return await disconnection.record_protection(
            session=session, consumer=consumer, body=body, by=user.username
        )

    operation = f"protections.record:{consumer.id}"
    return await _tab_write(
        request,
        user,
        session,
        consumer,
        operation,
        "protections",
        "protection",
        write,
        "Protection recorded.",
    )


@router.post("/consumers/{key}/protections/{protection_id}/renew")
async def renew_protection(
    request: Request, key: str, protection_id: int, user: PageUser, session: SessionDep
) -> Response:
    consumer = await accounts.get_consumer(session=session, key=key)

    async def write(_values: dict[str, str]) -> object:
        return await disconnection.renew_protection(
            session=session, consumer=consumer, protection_id=protection_id
        )

    operation = f"protections.renew:{protection_id}"
    return await _tab_write(
        request,
        user,
        session,
        consumer,
        operation,
        "protections",
        "protection-action",
        write,
        "Certificate renewed.",
    )


@router.post("/consumers/{key}/protections/{protection_id}/end")
async def end_protection(
    request: Request, key: str, protection_id: int, user: PageUser, session: SessionDep
) -> Response:
    consumer = await accounts.get_consumer(session=session, key=key)

    async def write(values: dict[str, str]) -> object:
        reason = ProtectionEnd.model_validate({"reason": values.get("reason", "")}).reason
        return await disconnection.end_protection(
            session=session, consumer=consumer, protection_id=protection_id, reason=reason, by=user.username
        )

    operation = f"protections.end:{protection_id}"
    return await _tab_write(
        request,
        user,
        session,
        consumer,
        operation,
        "protections",
        "protection-action",
        write,
        "Protection ended.",
    )


# ---- complaints ---------------------------------------------------------------------------------------


@router.post("/consumers/{key}/complaints")
async def open_complaint(request: Request, key: str, user: PageUser, session: SessionDep) -> Response:
    consumer = await accounts.get_consumer(session=session, key=key)

    async def write(values: dict[str, str]) -> object:
        body = complaint_schemas.ComplaintCreate.model_validate(blank_to_none(values, "request_id"))
        return await complaints.open_complaint(
            session=session, consumer=consumer, body=body, by=user.username
        )

    return await _tab_write(
        request, user, session, consumer, f"complaints.open:{consumer.id}", "complaints", "complaint", write,
        "Complaint opened.",
    )  # fmt: skip


@router.post("/consumers/{key}/complaints/{complaint_id}")
async def update_complaint(
    request: Request, key: str, complaint_id: int, user: PageUser, session: SessionDep
) -> Response:
    consumer = await accounts.get_consumer(session=session, key=key)

    async def write(values: dict[str, str]) -> object:
        changes = complaint_schemas.ComplaintUpdate.model_validate(blank_to_none(values, "resolution_notes"))
        return await complaints.update_complaint(
            session=session, consumer=consumer, complaint_id=complaint_id, changes=changes, by=user.username
        )

    return await _tab_write(
        request, user, session, consumer, f"complaints.update:{complaint_id}", "complaints", "complaint-action",
        write, "Complaint updated.",
    )  # fmt: skip
