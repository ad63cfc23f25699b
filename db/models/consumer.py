from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.consumers.types import Category, ConsumerStatus


class Consumer(Base):
    """A utility account holder. ``locked_by_request`` names the open request holding the profile lock."""

    __tablename__ = "consumers"
    __table_args__ = (
        CheckConstraint("account_number <> ''", name="account_number_not_blank"),
        Index("ix_consumers_last_name_first_name", "last_name", "first_name"),
        Index("ix_consumers_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_number: Mapped[str] = mapped_column(String(20), unique=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    service_address: Mapped[str] = mapped_column(String(300))
    category: Mapped[Category] = mapped_column(str_enum(Category, "category"))
    sub_category: Mapped[str] = mapped_column(String(40))
    status: Mapped[ConsumerStatus] = mapped_column(str_enum(ConsumerStatus, "consumer_status"))
    is_vip: Mapped[bool] = mapped_column(default=False)
    balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    last_billing_date: Mapped[date | None]
    customer_since: Mapped[date]
    portal_enrolled: Mapped[bool] = mapped_column(default=False)
    paperless_billing: Mapped[bool] = mapped_column(default=False)
    fraud_flag: Mapped[bool] = mapped_column(default=False)
    locked_by_request: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    # Kept by the database's triggers (migration a9d2f4c6e8b1, db/search.py): never written here.
    search_text: Mapped[str | None] = mapped_column(Text, deferred=True)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
