"""Running totals the dashboards read instead of scanning 100,000 rows.

Database triggers keep them (migration ``b7d4e2f1a9c3``), so every writer — the API, the
workflow's activities, the seeder, a bulk load or a hand-written UPDATE — keeps them right
without knowing they exist. One row per combination of the grouped columns.
"""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.consumers.types import ConsumerStatus
from domain.request.types import Priority, RequestStatus, RequestType, SlaState


class RequestCount(Base):
    """How many requests have this type, status, overall SLA state and priority."""

    __tablename__ = "request_counts"

    request_type: Mapped[RequestType] = mapped_column(
        str_enum(RequestType, "request_counts_request_type"), primary_key=True
    )
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, "request_counts_status"), primary_key=True
    )
    sla_status: Mapped[SlaState] = mapped_column(
        str_enum(SlaState, "request_counts_sla_status"), primary_key=True
    )
    priority: Mapped[Priority] = mapped_column(
        str_enum(Priority, "request_counts_priority"), primary_key=True
    )
    n: Mapped[int] = mapped_column(BigInteger)


class ConsumerTotal(Base):
    """How many consumers have this status, and the sum of their balances in cents (exact on
    SQLite too, where a running sum of REAL balances would drift)."""

    __tablename__ = "consumer_totals"

    status: Mapped[ConsumerStatus] = mapped_column(
        str_enum(ConsumerStatus, "consumer_totals_status"), primary_key=True
    )
    n: Mapped[int] = mapped_column(BigInteger)
    balance_cents: Mapped[int] = mapped_column(BigInteger)
