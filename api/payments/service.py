"""Payments taken in: recorded once per reference, the balance updated in the same transaction.

Two doors lead here: a CSR at the desk (``POST /consumers/{id}/payments``) and the billing system's
signed webhook. Both end in :func:`record_payment`; the caller commits.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import DependencyUnavailable, Problem
from api.payments import schemas
from api.requests.create import create_request
from api.requests.schemas import RequestCreate
from api.temporal import TemporalGateway
from db import audit
from db.disconnection import load_profile
from db.models import Consumer, Payment, ServiceRequest, User
from db.upsert import insert_for
from domain.consumers.types import ConsumerStatus, PaymentMethod, PaymentStatus
from domain.disconnection.payments import PaymentEffect, payment_effect
from domain.disconnection.rules import DisconnectionReason
from domain.request.types import OPEN_STATUSES, RequestStatus, RequestType
from settings import Settings
from workflows.schemas import PAYMENT_RECEIVED, PaymentReceived

log = logging.getLogger(__name__)
NON_PAYMENT = DisconnectionReason.NON_PAYMENT.value
PAID_UP_REASON = "Outstanding balance cleared"  # a reconnection reason with a regulated deadline
CONFLICT = "/problems/conflict"
NOT_AUTHENTICATED = "/problems/not-authenticated"
SIGNATURE_HEADER = "X-ConnectDesk-Signature"
TIMESTAMP_HEADER = "X-ConnectDesk-Timestamp"


def desk_reference() -> str:
    return f"DESK-{uuid.uuid4().hex[:16].upper()}"


async def _balance(session: AsyncSession, consumer_id: int) -> Decimal:
    balance = await session.scalar(select(Consumer.balance).where(Consumer.id == consumer_id))
    return Decimal(balance or 0)


async def record_payment(
    session: AsyncSession,
    *,
    consumer: Consumer,
    amount: Decimal,
    method: PaymentMethod,
    reference: str,
    received_at: datetime,
    source: str,
    by: str,
) -> schemas.PaymentRecorded:
    """Record the payment and take it off the balance, once per ``reference``.

    The same reference again, for the same consumer and amount, is a duplicate delivery: nothing
    changes and the first payment is answered. The reference on another consumer or amount is a
    409: two different payments cannot share it. Racing deliveries insert once (the unique
    reference settles them). Does not commit.
    """
    existing = await session.scalar(select(Payment).where(Payment.reference == reference))
    if existing is None:
        inserted = await session.execute(
            insert_for(session, Payment)
            .values(
                consumer_id=consumer.id,
                reference=reference,
                due_date=received_at.date(),
                paid_on=received_at.date(),
                amount=amount,
                method=method,
                status=PaymentStatus.PROCESSED,
                received_at=received_at,
                source=source,
                recorded_by=by,
            )
            .on_conflict_do_nothing(index_elements=["reference"])
            .returning(Payment.id)
        )
        payment_id = inserted.scalar()
        if payment_id is not None:
            before = await _balance(session, consumer.id)
            await session.execute(
                update(Consumer)
                .where(Consumer.id == consumer.id)
                .values(balance=Consumer.balance - amount)
                .execution_options(synchronize_session=False)
            )
            after = await _balance(session, consumer.id)
            await audit.record(
                session, object_type="payment", object_id=reference, action="create",
                changes={"consumer_id": [None, consumer.id], "amount": [None, amount], "method": [None, method],
                         "source": [None, source]},
            )  # fmt: skip
            await audit.record(
                session, object_type="consumer", object_id=consumer.id, action="update",
                changes={"balance": [before, after]},
            )  # fmt: skip
            payment = await session.get(Payment, payment_id)
            assert payment is not None
            return schemas.PaymentRecorded(
                payment=schemas.PaymentRead.model_validate(payment), duplicate=False, balance=after
            )
        existing = await session.scalar(select(Payment).where(Payment.reference == reference))
        assert existing is not None  # the racing delivery's row
    if existing.consumer_id != consumer.id or existing.amount != amount:
        raise Problem(
            409,
            f"Payment reference {reference} is already recorded for another payment; nothing was changed.",
            type_=CONFLICT,
        )
    return schemas.PaymentRecorded(
        payment=schemas.PaymentRead.model_validate(existing),
        duplicate=True,
        balance=await _balance(session, consumer.id),
    )


async def tell_disconnections(
    session: AsyncSession, *, temporal: TemporalGateway, settings: Settings, consumer_id: int,
    recorded: schemas.PaymentRecorded,
) -> None:  # fmt: skip
    """After the commit, signal the consumer's open non-payment disconnections (each weighs the
    payment once per reference, and closes if it leaves too little owed). A duplicate delivery
    signals again: a first delivery whose signals were lost is completed by its retry."""
    waiting = await session.scalars(
        select(ServiceRequest.request_id)
        .where(ServiceRequest.consumer_id == consumer_id)
        .where(ServiceRequest.request_type == RequestType.DISCONNECTION)
        .where(ServiceRequest.status.in_(OPEN_STATUSES))
        .where(ServiceRequest.reason == DisconnectionReason.NON_PAYMENT.value)
        .order_by(ServiceRequest.id)
    )
    payment = recorded.payment
    signal = PaymentReceived(
        reference=payment.reference, amount=payment.amount, balance=recorded.balance,
        received_at=payment.received_at or datetime.now(UTC), by=payment.recorded_by or payment.source or "billing",
    )  # fmt: skip
    await temporal.signal_each(
        [settings.workflow_id(r) for r in waiting.all()], PAYMENT_RECEIVED, signal,
        what=f"payment {payment.reference} was received",
    )  # fmt: skip


async def after_commit(
    session: AsyncSession, *, sessionmaker: async_sessionmaker[AsyncSession], temporal: TemporalGateway,
    settings: Settings, consumer_id: int, recorded: schemas.PaymentRecorded,
) -> None:  # fmt: skip
    """What a committed payment sets going, from either door: the waiting non-payment disconnections
    told, and (with the setting) the reconnection of a consumer it leaves paid up."""
    await tell_disconnections(
        session, temporal=temporal, settings=settings, consumer_id=consumer_id, recorded=recorded
    )
    recorded.reconnection_request = await reconnect_if_paid_up(
        sessionmaker=sessionmaker,
        temporal=temporal,
        settings=settings,
        consumer_id=consumer_id,
        recorded=recorded,
    )


SYSTEM = User(username="system")  # the actor of what the system does by itself (no user row)


async def reconnect_if_paid_up(
    *, sessionmaker: async_sessionmaker[AsyncSession], temporal: TemporalGateway, settings: Settings,
    consumer_id: int, recorded: schemas.PaymentRecorded,
) -> str | None:  # fmt: skip
    """With ``auto_reconnect_after_payment`` on: a consumer whose service was cut for non-payment
    and whom this payment leaves owing too little to cut for gets the reconnection request at once
    (reason *Outstanding balance cleared*, so the regulated deadline applies), once per payment
    reference. Best effort after the payment's commit: a refusal or an outage is logged, and a CSR
    creates the request as usual. Returns the request's ID."""
    if not settings.auto_reconnect_after_payment:
        return None
    async with sessionmaker() as session:
        consumer = await session.get(Consumer, consumer_id)
        if consumer is None or consumer.status is not ConsumerStatus.TEMPORARILY_DISCONNECTED:
            return None
        cut_for = await session.scalar(
            select(ServiceRequest.reason)
            .where(ServiceRequest.consumer_id == consumer_id)
            .where(ServiceRequest.request_type == RequestType.DISCONNECTION)
            .where(ServiceRequest.status == RequestStatus.COMPLETED)
            .order_by(ServiceRequest.resolved_at.desc(), ServiceRequest.id.desc())
            .limit(1)
        )
        paid_up = payment_effect(await load_profile(session), reason=NON_PAYMENT, balance=consumer.balance)
        if cut_for != NON_PAYMENT or paid_up.effect is not PaymentEffect.CANCELS:
            return None
    reference = recorded.payment.reference
    data = RequestCreate(
        consumer_id=consumer_id, reason=PAID_UP_REASON,
        notes=f"Created automatically: payment {reference} cleared the arrears of the non-payment cut.",
    )  # fmt: skip
    try:
        request_id, _ = await create_request(
            sessionmaker=sessionmaker, temporal=temporal, settings=settings, user=SYSTEM, data=data,
            idempotency_key=f"auto-reconnect:{reference}",
        )  # fmt: skip
    except (Problem, DependencyUnavailable) as exc:
        log.warning(
            "no automatic reconnection for consumer %s after payment %s: %s", consumer_id, reference, exc
        )
        return None
    return request_id


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, detail, type_=NOT_AUTHENTICATED)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    *, secret: str, timestamp: str | None, signed: str | None, body: bytes, tolerance_seconds: int,
    now: datetime | None = None,
) -> None:  # fmt: skip
    """Refuse (401) a webhook call without a valid signature, or signed outside the tolerance
    window (a captured call replayed later); a replay inside it is caught by the reference."""
    if not timestamp or not signed:
        raise _unauthenticated(f"Sign the call: {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required.")
    try:
        sent = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise _unauthenticated(f"{TIMESTAMP_HEADER} must be Unix seconds.") from None
    if abs(((now or datetime.now(UTC)) - sent).total_seconds()) > tolerance_seconds:
        raise _unauthenticated(
            f"The call was signed at {sent:%Y-%m-%d %H:%M:%S} UTC, outside the {tolerance_seconds} s window."
        )
    if not hmac.compare_digest(signature(secret, timestamp, body), signed):
        raise _unauthenticated("The signature does not match the body.")
