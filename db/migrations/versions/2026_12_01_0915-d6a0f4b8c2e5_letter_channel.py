"""communication channel "letter": a final notice sent in writing by post

Revision ID: d6a0f4b8c2e5
Revises: c5f9e3a7b1d4
Create Date: 2026-12-01 09:15:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from db.schema_edits import in_list, replace_check

revision: str = "d6a0f4b8c2e5"
down_revision: str | None = "c5f9e3a7b1d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("email", "sms", "phone", "in_person", "system", "note")
NEW = (*OLD, "letter")
NAME = "ck_communications_channel"


def upgrade() -> None:
    replace_check("communications", NAME, in_list("channel", OLD), in_list("channel", NEW))


def downgrade() -> None:
    # the old check has no room for it: a letter reads as a system record of the notice
    op.execute("UPDATE communications SET channel = 'system' WHERE channel = 'letter'")
    replace_check("communications", NAME, in_list("channel", NEW), in_list("channel", OLD))
