"""close reason "Payment received": a payment cancels a pending non-payment disconnection

Revision ID: a1c5e9d3b7f2
Revises: e5b9c3d7f1a2
Create Date: 2026-12-01 07:45:00+00:00

The close reason is a VARCHAR with a CHECK constraint (``ck_requests_close_reason``); this widens
the check in place (``db.schema_edits.replace_check``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from db.schema_edits import in_list, replace_check

revision: str = "a1c5e9d3b7f2"
down_revision: str | None = "e5b9c3d7f1a2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("Issue resolved", "Duplicate request", "Cancelled by consumer", "No consumer response", "Other")
NEW = (*OLD, "Payment received")
NAME = "ck_requests_close_reason"


def upgrade() -> None:
    replace_check("requests", NAME, in_list("close_reason", OLD), in_list("close_reason", NEW))


def downgrade() -> None:
    # the old check has no room for it: a request a payment closed reads as closed for "Other"
    op.execute(
        "UPDATE requests SET close_reason = 'Other', "
        "close_notes = 'Payment received. ' || COALESCE(close_notes, '') "
        "WHERE close_reason = 'Payment received'"
    )
    replace_check("requests", NAME, in_list("close_reason", NEW), in_list("close_reason", OLD))
