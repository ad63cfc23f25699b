from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.consumers.types import ServiceOrderStatus, ServiceOrderType


class ServiceOrder(Base):
    """Field work for a consumer (SO-…), optionally raised from a request."""

    __tablename__ = "service_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(20), unique=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"), index=True)
    request_id: Mapped[str | None] = mapped_column(String(32), index=True)
    service_type: Mapped[ServiceOrderType] = mapped_column(str_enum(ServiceOrderType, "service_order_type"))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[ServiceOrderStatus] = mapped_column(str_enum(ServiceOrderStatus, "service_order_status"))
    technician: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]
    scheduled_date: Mapped[date | None]
    completed_at: Mapped[datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    meter_number: Mapped[str | None] = mapped_column(ForeignKey("meters.meter_number"))
    """The meter the work is on (an inspection of a flagged reading), if one."""
