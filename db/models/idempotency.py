from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class IdempotencyRecord(Base):
    """A database-only write done under a caller's Idempotency-Key, with the answer it gave.

    Written in the same transaction as the write itself, so a retry either finds it (and gets the
    same answer, changing nothing) or finds neither; the unique key settles two retries racing.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    operation: Mapped[str] = mapped_column(
        String(200)
    )  # what the key was used for, e.g. consumers.add_note:42
    digest: Mapped[str] = mapped_column(String(64))  # fingerprint of what was sent
    status_code: Mapped[int]
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
