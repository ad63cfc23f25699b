"""Declarative base with a naming convention, so constraint names match on every database."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Dialect, Enum, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, identical on SQLite and PostgreSQL."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every database: stored as UTC, returned as aware UTC.

    SQLite has no timezone type, so without this it hands back naive values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Base.registry.update_type_annotation_map({datetime: UtcDateTime()})


# Expression indexes created by hand-written migrations (trigram GIN on PostgreSQL); Alembic's
# autogenerate can neither declare nor reflect them portably, so it is told to leave them alone.
EXPRESSION_INDEXES = frozenset(
    {
        "ix_consumers_lower_first_name",  # SQLite; PostgreSQL searches ix_consumers_search_text
        "ix_consumers_lower_last_name",
        "ix_consumers_lower_account_number",
        "ix_consumers_search_text",
        "ix_requests_lower_request_id",  # SQLite; PostgreSQL searches ix_requests_search_text
        "ix_requests_search_text",
        "ix_requests_priority_rank",
        "ix_requests_request_id_pattern",
    }
)


# SQLite's FTS5 search tables (and the shadow tables FTS5 keeps beside them), also hand-made.
FULL_TEXT_TABLES = ("consumer_search", "request_search")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic autogenerate filter: skip the hand-managed expression indexes and full-text tables."""
    if type_ == "index":
        return name not in EXPRESSION_INDEXES
    if type_ == "table" and name:
        return not any(name == t or name.startswith(f"{t}_") for t in FULL_TEXT_TABLES)
    return True
