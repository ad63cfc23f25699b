from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.request.types import Channel, ContactOutcome, Direction, Visibility


class Communication(Base):
    """An email, SMS, call, visit, system notification or note, to / from a consumer or internal."""

    __tablename__ = "communications"
    __table_args__ = (Index("ix_communications_consumer_created", "consumer_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    request_id: Mapped[str | None] = mapped_column(String(32), index=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "channel"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, "direction"))
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility, "visibility"))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    duration_seconds: Mapped[int | None]
    # A logged call or visit: how it went (only Reached is a contact with the consumer).
    outcome: Mapped[ContactOutcome | None] = mapped_column(str_enum(ContactOutcome, "outcome"))
    author: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
