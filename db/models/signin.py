from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class SigninFailure(Base):
    """Failed sign-ins in a row for one account (the username typed, lower-cased) or client address.

    Kept in the database so every API process sees the same count; changed only by single
    guarded statements (an upsert that increments, a delete on success), never read-modify-write.
    The throttling rule itself is ``domain.signin.SigninPolicy``.
    """

    __tablename__ = "signin_failures"
    __table_args__ = (
        CheckConstraint("scope IN ('account', 'address')", name="scope"),
        CheckConstraint("failures >= 0", name="failures"),
    )

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)  # stale rows are swept by it
