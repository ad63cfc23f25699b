"""The consumer's Service tab: service orders (raised, moved forward) and requests, their SLA live."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.consumers import schemas
from api.consumers.accounts import not_found
from api.consumers.communications import record_change
from api.errors import Problem
from db.models import Consumer, Meter, MeterAssignment, ServiceOrder, ServiceRequest
from domain.consumers.types import ServiceOrderStatus
from domain.request.sla import live_status

_ORDER_STEPS = {
    ServiceOrderStatus.SCHEDULED: 0,
    ServiceOrderStatus.IN_PROGRESS: 1,
    ServiceOrderStatus.COMPLETED: 2,
}


async def service_history(
    *,
    session: AsyncSession,
    consumer: Consumer,
    now: datetime | None = None,
    requests: Sequence[ServiceRequest] | None = None,
) -> schemas.ConsumerService:
    """The consumer's service orders and requests, newest first (request SLA status live);
    ``requests``: all of the consumer's requests, when the caller has them already."""
    now = now or datetime.now(UTC)
    orders = await session.scalars(
        select(ServiceOrder)
        .where(ServiceOrder.consumer_id == consumer.id)
        .order_by(ServiceOrder.created_at.desc(), ServiceOrder.id.desc())
    )
    if requests is None:
        requests = (
            await session.scalars(select(ServiceRequest).where(ServiceRequest.consumer_id == consumer.id))
        ).all()
    requests = sorted(requests, key=lambda r: (r.created_at, r.id), reverse=True)
    return schemas.ConsumerService(
        service_orders=[schemas.ServiceOrderRead.model_validate(o) for o in orders],
        requests=[
            schemas.ConsumerRequestRow(
                request_id=r.request_id,
                request_type=r.request_type,
                status=r.status,
                priority=r.priority,
                created_at=r.created_at,
                sla_status=live_status(r, now),
                resolved_at=r.resolved_at,
            )
            for r in requests
        ],
    )


async def create_service_order(
    *,
    session: AsyncSession,
    consumer: Consumer,
    order: schemas.ServiceOrderCreate,
    actor: str,
    now: datetime | None = None,
) -> ServiceOrder:
    """Raise a Scheduled service order numbered ``SO-{id + 100000}`` (as the request workflow does),
    recording who raised it in the consumer's communications. An inspection raised from a flagged
    reading is one of these, on its meter (``order.meter_number``).

    Refuses with 422 a meter that never served this consumer.
    """
    if order.meter_number is not None:
        served = await session.scalar(
            select(Meter.id)
            .join(MeterAssignment, MeterAssignment.meter_id == Meter.id)
            .where(Meter.meter_number == order.meter_number, MeterAssignment.consumer_id == consumer.id)
            .limit(1)
        )
        if served is None:
            message = f"meter {order.meter_number} has never served consumer {consumer.account_number}"
            raise Problem(
                422,
                f"Invalid input — meter_number: {message}",
                type_="/problems/validation",
                errors=[{"field": "meter_number", "message": message}],
            )
    row = ServiceOrder(
        order_number=f"~{uuid.uuid4().hex[:18]}",  # replaced below, once the id is known
        consumer_id=consumer.id,
        service_type=order.service_type,
        description=order.description,
        status=ServiceOrderStatus.SCHEDULED,
        technician=order.technician,
        scheduled_date=order.scheduled_date,
        meter_number=order.meter_number,
        created_at=now or datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    # Numbered from the row's own id: unique without a counter table or a race.
    row.order_number = f"SO-{row.id + 100000}"
    record_change(
        session, consumer, actor, f"Service order {row.order_number} created",
        f"{order.service_type.value}{f' on meter {order.meter_number}' if order.meter_number else ''}: "
        f"{order.description}",
    )  # fmt: skip
    await session.flush()
    return row


async def update_service_order(
    *,
    session: AsyncSession,
    consumer: Consumer,
    order_number: str,
    changes: schemas.ServiceOrderUpdate,
    actor: str,
    now: datetime | None = None,
) -> ServiceOrder:
    """Move an order forward (Scheduled → In Progress → Completed; completion date set on
    completion) and/or set its technician, recording who did in the consumer's communications.

    Refuses with 404 an order of another consumer, and with 409 a step backwards or any change to a
    completed order.
    """
    row = await session.scalar(
        select(ServiceOrder).where(
            ServiceOrder.order_number == order_number.strip().upper(), ServiceOrder.consumer_id == consumer.id
        )
    )
    if row is None:
        raise not_found(f"Consumer {consumer.account_number} has no service order {order_number}.")
    given = changes.model_fields_set
    target = changes.status if "status" in given and changes.status is not None else row.status
    technician = changes.technician if "technician" in given else row.technician
    if row.status == ServiceOrderStatus.COMPLETED and (target != row.status or technician != row.technician):
        raise Problem(
            409,
            f"{row.order_number} is Completed; a completed service order cannot change.",
            type_="/problems/invalid-transition",
            status_now=row.status.value,
        )
    if _ORDER_STEPS[target] < _ORDER_STEPS[row.status]:
        raise Problem(
            409,
            f"{row.order_number} cannot go back from {row.status.value} to {target.value}; "
            "service orders only move forward (Scheduled → In Progress → Completed).",
            type_="/problems/invalid-transition",
            status_now=row.status.value,
        )
    if target == ServiceOrderStatus.COMPLETED and row.status != ServiceOrderStatus.COMPLETED:
        row.completed_at = now or datetime.now(UTC)
    moves = [f"{row.status.value} → {target.value}"] if target != row.status else []
    if technician != row.technician:
        moves.append(f"technician: {row.technician or '—'} → {technician or '—'}")
    row.status = target
    row.technician = technician
    if moves:
        record_change(session, consumer, actor, f"Service order {row.order_number} updated", "; ".join(moves))
    await session.flush()
    return row
