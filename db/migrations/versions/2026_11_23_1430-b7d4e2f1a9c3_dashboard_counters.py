"""dashboard counters kept by triggers; indexes for the filtered lists

The requests and consumer dashboards counted 100,000 rows on every call (100-150 ms). Now two
small tables hold the running totals — requests per (type, status, SLA state), consumers and
balance cents per status — and database triggers keep them, so no writer can forget to:
row triggers on SQLite, statement triggers with transition tables on PostgreSQL (one write per
statement, and only where a total really changes, so an UPDATE that leaves status and balance
alone never touches the shared counter row). The tables are filled from the data here.

The request totals are kept per (type, status, SLA state, priority): the dashboard reads them,
and so does a list's total whenever its filters are only those four (no scan to count 90,000
history rows). Indexes for the lists the benchmark found scanning: the escalation queue and
status + SLA filters (status, sla_status, created_at), the sorts by status, priority rank and due
date, billing accounts by consumer.

Revision ID: b7d4e2f1a9c3
Revises: a3f1c9e2d7b8
Create Date: 2026-11-23 14:30:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d4e2f1a9c3"
down_revision: str | None = "a3f1c9e2d7b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REQUEST_TYPES = ("Reconnection", "Disconnection")
PRIORITIES = ("Low", "Medium", "High", "Critical")
REQUEST_STATUSES = ("Pending", "In Progress", "On Hold", "Completed", "Closed")
SLA_STATES = ("On Track", "At Risk", "Met", "Breached")
CONSUMER_STATUSES = ("Active", "Inactive", "Pending", "Disconnected", "Collection", "Temporarily Disconnected")


# The priority's rank, exactly as api.requests.service sorts by it (db.models.request.PRIORITY_RANK):
# an expression index serves only the identical expression.
PRIORITY_RANK = "CASE priority WHEN 'Low' THEN 0 WHEN 'Medium' THEN 1 WHEN 'High' THEN 2 WHEN 'Critical' THEN 3 END"


OPEN = "status IN ('Pending', 'In Progress', 'On Hold')"  # db.models.request._OPEN, character for character


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


# -- SQLite: row triggers; UPSERT adds to a total, creating its row on first use ----------------------

_SQLITE_REQUESTS = """
CREATE TRIGGER request_counts_insert AFTER INSERT ON requests BEGIN
  INSERT INTO request_counts (request_type, status, sla_status, priority, n)
  VALUES (NEW.request_type, NEW.status, NEW.sla_status, NEW.priority, 1)
  ON CONFLICT (request_type, status, sla_status, priority) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER request_counts_delete AFTER DELETE ON requests BEGIN
  UPDATE request_counts SET n = n - 1
  WHERE request_type = OLD.request_type AND status = OLD.status AND sla_status = OLD.sla_status
    AND priority = OLD.priority;
END;
CREATE TRIGGER request_counts_update AFTER UPDATE OF request_type, status, sla_status, priority ON requests
WHEN OLD.request_type IS NOT NEW.request_type OR OLD.status IS NOT NEW.status
  OR OLD.sla_status IS NOT NEW.sla_status OR OLD.priority IS NOT NEW.priority
BEGIN
  UPDATE request_counts SET n = n - 1
  WHERE request_type = OLD.request_type AND status = OLD.status AND sla_status = OLD.sla_status
    AND priority = OLD.priority;
  INSERT INTO request_counts (request_type, status, sla_status, priority, n)
  VALUES (NEW.request_type, NEW.status, NEW.sla_status, NEW.priority, 1)
  ON CONFLICT (request_type, status, sla_status, priority) DO UPDATE SET n = n + 1;
END;
"""

_CENTS = "CAST(round({row}.balance * 100) AS INTEGER)"

_SQLITE_CONSUMERS = f"""
CREATE TRIGGER consumer_totals_insert AFTER INSERT ON consumers BEGIN
  INSERT INTO consumer_totals (status, n, balance_cents) VALUES (NEW.status, 1, {_CENTS.format(row="NEW")})
  ON CONFLICT (status) DO UPDATE SET n = n + 1, balance_cents = balance_cents + excluded.balance_cents;
END;
CREATE TRIGGER consumer_totals_delete AFTER DELETE ON consumers BEGIN
  UPDATE consumer_totals SET n = n - 1, balance_cents = balance_cents - {_CENTS.format(row="OLD")}
  WHERE status = OLD.status;
END;
CREATE TRIGGER consumer_totals_update AFTER UPDATE OF status, balance ON consumers
WHEN OLD.status IS NOT NEW.status OR OLD.balance IS NOT NEW.balance
BEGIN
  UPDATE consumer_totals SET n = n - 1, balance_cents = balance_cents - {_CENTS.format(row="OLD")}
  WHERE status = OLD.status;
  INSERT INTO consumer_totals (status, n, balance_cents) VALUES (NEW.status, 1, {_CENTS.format(row="NEW")})
  ON CONFLICT (status) DO UPDATE SET n = n + 1, balance_cents = balance_cents + excluded.balance_cents;
END;
"""

# -- PostgreSQL: statement triggers over the transition tables; one upsert of the net change ---------

def _pg_function(name: str, upsert: str, rows: str) -> str:
    """A trigger function adding the statement's net change: ``rows`` selects +1 per new row and
    -1 per old row from the transition tables (``{new}`` / ``{old}``); an INSERT has no old table
    and a DELETE no new one, so each event gets its own branch (PL/pgSQL plans a branch when it runs)."""
    new_part, old_part = rows.split("|")
    branches = {
        "INSERT": new_part,
        "DELETE": old_part,
        "UPDATE": f"{new_part} UNION ALL {old_part}",
    }
    body = "\n".join(
        f"  {'IF' if i == 0 else 'ELSIF'} TG_OP = '{op_}' THEN\n    {upsert.format(change=change)};"
        for i, (op_, change) in enumerate(branches.items())
    )
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}\n  END IF;\n"
        "  RETURN NULL;\nEND $$;"
    )


_PG_REQUESTS = _pg_function(
    "request_counts_apply",
    "INSERT INTO request_counts (request_type, status, sla_status, priority, n) "
    "SELECT request_type, status, sla_status, priority, sum(d) FROM ({change}) AS change "
    "GROUP BY request_type, status, sla_status, priority HAVING sum(d) <> 0 "
    "ORDER BY request_type, status, sla_status, priority "  # one lock order for every writer
    "ON CONFLICT (request_type, status, sla_status, priority) DO UPDATE SET n = request_counts.n + excluded.n",
    "SELECT request_type, status, sla_status, priority, 1 AS d FROM new_rows"
    "|SELECT request_type, status, sla_status, priority, -1 AS d FROM old_rows",
)

_PG_CONSUMERS = _pg_function(
    "consumer_totals_apply",
    "INSERT INTO consumer_totals (status, n, balance_cents) "
    "SELECT status, sum(d), sum(cents) FROM ({change}) AS change "
    "GROUP BY status HAVING sum(d) <> 0 OR sum(cents) <> 0 ORDER BY status "
    "ON CONFLICT (status) DO UPDATE SET n = consumer_totals.n + excluded.n, "
    "balance_cents = consumer_totals.balance_cents + excluded.balance_cents",
    "SELECT status, 1 AS d, round(balance * 100)::bigint AS cents FROM new_rows"
    "|SELECT status, -1 AS d, -round(balance * 100)::bigint AS cents FROM old_rows",
)


def upgrade() -> None:
    op.create_table(
        "request_counts",
        sa.Column("request_type", _enum(REQUEST_TYPES, "request_counts_request_type"), nullable=False),
        sa.Column("status", _enum(REQUEST_STATUSES, "request_counts_status"), nullable=False),
        sa.Column("sla_status", _enum(SLA_STATES, "request_counts_sla_status"), nullable=False),
        sa.Column("priority", _enum(PRIORITIES, "request_counts_priority"), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("request_type", "status", "sla_status", "priority", name=op.f("pk_request_counts")),
    )
    op.create_table(
        "consumer_totals",
        sa.Column("status", _enum(CONSUMER_STATUSES, "consumer_totals_status"), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("balance_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("status", name=op.f("pk_consumer_totals")),
    )
    op.execute(
        "INSERT INTO request_counts (request_type, status, sla_status, priority, n) "
        "SELECT request_type, status, sla_status, priority, count(*) FROM requests GROUP BY request_type, status, sla_status, priority"
    )
    op.execute(
        "INSERT INTO consumer_totals (status, n, balance_cents) "
        "SELECT status, count(*), coalesce(sum(CAST(round(balance * 100) AS BIGINT)), 0) FROM consumers GROUP BY status"
    )
    if op.get_bind().dialect.name == "postgresql":
        for function, table in (("request_counts_apply", "requests"), ("consumer_totals_apply", "consumers")):
            op.execute(_PG_REQUESTS if table == "requests" else _PG_CONSUMERS)
            for event in ("INSERT", "UPDATE", "DELETE"):
                transition = {
                    "INSERT": "NEW TABLE AS new_rows",
                    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                    "DELETE": "OLD TABLE AS old_rows",
                }[event]
                op.execute(
                    f"CREATE TRIGGER {table}_totals_{event.lower()} AFTER {event} ON {table} "
                    f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
                )
    else:
        for script in (_SQLITE_REQUESTS, _SQLITE_CONSUMERS):
            for statement in script.split("END;"):
                if statement.strip():
                    op.execute(statement + "END;")

    op.create_index(
        "ix_requests_status_sla_status_created_at", "requests", ["status", "sla_status", "created_at"]
    )
    # Sorting by status or by priority, newest first within: (key, id) walks in order. The status +
    # type index served the dashboard's scan, which the totals replace.
    op.drop_index("ix_requests_status_type", table_name="requests")
    op.create_index("ix_requests_status_id", "requests", ["status", "id"])
    op.execute(f"CREATE INDEX ix_requests_priority_rank ON requests (({PRIORITY_RANK}), id)")
    # Open requests, oldest first: the escalation queue walks this instead of the whole creation
    # index (open requests are the newest 8 %, so that walk read 90,000 closed ones first).
    op.create_index(
        "ix_requests_open_created_at", "requests", ["created_at", "id"],
        sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN),
    )  # fmt: skip
    if op.get_bind().dialect.name == "postgresql":
        # An ID prefix ("RC-2026-0…") as a btree range: LIKE 'prefix%' needs the pattern operators
        # under a non-C collation. (SQLite's unique index on request_id serves the same range.)
        op.execute("CREATE INDEX ix_requests_request_id_pattern ON requests (request_id text_pattern_ops)")
    op.create_index("ix_requests_resolution_due_at", "requests", ["resolution_due_at"])
    op.create_index("ix_billing_accounts_consumer_id", "billing_accounts", ["consumer_id"])


def downgrade() -> None:
    op.drop_index("ix_billing_accounts_consumer_id", table_name="billing_accounts")
    op.drop_index("ix_requests_resolution_due_at", table_name="requests")
    op.execute("DROP INDEX IF EXISTS ix_requests_priority_rank")
    op.execute("DROP INDEX IF EXISTS ix_requests_request_id_pattern")
    op.drop_index("ix_requests_open_created_at", table_name="requests")
    op.drop_index("ix_requests_status_id", table_name="requests")
    op.create_index("ix_requests_status_type", "requests", ["status", "request_type"])
    op.drop_index("ix_requests_status_sla_status_created_at", table_name="requests")
    if op.get_bind().dialect.name == "postgresql":
        for table in ("requests", "consumers"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_totals_{event} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS request_counts_apply()")
        op.execute("DROP FUNCTION IF EXISTS consumer_totals_apply()")
    else:
        for table in ("request_counts", "consumer_totals"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}")
    op.drop_table("consumer_totals")
    op.drop_table("request_counts")
