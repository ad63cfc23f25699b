"""Runtime configuration, read from environment variables prefixed ``CONNECTDESK_``.

Every value has a working default for the embedded dev stack; the README lists them all.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.consumers.health import VipRule
from domain.consumers.types import Category

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONNECTDESK_", env_file=".env", extra="ignore")

    var_dir: Path = Field(ROOT / "var", description="Where the dev stack keeps its SQLite files and logs")
    database_url: str = Field("", description="SQLAlchemy async URL; default: SQLite file under var_dir")

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "connectdesk-requests"
    workflow_id_prefix: str = Field(
        "", description="Prepended to request IDs to form workflow IDs; lets environments share one namespace"
    )
    temporal_ui_port: int = Field(8233, ge=1, le=65535)
    temporal_ui_url: str = Field(
        "", description="Public URL of the Temporal Web UI; default http://127.0.0.1:<ui port>"
    )
    temporal_rpc_timeout_seconds: float = Field(5.0, gt=0)

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    public_url: str = Field("", description="URL users open; default http://<api host>:<api port>")

    jwt_secret: str = Field("dev-only-change-me-in-production-0123456789", min_length=32)
    jwt_ttl_minutes: int = Field(480, gt=0)

    smtp_host: str = ""
    smtp_port: int = Field(25, ge=1, le=65535)
    mail_from: str = "connectdesk@utility.example"
    supervisor_email: str = "supervisors@utility.example"

    reconnection_max_balance: float = Field(
        500.0, ge=0, description="Reconnection is refused while the outstanding balance exceeds this"
    )
    # The VIP rule (domain.consumers.health.VipRule): high value OR loyal and healthy.
    vip_categories: str = Field(
        "Commercial,Industrial,Institutional", description="Comma-separated categories that can be high value"
    )
    vip_min_average_monthly_bill: Decimal | None = Field(
        Decimal(500), ge=0, description="High value from this average monthly bill; empty switches it off"
    )
    vip_min_health_score: int | None = Field(
        90, ge=0, le=100, description="Loyal and healthy from this health score; empty switches it off"
    )
    vip_min_years: float = Field(10, ge=0, description="...and this many years as a customer")

    documents_dir: Path = Field(
        ROOT / "var" / "documents", description="Where uploaded consumer documents are stored"
    )
    documents_max_bytes: int = Field(10 * 1024 * 1024, gt=0)

    db_pool_size: int = Field(
        20, ge=1, description="PostgreSQL connections each process keeps open (SQLite: unused)"
    )
    db_max_overflow: int = Field(
        10, ge=0, description="Extra PostgreSQL connections under a burst, closed again after"
    )
    seed_consumers: int = Field(1000, ge=0, description="Consumers `make run` seeds into an empty database")
    seed: int = 42

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "CONNECTDESK_DATABASE_URL must use an async driver: "
                "'sqlite+aiosqlite:///path.db' or 'postgresql+asyncpg://user@host/db'"
            )
        return value

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'connectdesk.db'}"

    @property
    def db_pool(self) -> dict[str, int]:
        """make_engine's pool arguments (PostgreSQL; SQLite opens a connection per session)."""
        if self.db_url.startswith("sqlite"):
            return {}
        return {"pool_size": self.db_pool_size, "max_overflow": self.db_max_overflow}

    @property
    def temporal_port(self) -> int:
        return int(self.temporal_address.rsplit(":", 1)[1])

    @property
    def temporal_ui(self) -> str:
        return self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}"

    def workflow_id(self, request_id: str) -> str:
        """The workflow ID of a request: its human ID (plus the deployment's prefix, if any)."""
        return f"{self.workflow_id_prefix}{request_id}"

    @field_validator("vip_categories")
    @classmethod
    def _known_categories(cls, value: str) -> str:
        known = {c.value for c in Category}
        unknown = [n.strip() for n in value.split(",") if n.strip() and n.strip() not in known]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; use some of: {', '.join(sorted(known))}")
        return value

    @field_validator("vip_min_average_monthly_bill", "vip_min_health_score", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def vip_rule(self) -> VipRule:
        names = [name.strip() for name in self.vip_categories.split(",") if name.strip()]
        return VipRule(
            categories=frozenset(Category(name) for name in names),
            min_average_monthly_bill=self.vip_min_average_monthly_bill,
            min_health_score=self.vip_min_health_score,
            min_years=self.vip_min_years,
        )

    @property
    def public(self) -> str:
        return self.public_url or f"http://{self.api_host}:{self.api_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
