"""live events: on PostgreSQL, every timeline row notifies the API processes (LISTEN connectdesk_events)

Revision ID: e7b1c5d9f3a6
Revises: d6a0f4b8c2e5
Create Date: 2026-12-01 09:30:00+00:00

The notice is sent when the writing transaction commits, from whichever process wrote the row
(API or worker), with the request ID as its payload. SQLite has no NOTIFY: there the API reads
the new rows itself (``api.events``), so nothing is created.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "e7b1c5d9f3a6"
down_revision: str | None = "d6a0f4b8c2e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION notify_request_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('connectdesk_events', NEW.request_id);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER request_events_notify AFTER INSERT ON request_events "
        "FOR EACH ROW EXECUTE FUNCTION notify_request_event()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS request_events_notify ON request_events")
    op.execute("DROP FUNCTION IF EXISTS notify_request_event()")
