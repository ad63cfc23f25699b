"""Activities of a lawful disconnection: the facts the rules read, for the workflow to judge.

Read-only (so trivially idempotent): the workflow runs them as local activities. The holiday
calendar is built here, outside the workflow sandbox, where the ``holidays`` library may load
its data.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db import disconnection as stored
from db.models import Consumer, Payment
from domain.disconnection.window import holiday_calendar
from workflows.schemas import LawfulFacts, LawfulFactsQuery, PaymentFact

# The calendar covers this far ahead of ``now``: the domain's search horizon (400 days) and more.
CALENDAR_YEARS = 2


async def _last_payment(session: AsyncSession, consumer_id: int) -> PaymentFact | None:
    """The last payment taken in (at the desk or from the billing system), if any."""
    row = await session.scalar(
        select(Payment)
        .where(Payment.consumer_id == consumer_id, Payment.received_at.is_not(None))
        .order_by(Payment.received_at.desc(), Payment.id.desc())
        .limit(1)
    )
    if row is None or row.received_at is None:
        return None
    return PaymentFact(
        reference=row.reference, amount=row.amount, received_at=row.received_at,
        by=row.recorded_by or row.source or "billing",
    )  # fmt: skip


class DisconnectionActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @activity.defn
    async def lawful_facts(self, query: LawfulFactsQuery) -> LawfulFacts:
        """The profile in force, the consumer's protections and the emergencies not over at
        ``query.now``, the holidays for this year and the next two, and the contact details."""
        async with self.sessionmaker() as session:
            consumer = await session.get(Consumer, query.consumer_id)
            if consumer is None:
                raise ApplicationError(
                    f"Consumer {query.consumer_id} not found.", type="ConsumerNotFound", non_retryable=True
                )
            profile = await stored.load_profile(session)
            protections = await stored.protections_of(session, consumer, now=query.now)
            governed = query.reason in {r.value for r in profile.rules_apply_to}
            return LawfulFacts(
                governed=governed,
                profile=profile,
                protections=protections,
                calendar=holiday_calendar(
                    profile, query.now.year, (query.now + timedelta(days=366 * CALENDAR_YEARS)).year
                ),
                service_address=consumer.service_address,
                email=consumer.email or None,
                phone=consumer.phone or None,
                balance=consumer.balance,
                last_payment=await _last_payment(session, consumer.id),
                payment_due_on=await stored.payment_due_on(
                    session, consumer, today=query.now.astimezone(profile.zone).date()
                ),
            )
