"""The Consumers module's JSON API: dashboard, search, the profile and its tabs.

Every endpoint needs a signed-in user (any role). Thin: each calls one service function and
commits once when it writes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, StreamingResponse

from api.auth.deps import CsrUser, SupervisorUser
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
from api.consumers.deps import CurrentConsumer
from api.csv_export import CSV_RESPONSE, csv_response, file_name
from api.deps import SessionDep, SettingsDep
from api.errors import Problem
from api.idempotency import IdempotencyKey, IdempotentWrite
from api.openapi import problem_responses
from api.pagination import PageNumber, PageSize
from api.params import DB_INT_MAX
from domain.consumers.types import ConsumerStatus
from domain.request.types import Channel
from workflows.actions import ContactBody

router = APIRouter(prefix="/api/v1/consumers", tags=["consumers"])
DocumentId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]


_REASONS = {
    401: "Not signed in",
    404: "No such consumer (or item of this consumer)",
    409: "Invalid transition",
    413: "File too large",
    415: "File type not accepted",
    422: "Invalid input",
    423: "Profile locked by an open request",
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(_REASONS, *codes)


@router.get("/dashboard", responses=_problems())
async def consumer_dashboard(session: SessionDep, _user: CsrUser) -> schemas.ConsumerDashboard:
    """Total accounts; active, inactive and temporarily disconnected (count and %); total balance."""
    return await accounts.dashboard(session=session)


@router.get("", responses=_problems(422))
async def search_consumers(
    session: SessionDep,
    _user: CsrUser,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="First or last name, account number, phone (any formatting), service address, "
            "or meter or device number; partial, any case",
        ),
    ] = None,
    status: ConsumerStatus | None = None,
    page: PageNumber = 1,
    size: PageSize = 20,
) -> schemas.ConsumerPage:
    """Find consumers by name, account number, phone, service address or meter or device number,
    optionally of one status; paginated with the total."""
    return await accounts.search_consumers(session=session, q=q, status=status, page=page, size=size)


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    responses={**CSV_RESPONSE, **_problems(422)},
    summary="Consumer search results as CSV (every page), streamed",
)
async def export_consumers(
    request: Request,
    _user: CsrUser,
    q: Annotated[
        str | None,
        Query(max_length=100, description="As in the search: name, account number, phone, address or meter"),
    ] = None,
    status: ConsumerStatus | None = None,
) -> StreamingResponse:
    """Every consumer `GET /api/v1/consumers` finds with the same `q` and `status` (all pages, by
    name), as `text/csv` with a header line. Named after the filters, e.g.
    `consumers_q-elm_status-active_2026-12-01.csv`. Whoever may search may export."""
    batches = accounts.export_consumers(sessionmaker=request.app.state.sessionmaker, q=q, status=status)
    name = file_name("consumers", {"q": q, "status": status})
    return csv_response(name, accounts.EXPORT_COLUMNS, batches)


@router.get("/{id_or_account_number}", responses=_problems(404))
async def consumer_profile(
    session: SessionDep, settings: SettingsDep, consumer: CurrentConsumer
) -> schemas.ConsumerProfile:
    """The profile header: account, status, VIP crown, balance, last billing date, lock, readings
    suspected of tampering and alerts."""
    result = await profile.profile(session=session, consumer=consumer, vip_rule=settings.vip_rule)
    await profile.keep_vip_correction(session=session, consumer=consumer)
    return result


@router.get("/{id_or_account_number}/full", responses=_problems(404))
async def consumer_full_profile(
    session: SessionDep, settings: SettingsDep, consumer: CurrentConsumer
) -> schemas.ConsumerFullProfile:
    """The header and every tab in one answer (the first page of payments and communications):
    the standing and meters the tabs share are read once."""
    result = await profile.full_profile(session=session, consumer=consumer, vip_rule=settings.vip_rule)
    await profile.keep_vip_correction(session=session, consumer=consumer)
    return result


@router.patch("/{id_or_account_number}", responses=_problems(404, 422, 423))
async def update_consumer(
    session: SessionDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    changes: schemas.ConsumerUpdate,
    key: IdempotencyKey = None,
) -> schemas.ConsumerRead:
    """Edit contact fields (names, phone, e-mail, service address). 423 while a request locks the profile.
    The change (old → new, and by whom) is recorded in the consumer's communications."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"consumers.update:{consumer.id}", payload=changes
    )
    await once.check(session)
    updated = await accounts.update_contact(
        session=session, consumer=consumer, changes=changes, actor=user.username
    )
    result = schemas.ConsumerRead.model_validate(updated)
    await once.commit(session, result)
    return result


@router.get("/{id_or_account_number}/overview", responses=_problems(404))
async def consumer_overview(session: SessionDep, consumer: CurrentConsumer) -> schemas.ConsumerOverview:
    """Contact, service address, category, customer since, health score and payment compliance."""
    return await profile.overview(session=session, consumer=consumer)


@router.get("/{id_or_account_number}/financial", responses=_problems(404, 422))
async def consumer_financial(
    session: SessionDep, consumer: CurrentConsumer, page: PageNumber = 1, size: PageSize = 20
) -> schemas.ConsumerFinancial:
    """Payment history (newest first, paginated), payment compliance and the billing overview."""
    return await billing.financial(session=session, consumer=consumer, page=page, size=size)


@router.get("/{id_or_account_number}/connections", responses=_problems(404, 422))
async def consumer_connections(
    session: SessionDep,
    consumer: CurrentConsumer,
    readings: Annotated[int, Query(ge=1, le=240, description="Latest readings shown per meter")] = 24,
) -> schemas.ConsumerConnections:
    """Meters with their details and monthly readings, anomalies flagged with the reason."""
    return await meters.connections(session=session, consumer=consumer, readings_per_meter=readings)


@router.patch(
    "/{id_or_account_number}/meters/{meter_number}/readings/{reading_date}", responses=_problems(404, 422)
)
async def verify_reading(
    session: SessionDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    meter_number: Annotated[str, Path(max_length=20)],
    reading_date: date,
    body: schemas.ReadingVerification,
    key: IdempotencyKey = None,
) -> schemas.ReadingVerified:
    """Mark a pending reading verified (checked with the meter or the customer); recorded, with who
    did it, in the consumer's communications. The anomaly 'pending verification' then clears."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"consumers.verify_reading:{consumer.id}:{meter_number}:{reading_date}",
        payload=body,
    )  # fmt: skip
    await once.check(session)
    row = await meters.verify_reading(
        session=session,
        consumer=consumer,
        meter_number=meter_number,
        reading_date=reading_date,
        actor=user.username,
    )
    result = schemas.ReadingVerified(
        meter_number=meter_number.strip().upper(), reading_date=row.reading_date, value=row.value,
        verification_status=row.verification_status,
    )  # fmt: skip
    await once.commit(session, result)
    return result


@router.post(
    "/{id_or_account_number}/meters/{meter_number}/readings/{reading_date}/tampering",
    status_code=201,
    responses=_problems(404, 409, 422),
)
async def mark_tampering(
    session: SessionDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    meter_number: Annotated[str, Path(max_length=20)],
    reading_date: date,
    body: schemas.TamperingMark,
    key: IdempotencyKey = None,
) -> schemas.TamperingRead:
    """Mark a reading *suspected tampering* (who and when are recorded, with your note). The profile
    header alerts on it until a supervisor clears it; 409 while it is marked already."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"consumers.mark_tampering:{consumer.id}:{meter_number}:{reading_date}",
        payload=body,
    )  # fmt: skip
    await once.check(session)
    result = await meters.mark_tampering(
        session=session, consumer=consumer, meter_number=meter_number, reading_date=reading_date,
        note=body.note, actor=user.username,
    )  # fmt: skip
    await once.commit(session, result, status_code=201)
    return result


@router.post(
    "/{id_or_account_number}/meters/{meter_number}/readings/{reading_date}/tampering/clearance",
    responses=_problems(404, 409, 422),
)
async def clear_tampering(
    session: SessionDep,
    user: SupervisorUser,
    consumer: CurrentConsumer,
    meter_number: Annotated[str, Path(max_length=20)],
    reading_date: date,
    body: schemas.TamperingClear,
    key: IdempotencyKey = None,
) -> schemas.TamperingRead:
    """Clear a reading's *suspected tampering* mark — supervisors and admins — saying how it was
    resolved; the profile's alert goes. 409 when the reading is not marked."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"consumers.clear_tampering:{consumer.id}:{meter_number}:{reading_date}",
        payload=body,
    )  # fmt: skip
    await once.check(session)
    result = await meters.clear_tampering(
        session=session, consumer=consumer, meter_number=meter_number, reading_date=reading_date,
        note=body.note, actor=user.username,
    )  # fmt: skip
    await once.commit(session, result)
    return result


@router.get("/{id_or_account_number}/service", responses=_problems(404))
async def consumer_service(session: SessionDep, consumer: CurrentConsumer) -> schemas.ConsumerService:
    """Service orders and requests, newest first."""
    return await service_orders.service_history(session=session, consumer=consumer)


@router.post("/{id_or_account_number}/service-orders", status_code=201, responses=_problems(404, 422))
async def create_service_order(
    session: SessionDep,
    settings: SettingsDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    order: schemas.ServiceOrderCreate,
    response: Response,
    key: IdempotencyKey = None,
) -> schemas.ServiceOrderRead:
    """Raise a service order (Scheduled); returns it with its SO number. An inspection of a flagged
    reading: the reading's ``inspection`` (Connections tab) is this body, prefilled. 422 for a meter
    that never served the consumer."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"consumers.create_service_order:{consumer.id}", payload=order
    )
    await once.check(session)
    row = await service_orders.create_service_order(
        session=session, consumer=consumer, order=order, actor=user.username
    )
    await profile.refresh_vip(session=session, consumer=consumer, rule=settings.vip_rule)  # service quality
    result = schemas.ServiceOrderRead.model_validate(row)
    await once.commit(session, result, status_code=201)
    response.headers["Location"] = f"{router.prefix}/{consumer.id}/service"
    return result


@router.patch("/{id_or_account_number}/service-orders/{order_number}", responses=_problems(404, 409, 422))
async def update_service_order(
    session: SessionDep,
    settings: SettingsDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    order_number: Annotated[str, Path(max_length=20, examples=["SO-100042"])],
    changes: schemas.ServiceOrderUpdate,
    key: IdempotencyKey = None,
) -> schemas.ServiceOrderRead:
    """Move the order forward (Scheduled → In Progress → Completed) or change its technician."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"consumers.update_service_order:{consumer.id}:{order_number}",
        payload=changes,
    )  # fmt: skip
    await once.check(session)
    row = await service_orders.update_service_order(
        session=session, consumer=consumer, order_number=order_number, changes=changes, actor=user.username
    )
    await profile.refresh_vip(session=session, consumer=consumer, rule=settings.vip_rule)  # service quality
    result = schemas.ServiceOrderRead.model_validate(row)
    await once.commit(session, result)
    return result


@router.get("/{id_or_account_number}/communications", responses=_problems(404, 422))
async def consumer_communications(
    session: SessionDep,
    consumer: CurrentConsumer,
    page: PageNumber = 1,
    size: PageSize = 20,
    channel: Channel | None = None,
) -> schemas.CommunicationPage:
    """E-mails, calls, SMS, system notifications and notes, newest first."""
    return await communications.communications(
        session=session, consumer=consumer, page=page, size=size, channel=channel
    )


@router.post("/{id_or_account_number}/notes", status_code=201, responses=_problems(404, 422))
async def add_note(
    session: SessionDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    note: schemas.NoteCreate,
    key: IdempotencyKey = None,
) -> schemas.CommunicationRead:
    """Add a note to the account, internal or visible to the consumer; the author is you."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"consumers.add_note:{consumer.id}", payload=note
    )
    await once.check(session)
    row = await communications.add_note(session=session, consumer=consumer, note=note, author=user.username)
    result = schemas.CommunicationRead.model_validate(row)
    await once.commit(session, result, status_code=201)
    return result


@router.post("/{id_or_account_number}/contacts", status_code=201, responses=_problems(404, 422))
async def log_contact(
    session: SessionDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    contact: ContactBody,
    key: IdempotencyKey = None,
) -> schemas.CommunicationRead:
    """Log a contact with the consumer: a call (inbound or outbound, with its outcome and duration),
    an SMS or e-mail received, or an in-person visit; the author is you. Not tied to a request: to
    count toward an open request's response target, log it on the request
    (`POST /api/v1/requests/{request_id}/contacts`). 422 for an outgoing SMS or e-mail (send those
    as a response) or a call or visit without its outcome."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"consumers.log_contact:{consumer.id}", payload=contact
    )
    await once.check(session)
    row = await communications.log_contact(
        session=session, consumer=consumer, contact=contact, author=user.username
    )
    result = schemas.CommunicationRead.model_validate(row)
    await once.commit(session, result, status_code=201)
    return result


@router.get("/{id_or_account_number}/documents", responses=_problems(404))
async def consumer_documents(session: SessionDep, consumer: CurrentConsumer) -> list[schemas.DocumentRead]:
    """The document repository, newest first, with each document's verification status."""
    rows = await documents.list_documents(session=session, consumer=consumer)
    return [schemas.DocumentRead.model_validate(r) for r in rows]


async def upload_document(
    session: SessionDep,
    settings: SettingsDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    title: Annotated[str, Form(min_length=1, max_length=200, pattern=r"\S", examples=["Service agreement"])],
    file: UploadFile,
    key: IdempotencyKey = None,
) -> schemas.DocumentRead:
    """Upload a document (pdf, png, jpg, jpeg, txt, docx; up to the size limit). New documents are Processing."""
    async with documents.receive(
        file, documents_dir=settings.documents_dir, max_bytes=settings.documents_max_bytes
    ) as stored:
        once = IdempotentWrite.of(
            key, user_id=user.id, operation=f"consumers.upload_document:{consumer.id}",
            payload={"title": title.strip(), "filename": stored.filename, "sha256": stored.sha256},
        )  # fmt: skip
        await once.check(session)  # a replay raises: the file just received is removed again
        row = await documents.add_document(
            session=session, consumer=consumer, title=title.strip(), stored=stored, uploaded_by=user.username
        )
        result = schemas.DocumentRead.model_validate(row)
        await once.commit(session, result, status_code=201)
    return result


router.add_api_route(
    "/{id_or_account_number}/documents",
    upload_document,
    methods=["POST"],
    status_code=201,
    responses=_problems(404, 413, 415, 422),
    route_class_override=documents.UploadLimitRoute,
)


@router.patch("/{id_or_account_number}/documents/{document_id}", responses=_problems(404, 409, 422))
async def review_document(
    session: SessionDep,
    user: SupervisorUser,
    consumer: CurrentConsumer,
    document_id: DocumentId,
    review: schemas.DocumentReview,
    key: IdempotencyKey = None,
) -> schemas.DocumentRead:
    """Approve a document one step (Processing → Verified → Published) — supervisors and admins.
    Recorded, with who did it, in the consumer's communications; 409 for a step back."""
    once = IdempotentWrite.of(
        key,
        user_id=user.id,
        operation=f"consumers.review_document:{consumer.id}:{document_id}",
        payload=review,
    )
    await once.check(session)
    row = await documents.review_document(
        session=session, consumer=consumer, document_id=document_id, status=review.status, actor=user.username
    )
    result = schemas.DocumentRead.model_validate(row)
    await once.commit(session, result)
    return result


@router.get(
    "/{id_or_account_number}/documents/{document_id}/download",
    response_class=FileResponse,
    responses={
        **_problems(404),
        200: {
            "description": "The file, with the content type of its extension",
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in sorted(set(documents.ALLOWED_TYPES.values()))
            },
        },
    },
)
async def download_document(
    session: SessionDep, settings: SettingsDep, consumer: CurrentConsumer, document_id: DocumentId
) -> FileResponse:
    """The document's file, as an attachment named after its (sanitized) original file name."""
    row = await documents.get_document(session=session, consumer=consumer, document_id=document_id)
    path = documents.stored_path(settings.documents_dir, row.stored_name)
    if not await anyio.Path(path).is_file():
        raise Problem(
            404, f"The file of document {row.id} is missing from storage.", type_="/problems/not-found"
        )
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={
            "Content-Disposition": documents.content_disposition(row.filename),
            "X-Content-Type-Options": "nosniff",
        },
    )
