"""Activities of the nightly dunning workflow: open and record a run, and work one batch of consumers.

Each is idempotent. A run's row is keyed by its workflow ID and written with absolute totals. A
batch writes at most one request per consumer per cycle: the row carries the idempotency key
``dunning-<cycle>-<consumer id>`` (unique), so a retried batch, or a second run of the cycle, finds
the request it wrote and writes nothing new. Requests are written by ``db.requests.write_request``,
the API create's own writer, as the system (no user), for the reason Non-payment; the workflow then
starts each one's request workflow, whose first activity claims the row (``db.claims``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from db import claims
from db import disconnection as stored
from db.business_calendar import capture_sla
from db.models import Consumer, DunningRun, Payment, ServiceRequest
from db.requests import write_request
from domain.consumers.types import PaymentStatus
from domain.disconnection import dunning
from domain.disconnection.dunning import DunningRunStatus, SkipReason
from domain.disconnection.profile import JurisdictionProfile
from domain.disconnection.protections import holds_at
from domain.disconnection.rules import DisconnectionReason, disconnection_kind_for
from domain.request.types import Priority, RequestType
from workflows.dunning_schemas import (
    DunningBatch,
    DunningBatchResult,
    DunningOpen,
    DunningPolicy,
    DunningRecord,
)
from workflows.schemas import SlaSettings, StartRequest

SYSTEM = "system"
REASON = DisconnectionReason.NON_PAYMENT.value


def _start_for(row: ServiceRequest, consumer: Consumer, sla: SlaSettings) -> StartRequest:
    """The request workflow's input for a row dunning wrote (as the API builds it for its creates)."""
    return StartRequest(
        request_id=row.request_id,
        consumer_id=consumer.id,
        account_number=consumer.account_number,
        consumer_name=consumer.full_name,
        consumer_category=consumer.category,
        consumer_sub_category=consumer.sub_category,
        request_type=row.request_type,
        priority=row.priority,
        reason=row.reason,
        preferred_date=row.preferred_date,
        slot_id=row.slot_id,
        notes=row.notes,
        created_by=SYSTEM,
        created_by_user_id=None,
        created_at=row.created_at,
        sla=sla,
        disconnection_kind=disconnection_kind_for(row.reason),
    )


class DunningActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], time_zone: str = "UTC") -> None:
        self.sessionmaker = sessionmaker
        self.time_zone = time_zone  # the business calendar's zone until an admin saves one

    @activity.defn
    async def open_dunning_run(self, opening: DunningOpen) -> DunningPolicy:
        """Record the run (once per workflow ID) with its cycle and the profile's thresholds now;
        a retry, or a continued run, gets the policy first recorded."""
        async with self.sessionmaker() as session, session.begin():
            run = await session.scalar(
                select(DunningRun).where(DunningRun.workflow_id == opening.workflow_id)
            )
            if run is None:
                profile = await stored.load_profile(session)
                run = DunningRun(
                    workflow_id=opening.workflow_id,
                    cycle=opening.at.astimezone(profile.zone).date(),
                    status=DunningRunStatus.RUNNING,
                    started_at=opening.at,
                    min_arrears=profile.min_arrears,
                    after_days=dunning.after_days(profile),
                    found=0,
                    created=0,
                    skipped={},
                    created_requests=[],
                )
                session.add(run)
                await session.flush()
            return DunningPolicy(
                cycle=run.cycle, at=run.started_at, min_arrears=run.min_arrears, after_days=run.after_days
            )

    @activity.defn
    async def record_dunning_run(self, record: DunningRecord) -> None:
        """Write the run's totals so far (absolute: a retry writes the same), and its end when given."""
        progress = record.progress
        async with self.sessionmaker() as session, session.begin():
            run = await session.scalar(select(DunningRun).where(DunningRun.workflow_id == record.workflow_id))
            if run is None:  # opened by open_dunning_run first: only a deleted row gets here
                return
            run.found = progress.found
            run.created = len(progress.created_requests)
            run.skipped = {reason.value: count for reason, count in progress.skipped.items()}
            run.created_requests = list(progress.created_requests)
            if record.finished_at is not None:
                run.status, run.finished_at = DunningRunStatus.COMPLETED, record.finished_at

    @activity.defn
    async def dunning_batch(self, batch: DunningBatch) -> DunningBatchResult:
        """The next ``size`` consumers after ``after_consumer_id`` whose arrears are over the
        thresholds: each skipped with a reason, or given a non-payment disconnection request."""
        policy = batch.policy
        async with self.sessionmaker() as session:
            profile = await stored.load_profile(session)
            sla = await capture_sla(session, at=policy.at, default_time_zone=self.time_zone)
            unpaid_long_enough = exists().where(
                Payment.consumer_id == Consumer.id,
                Payment.status.in_([PaymentStatus.PENDING, PaymentStatus.FAILED]),
                Payment.due_date <= policy.cycle - timedelta(days=policy.after_days),
            )
            ids = list(
                await session.scalars(
                    select(Consumer.id)
                    .where(
                        Consumer.id > batch.after_consumer_id,
                        Consumer.balance >= max(policy.min_arrears, Decimal("0.01")),
                        unpaid_long_enough,
                    )
                    .order_by(Consumer.id)
                    .limit(batch.size)
                )
            )
        skipped: dict[SkipReason, int] = {}
        to_start: list[StartRequest] = []
        found = 0
        for consumer_id in ids:
            outcome = await self._dun(consumer_id, policy, profile, sla)
            if outcome is None:
                continue  # no longer over the thresholds: not found after all
            found += 1
            if isinstance(outcome, StartRequest):
                to_start.append(outcome)
            else:
                skipped[outcome] = skipped.get(outcome, 0) + 1
        return DunningBatchResult(
            found=found,
            skipped=skipped,
            to_start=to_start,
            last_consumer_id=ids[-1] if len(ids) == batch.size else None,
        )

    async def _dun(
        self, consumer_id: int, policy: DunningPolicy, profile: JurisdictionProfile, sla: SlaSettings
    ) -> StartRequest | SkipReason | None:
        """One consumer, in its own transaction: the request to start, why none, or None (not found)."""
        key = dunning.dunning_key(policy.cycle, consumer_id)
        async with self.sessionmaker() as session:
            consumer = await session.get(Consumer, consumer_id)
            if consumer is None:
                return None
            if (written := await self._written(session, key, consumer)) is not None:
                return written
            due_on = await stored.payment_due_on(session, consumer, today=policy.cycle)
            if not dunning.is_found(
                min_arrears=policy.min_arrears, after_days=policy.after_days, balance=consumer.balance,
                due_on=due_on, cycle=policy.cycle,
            ):  # fmt: skip
                return None
            protections = await stored.protections_of(session, consumer, now=policy.at)
            holds = holds_at(
                profile, protections, at=policy.at, reason=REASON, service_area=consumer.service_address
            )
            reason = dunning.skip_reason(
                status=consumer.status, open_request=consumer.locked_by_request, protected=bool(holds)
            )
            if reason is not None:
                return reason
            arrears = f"{consumer.balance:,.2f}"
            try:
                row = await write_request(
                    session,
                    consumer_id=consumer.id,
                    request_type=RequestType.DISCONNECTION,
                    reason=REASON,
                    priority=Priority.MEDIUM,
                    notes=f"Nightly dunning {policy.cycle.isoformat()}: arrears of {arrears} unpaid since "
                    f"{due_on.isoformat() if due_on else '-'}.",
                    preferred_date=None,
                    slot_id=None,
                    sla=sla,
                    created_by=None,
                    idempotency_key=key,
                    now=policy.at,
                )
                start = _start_for(row, consumer, sla)
                await session.commit()
            except IntegrityError:  # a concurrent run of the cycle wrote it, or another request opened
                await session.rollback()
                consumer = await session.get(Consumer, consumer_id, populate_existing=True)
                if consumer is not None and (written := await self._written(session, key, consumer)):
                    return written
                return SkipReason.ALREADY_OPEN
            return start

    async def _written(
        self, session: AsyncSession, key: str, consumer: Consumer
    ) -> StartRequest | SkipReason | None:
        """This cycle's request for the consumer, if written: to start (its workflow has not claimed
        it yet) or already created; None when not written."""
        row = await session.scalar(select(ServiceRequest).where(ServiceRequest.idempotency_key == key))
        if row is None:
            return None
        if await claims.is_claimed(session, row.request_id):
            return SkipReason.ALREADY_CREATED
        sla = await capture_sla(session, at=row.created_at, default_time_zone=self.time_zone)
        return _start_for(row, consumer, sla)
