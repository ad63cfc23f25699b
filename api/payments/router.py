"""Payments in: taken at the desk by a CSR, or reported by the billing system's signed webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from pydantic import ValidationError
from sqlalchemy import select

from api.auth.deps import CsrUser
from api.consumers import profile
from api.consumers.deps import CurrentConsumer
from api.deps import SessionDep, SessionmakerDep, SettingsDep, TemporalDep
from api.errors import Problem
from api.idempotency import IdempotencyKey, IdempotentWrite
from api.openapi import problem_responses
from api.payments import schemas, service
from db import audit
from db.models import Consumer

consumer_router = APIRouter(prefix="/api/v1/consumers", tags=["payments"])
webhook_router = APIRouter(prefix="/api/v1/webhooks", tags=["payments"])
WEBHOOK_ACTOR = "billing-webhook"
_REASONS = {
    401: "Not signed in, or (webhook) not signed with the shared secret",
    404: "No such consumer (or the webhook is not configured)",
    409: "The reference is already recorded for another payment",
    422: "Invalid input",
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(_REASONS, *codes)


@consumer_router.post(
    "/{id_or_account_number}/payments",
    status_code=201,
    responses={200: {"description": "This reference was recorded already: the first payment"},
               **_problems(404, 409, 422)},
)  # fmt: skip
async def take_payment(
    session: SessionDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    body: schemas.PaymentIn,
    response: Response,
    temporal: TemporalDep,
    settings: SettingsDep,
    sessionmaker: SessionmakerDep,
    key: IdempotencyKey = None,
) -> schemas.PaymentRecorded:
    """Record a payment taken at the desk; the balance goes down by its amount in the same step."""
    once = IdempotentWrite.of(key, user_id=user.id, operation=f"payments.take:{consumer.id}", payload=body)
    await once.check(session)
    result = await service.record_payment(
        session,
        consumer=consumer,
        amount=body.amount,
        method=body.method,
        reference=body.reference or service.desk_reference(),
        received_at=datetime.now(UTC),
        source="desk",
        by=user.username,
    )
    response.status_code = 200 if result.duplicate else 201
    await profile.refresh_vip(session=session, consumer=consumer, rule=settings.vip_rule)  # bills, compliance
    await once.commit(session, result, status_code=response.status_code)
    await service.after_commit(
        session, sessionmaker=sessionmaker, temporal=temporal, settings=settings, consumer_id=consumer.id,
        recorded=result,
    )  # fmt: skip
    return result


@webhook_router.post(
    "/billing/payments",
    status_code=201,
    responses={200: {"description": "A duplicate delivery: the payment was recorded before"},
               **_problems(404, 409, 422)},
    openapi_extra={"security": []},
)  # fmt: skip
async def billing_payment(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
    sessionmaker: SessionmakerDep,
    response: Response,
    timestamp: Annotated[str | None, Header(alias=service.TIMESTAMP_HEADER)] = None,
    signed: Annotated[str | None, Header(alias=service.SIGNATURE_HEADER)] = None,
) -> schemas.PaymentRecorded:
    """A payment from the billing system. Signed: ``X-ConnectDesk-Timestamp`` (Unix seconds) and
    ``X-ConnectDesk-Signature: sha256=<hex>``, the HMAC-SHA256 with the shared secret over
    ``<timestamp>.<raw body>``. A call signed outside the tolerance window is refused; a delivery
    repeated inside it, with the same reference, records nothing new (200, ``duplicate``)."""
    secret = settings.payment_webhook_secret.get_secret_value()
    if not secret:
        raise Problem(404, "The billing webhook is not configured here.", type_="/problems/not-found")
    raw = await request.body()
    service.verify_signature(
        secret=secret, timestamp=timestamp, signed=signed, body=raw,
        tolerance_seconds=settings.payment_webhook_tolerance_seconds,
    )  # fmt: skip
    try:
        body = schemas.BillingPayment.model_validate_json(raw)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]} for e in exc.errors()
        ]
        raise Problem(422, f"Invalid payment — {errors[0]['field']}: {errors[0]['message']}",
                      type_="/problems/validation", errors=errors) from None  # fmt: skip
    consumer = await session.scalar(select(Consumer).where(Consumer.account_number == body.account_number))
    if consumer is None:
        raise Problem(
            404, f"No consumer has account number {body.account_number}.", type_="/problems/not-found"
        )
    audit.actor.set(WEBHOOK_ACTOR)
    result = await service.record_payment(
        session,
        consumer=consumer,
        amount=body.amount,
        method=body.method,
        reference=body.reference,
        received_at=body.received_at.astimezone(UTC),
        source="billing",
        by=WEBHOOK_ACTOR,
    )
    await profile.refresh_vip(session=session, consumer=consumer, rule=settings.vip_rule)  # bills, compliance
    await session.commit()
    await service.after_commit(
        session, sessionmaker=sessionmaker, temporal=temporal, settings=settings, consumer_id=consumer.id,
        recorded=result,
    )  # fmt: skip
    response.status_code = 200 if result.duplicate else 201
    return result
