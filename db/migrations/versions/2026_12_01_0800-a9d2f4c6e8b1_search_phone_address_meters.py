"""Search by phone, service address and meter: one search text per consumer, kept by triggers

The search text grows from `` first last account`` to
`` first last account phone-digits service address meter device …`` (lower-cased; the phone as
its digits only, so "(555) 123-4567", "555.123.4567" and "5551234567" all find it; the meter
and device numbers of the meters serving the consumer now). It is a column of its own,
``consumers.search_text``, kept by triggers on the consumers, on their meter assignments and on
the meters; a request's ``search_text`` is its consumer's followed by its request ID, as before,
so a request is found through its consumer's phone, address or meter.

- PostgreSQL: ``consumer_search_text(...)`` builds the text; a BEFORE INSERT/UPDATE trigger sets
  it when a searched column changes, the assignments' and meters' triggers rewrite it, and an
  AFTER UPDATE trigger hands a changed text on to the consumer's requests. The GIN trigram index
  ``ix_consumers_search_text`` moves from the expression to the column.
- SQLite: the same column and triggers (after-insert updates, as SQLite triggers cannot set NEW);
  the FTS5 table ``consumer_search`` now indexes the column instead of the three name columns.

Existing rows are rewritten on upgrade; downgrade restores revision e5b9c3d7f1a2's texts.

Revision ID: a9d2f4c6e8b1
Revises: a1c5e9d3b7f2
Create Date: 2026-12-01 08:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a9d2f4c6e8b1"
down_revision: str | None = "a1c5e9d3b7f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = ("first_name", "last_name", "account_number", "phone", "service_address")
SEARCHED_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in SEARCHED)
OLD_NAMES = "first_name, last_name, account_number"
OLD_NAMES_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in OLD_NAMES.split(", "))


def _meters(aggregate: str, meters: str) -> str:
    """' meter device …' of the meters serving the consumer now ('' when none), ``meters`` being
    those meters' rows (m.meter_number, m.device_number)."""
    return f"coalesce((SELECT ' ' || {aggregate} FROM {meters}), '')"


def _serving(consumer_id: str) -> str:
    return (
        "meter_assignments a JOIN meters m ON m.id = a.meter_id "
        f"WHERE a.consumer_id = {consumer_id} AND a.unassigned_on IS NULL"
    )


def _text(p: str, phone_digits: str, meters: str) -> str:
    return (
        f"' ' || lower({p}first_name || ' ' || {p}last_name || ' ' || {p}account_number || ' ' || "
        f"{phone_digits} || ' ' || {p}service_address) || {meters}"
    )


# ---- PostgreSQL -----------------------------------------------------------------------------------

PG_TEXT = _text(
    "",
    "regexp_replace(phone, '[^0-9]', '', 'g')",
    _meters(
        "string_agg(lower(m.meter_number || ' ' || m.device_number), ' ' ORDER BY m.meter_number)",
        _serving("consumer_id_"),
    ),
)
PG_FUNCTION = f"""CREATE FUNCTION consumer_search_text(
    first_name text, last_name text, account_number text, phone text, service_address text,
    consumer_id_ integer
) RETURNS text LANGUAGE sql STABLE AS $$ SELECT {PG_TEXT} $$"""
PG_OF = ", ".join(SEARCHED)
PG_CALL = "consumer_search_text({p}first_name, {p}last_name, {p}account_number, {p}phone, {p}service_address, {p}id)"
PG_REWRITE = f"UPDATE consumers c SET search_text = {PG_CALL.format(p='c.')} WHERE c.id"

PG_UP = [
    "DROP TRIGGER consumers_search_text ON consumers",
    "DROP FUNCTION consumers_search_text()",
    "DROP TRIGGER requests_search_text ON requests",
    "DROP FUNCTION requests_search_text()",
    "DROP INDEX ix_consumers_search_text",
    PG_FUNCTION,
    f"UPDATE consumers SET search_text = {PG_CALL.format(p='')}",
    "UPDATE requests r SET search_text = c.search_text || ' ' || lower(r.request_id) "
    "FROM consumers c WHERE c.id = r.consumer_id",
    # consumers: the text follows its columns; a changed text follows into the requests
    f"""CREATE FUNCTION consumers_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := {PG_CALL.format(p="NEW.")};
    RETURN NEW;
END $$""",
    f"CREATE TRIGGER consumers_search_text BEFORE INSERT OR UPDATE OF {PG_OF} ON consumers "
    "FOR EACH ROW EXECUTE FUNCTION consumers_search_text()",
    """CREATE FUNCTION consumers_requests_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE requests SET search_text = NEW.search_text || ' ' || lower(request_id)
    WHERE consumer_id = NEW.id;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER consumers_requests_search_text AFTER UPDATE ON consumers FOR EACH ROW "
    "WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text) "
    "EXECUTE FUNCTION consumers_requests_search_text()",
    # meters assigned, unassigned or renumbered: their consumers' texts are rewritten
    f"""CREATE FUNCTION meter_assignments_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        {PG_REWRITE} = OLD.consumer_id;
    END IF;
    IF TG_OP = 'INSERT' THEN
        {PG_REWRITE} = NEW.consumer_id;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.consumer_id IS DISTINCT FROM OLD.consumer_id THEN
            {PG_REWRITE} = NEW.consumer_id;
        END IF;
    END IF;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER meter_assignments_search_text AFTER INSERT OR DELETE "
    "OR UPDATE OF consumer_id, meter_id, unassigned_on ON meter_assignments "
    "FOR EACH ROW EXECUTE FUNCTION meter_assignments_search_text()",
    f"""CREATE FUNCTION meters_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {PG_REWRITE} IN (
        SELECT consumer_id FROM meter_assignments WHERE meter_id = NEW.id AND unassigned_on IS NULL
    );
    RETURN NULL;
END $$""",
    "CREATE TRIGGER meters_search_text AFTER UPDATE OF meter_number, device_number ON meters "
    "FOR EACH ROW WHEN (OLD.meter_number IS DISTINCT FROM NEW.meter_number "
    "OR OLD.device_number IS DISTINCT FROM NEW.device_number) EXECUTE FUNCTION meters_search_text()",
    # requests: the consumer's text and the request ID
    """CREATE FUNCTION requests_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := (SELECT c.search_text FROM consumers c WHERE c.id = NEW.consumer_id)
        || ' ' || lower(NEW.request_id);
    RETURN NEW;
END $$""",
    "CREATE TRIGGER requests_search_text BEFORE INSERT OR UPDATE OF consumer_id, request_id "
    "ON requests FOR EACH ROW EXECUTE FUNCTION requests_search_text()",
    "CREATE INDEX ix_consumers_search_text ON consumers USING gin (search_text gin_trgm_ops)",
]

# Revision d5e1a8c4b7f2's objects, and its texts written again.
OLD_CONSUMER_TEXT = "(' ' || lower({p}first_name || ' ' || {p}last_name || ' ' || {p}account_number))"
PG_DOWN = [
    "DROP INDEX ix_consumers_search_text",
    "DROP TRIGGER requests_search_text ON requests",
    "DROP FUNCTION requests_search_text()",
    "DROP TRIGGER meters_search_text ON meters",
    "DROP FUNCTION meters_search_text()",
    "DROP TRIGGER meter_assignments_search_text ON meter_assignments",
    "DROP FUNCTION meter_assignments_search_text()",
    "DROP TRIGGER consumers_requests_search_text ON consumers",
    "DROP FUNCTION consumers_requests_search_text()",
    "DROP TRIGGER consumers_search_text ON consumers",
    "DROP FUNCTION consumers_search_text()",
    "DROP FUNCTION consumer_search_text(text, text, text, text, text, integer)",
    f"UPDATE requests r SET search_text = {OLD_CONSUMER_TEXT.format(p='c.')} || ' ' || lower(r.request_id) "
    "FROM consumers c WHERE c.id = r.consumer_id",
    f"""CREATE FUNCTION requests_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := (SELECT {OLD_CONSUMER_TEXT.format(p="c.")} FROM consumers c WHERE c.id = NEW.consumer_id)
        || ' ' || lower(NEW.request_id);
    RETURN NEW;
END $$""",
    "CREATE TRIGGER requests_search_text BEFORE INSERT OR UPDATE OF consumer_id, request_id "
    "ON requests FOR EACH ROW EXECUTE FUNCTION requests_search_text()",
    f"""CREATE FUNCTION consumers_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE requests SET search_text = {OLD_CONSUMER_TEXT.format(p="NEW.")} || ' ' || lower(request_id)
    WHERE consumer_id = NEW.id;
    RETURN NULL;
END $$""",
    f"CREATE TRIGGER consumers_search_text AFTER UPDATE OF {OLD_NAMES} ON consumers "
    f"FOR EACH ROW WHEN ({OLD_NAMES_CHANGED}) EXECUTE FUNCTION consumers_search_text()",
    f"CREATE INDEX ix_consumers_search_text ON consumers USING gin ({OLD_CONSUMER_TEXT.format(p='')} gin_trgm_ops)",
]

# ---- SQLite ---------------------------------------------------------------------------------------

# The phone's digits: the API accepts digits and "+()-. " only (api.consumers.schemas.Phone).
_DIGITS = "phone"
for _mark in ("+", "(", ")", "-", ".", " "):
    _DIGITS = f"replace({_DIGITS}, '{_mark}', '')"
# group_concat's order is the rows' order: they are read in meter-number order, as PostgreSQL's.
SQLITE_TEXT = _text(
    "consumers.",
    _DIGITS.replace("phone", "consumers.phone"),
    _meters(
        "group_concat(lower(m.meter_number || ' ' || m.device_number), ' ')",
        f"(SELECT m.meter_number, m.device_number FROM {_serving('consumers.id')} ORDER BY m.meter_number) m",
    ),
)
SQLITE_REWRITE = f"UPDATE consumers SET search_text = {SQLITE_TEXT} WHERE id"

_FTS_ADD = "INSERT INTO consumer_search (rowid, search_text) VALUES (NEW.id, NEW.search_text);"
_FTS_REMOVE = (
    "INSERT INTO consumer_search (consumer_search, rowid, search_text) "
    "SELECT 'delete', OLD.id, OLD.search_text WHERE OLD.search_text IS NOT NULL;"
)
_SET_REQUEST_TEXT = (
    "UPDATE requests SET search_text = (SELECT c.search_text FROM consumers c WHERE c.id = NEW.consumer_id) "
    "|| ' ' || lower(NEW.request_id) WHERE id = NEW.id;"
)
SQLITE_UP = [
    "DROP TRIGGER consumer_search_insert",
    "DROP TRIGGER consumer_search_delete",
    "DROP TRIGGER consumer_search_update",
    "DROP TABLE consumer_search",
    "DROP TRIGGER consumers_search_text",
    "DROP TRIGGER requests_search_text_insert",
    "DROP TRIGGER requests_search_text_update",
    "DROP TRIGGER request_search_update",  # the rewrite below re-indexes once, by 'rebuild'
    f"UPDATE consumers SET search_text = {SQLITE_TEXT}",
    "UPDATE requests SET search_text = (SELECT c.search_text FROM consumers c WHERE c.id = requests.consumer_id) "
    "|| ' ' || lower(request_id)",
    "INSERT INTO request_search (request_search) VALUES ('rebuild')",
    "CREATE TRIGGER request_search_update AFTER UPDATE OF search_text ON requests BEGIN "
    "INSERT INTO request_search (request_search, rowid, search_text) "
    "SELECT 'delete', OLD.id, OLD.search_text WHERE OLD.search_text IS NOT NULL; "
    "INSERT INTO request_search (rowid, search_text) VALUES (NEW.id, NEW.search_text); END",
    "CREATE VIRTUAL TABLE consumer_search USING fts5(search_text, content='consumers', "
    "content_rowid='id', tokenize='trigram')",
    "INSERT INTO consumer_search (consumer_search) VALUES ('rebuild')",
    # consumers: the text follows its columns; a changed text is re-indexed and follows into the requests
    f"CREATE TRIGGER consumers_search_text_insert AFTER INSERT ON consumers BEGIN {SQLITE_REWRITE} = NEW.id; END",
    f"CREATE TRIGGER consumers_search_text_update AFTER UPDATE OF {', '.join(SEARCHED)} ON consumers "
    f"WHEN {SEARCHED_CHANGED} BEGIN {SQLITE_REWRITE} = NEW.id; END",
    f"CREATE TRIGGER consumer_search_update AFTER UPDATE OF search_text ON consumers BEGIN {_FTS_REMOVE} "
    f"{_FTS_ADD} UPDATE requests SET search_text = NEW.search_text || ' ' || lower(request_id) "
    "WHERE consumer_id = NEW.id; END",
    f"CREATE TRIGGER consumer_search_delete AFTER DELETE ON consumers BEGIN {_FTS_REMOVE} END",
    # meters assigned, unassigned or renumbered: their consumers' texts are rewritten
    f"CREATE TRIGGER meter_assignments_search_text_insert AFTER INSERT ON meter_assignments "
    f"BEGIN {SQLITE_REWRITE} = NEW.consumer_id; END",
    "CREATE TRIGGER meter_assignments_search_text_update AFTER UPDATE OF consumer_id, meter_id, "
    f"unassigned_on ON meter_assignments BEGIN {SQLITE_REWRITE} IN (OLD.consumer_id, NEW.consumer_id); END",
    f"CREATE TRIGGER meter_assignments_search_text_delete AFTER DELETE ON meter_assignments "
    f"BEGIN {SQLITE_REWRITE} = OLD.consumer_id; END",
    "CREATE TRIGGER meters_search_text AFTER UPDATE OF meter_number, device_number ON meters "
    "WHEN OLD.meter_number IS DISTINCT FROM NEW.meter_number "
    "OR OLD.device_number IS DISTINCT FROM NEW.device_number "
    f"BEGIN {SQLITE_REWRITE} IN (SELECT consumer_id FROM meter_assignments "
    "WHERE meter_id = NEW.id AND unassigned_on IS NULL); END",
    # requests: the consumer's text and the request ID
    f"CREATE TRIGGER requests_search_text_insert AFTER INSERT ON requests BEGIN {_SET_REQUEST_TEXT} END",
    "CREATE TRIGGER requests_search_text_update AFTER UPDATE OF consumer_id, request_id ON requests "
    f"BEGIN {_SET_REQUEST_TEXT} END",
]

_OLD_SET_REQUEST_TEXT = (
    f"UPDATE requests SET search_text = (SELECT {OLD_CONSUMER_TEXT.format(p='c.')} FROM consumers c "
    "WHERE c.id = NEW.consumer_id) || ' ' || lower(NEW.request_id) WHERE id = NEW.id;"
)
_OLD_COLUMNS = ("first_name", "last_name", "account_number")
_OLD_VALUES = ", ".join(f"NEW.{c}" for c in _OLD_COLUMNS)
_OLD_OLD_VALUES = ", ".join(f"OLD.{c}" for c in _OLD_COLUMNS)
_OLD_FTS_ADD = f"INSERT INTO consumer_search (rowid, {OLD_NAMES}) VALUES (NEW.id, {_OLD_VALUES});"
_OLD_FTS_REMOVE = f"INSERT INTO consumer_search (consumer_search, rowid, {OLD_NAMES}) VALUES ('delete', OLD.id, {_OLD_OLD_VALUES});"
SQLITE_DOWN = [
    "DROP TRIGGER requests_search_text_update",
    "DROP TRIGGER requests_search_text_insert",
    "DROP TRIGGER meters_search_text",
    "DROP TRIGGER meter_assignments_search_text_delete",
    "DROP TRIGGER meter_assignments_search_text_update",
    "DROP TRIGGER meter_assignments_search_text_insert",
    "DROP TRIGGER consumer_search_delete",
    "DROP TRIGGER consumer_search_update",
    "DROP TRIGGER consumers_search_text_update",
    "DROP TRIGGER consumers_search_text_insert",
    "DROP TABLE consumer_search",
    "DROP TRIGGER request_search_update",
    f"UPDATE requests SET search_text = (SELECT {OLD_CONSUMER_TEXT.format(p='c.')} FROM consumers c "
    "WHERE c.id = requests.consumer_id) || ' ' || lower(request_id)",
    "INSERT INTO request_search (request_search) VALUES ('rebuild')",
    "CREATE TRIGGER request_search_update AFTER UPDATE OF search_text ON requests BEGIN "
    "INSERT INTO request_search (request_search, rowid, search_text) "
    "SELECT 'delete', OLD.id, OLD.search_text WHERE OLD.search_text IS NOT NULL; "
    "INSERT INTO request_search (rowid, search_text) VALUES (NEW.id, NEW.search_text); END",
    f"CREATE TRIGGER requests_search_text_insert AFTER INSERT ON requests BEGIN {_OLD_SET_REQUEST_TEXT} END",
    "CREATE TRIGGER requests_search_text_update AFTER UPDATE OF consumer_id, request_id ON requests "
    f"BEGIN {_OLD_SET_REQUEST_TEXT} END",
    f"CREATE TRIGGER consumers_search_text AFTER UPDATE OF {OLD_NAMES} ON consumers "
    f"WHEN {OLD_NAMES_CHANGED} BEGIN "
    f"UPDATE requests SET search_text = {OLD_CONSUMER_TEXT.format(p='NEW.')} || ' ' || lower(request_id) "
    "WHERE consumer_id = NEW.id; END",
    f"CREATE VIRTUAL TABLE consumer_search USING fts5({OLD_NAMES}, content='consumers', content_rowid='id', "
    "tokenize='trigram')",
    "INSERT INTO consumer_search (consumer_search) VALUES ('rebuild')",
    f"CREATE TRIGGER consumer_search_insert AFTER INSERT ON consumers BEGIN {_OLD_FTS_ADD} END",
    f"CREATE TRIGGER consumer_search_delete AFTER DELETE ON consumers BEGIN {_OLD_FTS_REMOVE} END",
    f"CREATE TRIGGER consumer_search_update AFTER UPDATE OF {OLD_NAMES} ON consumers "
    f"BEGIN {_OLD_FTS_REMOVE} {_OLD_FTS_ADD} END",
]


def upgrade() -> None:
    op.add_column("consumers", sa.Column("search_text", sa.Text(), nullable=True))
    for statement in PG_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_column("consumers", "search_text")  # SQLite 3.35+: in place, its triggers gone first
