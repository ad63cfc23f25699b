"""logged contacts' outcome (communications.outcome) and Auto-pay's payment method reference
(billing_accounts.payment_reference)

Revision ID: f8c2b6d0e4a7
Revises: a2d6e0f4b8c1
Create Date: 2026-12-01 09:45:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.schema_edits import in_list

revision: str = "f8c2b6d0e4a7"
down_revision: str | None = "a2d6e0f4b8c1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTCOMES = ("Reached", "No answer", "Left voicemail", "Busy", "Wrong number", "Nobody home")


# Plain ALTER TABLE on both databases (a column CHECK is allowed in SQLite's ADD COLUMN): a batch
# copy of ``communications`` is avoided as for its channel check (db.schema_edits).
def upgrade() -> None:
    op.execute(
        "ALTER TABLE communications ADD COLUMN outcome VARCHAR(14) "
        f"CONSTRAINT ck_communications_outcome CHECK ({in_list('outcome', OUTCOMES)})"
    )
    op.add_column("billing_accounts", sa.Column("payment_reference", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("billing_accounts", "payment_reference")
    op.drop_column("communications", "outcome")
