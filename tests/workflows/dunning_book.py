"""A small book of consumers for dunning tests: one of each case, and the request each should get."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from db.disconnection import save_profile
from db.models import Consumer, ConsumerProtection, Payment
from domain.consumers.types import ConsumerStatus, PaymentMethod, PaymentStatus
from domain.disconnection.profile import PENNSYLVANIA
from domain.disconnection.protections import ProtectionKind
from tests import factories

_refs = itertools.count(1)
# No winter moratorium (the tests run in any month): only the consumers' own protections hold.
PROFILE = PENNSYLVANIA.model_copy(
    update={"moratoria": (), "min_arrears": Decimal("50.00"), "dunning_after_days": 30}
)


@dataclass
class Book:
    due: Consumer  # over both thresholds, service on: gets a request
    due_collection: Consumer  # the same, in Collection (service on): gets one too
    recent: Consumer  # arrears only 10 days past due: not found
    small: Consumer  # arrears below min_arrears: not found
    credit: Consumer  # nothing owed: not found
    protected: Consumer  # a medical certificate in force: skipped
    service_off: Consumer  # Temporarily Disconnected: skipped
    already_open: Consumer  # has an open request: skipped (the caller opens it)

    @property
    def expected(self) -> set[int]:
        return {self.due.id, self.due_collection.id}


async def _owing(
    session: AsyncSession, *, balance: str, days_past_due: int, status: ConsumerStatus = ConsumerStatus.ACTIVE
) -> Consumer:
    consumer = await factories.consumer(session, status=status, balance=Decimal(balance))
    today = datetime.now(UTC).date()
    session.add(
        Payment(
            consumer_id=consumer.id, reference=f"DUN-{consumer.id}-{next(_refs)}",
            due_date=today - timedelta(days=days_past_due), amount=Decimal(balance) if Decimal(balance) > 0 else Decimal(1),
            method=PaymentMethod.CASH, status=PaymentStatus.PENDING,
        )
    )  # fmt: skip
    return consumer


async def seed_book(session: AsyncSession) -> Book:
    """The book, with the profile it is judged by saved; the caller commits."""
    await save_profile(session, PROFILE, by="tests")
    now = datetime.now(UTC)
    book = Book(
        due=await _owing(session, balance="200.00", days_past_due=60),
        due_collection=await _owing(
            session, balance="75.00", days_past_due=31, status=ConsumerStatus.COLLECTION
        ),
        recent=await _owing(session, balance="200.00", days_past_due=10),
        small=await _owing(session, balance="20.00", days_past_due=90),
        credit=await _owing(session, balance="-15.00", days_past_due=90),
        protected=await _owing(session, balance="300.00", days_past_due=60),
        service_off=await _owing(
            session, balance="300.00", days_past_due=60, status=ConsumerStatus.TEMPORARILY_DISCONNECTED
        ),
        already_open=await _owing(session, balance="300.00", days_past_due=60),
    )
    session.add(
        ConsumerProtection(
            consumer_id=book.protected.id, kind=ProtectionKind.MEDICAL_CERTIFICATE, starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=29), renewals=0, recorded_by="csr", recorded_at=now,
        )
    )  # fmt: skip
    await session.flush()
    return book
