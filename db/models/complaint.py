from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, str_enum
from domain.consumers.types import ComplaintCategory, ComplaintStatus


class Complaint(Base):
    """A consumer's complaint: opened, worked on and resolved (with how) by CSRs. It feeds the health
    score's Complaint Resolution component and its penalty per unresolved complaint."""

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("(status = 'Resolved') = (resolved_at IS NOT NULL)", name="resolved_when_resolved"),
        Index("ix_complaints_consumer", "consumer_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"))
    category: Mapped[ComplaintCategory] = mapped_column(str_enum(ComplaintCategory, "complaint_category"))
    description: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[ComplaintStatus] = mapped_column(str_enum(ComplaintStatus, "complaint_status"))
    resolution_notes: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(120))
