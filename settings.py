"""Runtime configuration, read from environment variables prefixed ``CONNECTDESK_``.

Every value has a working default for the embedded dev stack except the signing secret, which
has no default anywhere: ``connectdesk dev`` makes one under ``var/``, every other start refuses
to run without one (``Settings.jwt_keyring`` raises ``MissingSecret``). The README lists them all.
Docker secrets work too: a file ``/run/secrets/connectdesk_jwt_secret`` sets ``jwt_secret``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.consumers.health import VipRule
from domain.consumers.types import Category
from domain.passwords import PasswordPolicy
from domain.signin import SigninPolicy

ROOT = Path(__file__).resolve().parent
DOCKER_SECRETS = Path("/run/secrets")

MIN_SECRET_LENGTH = 32
DEFAULT_KID = "default"  # the key id of CONNECTDESK_JWT_SECRET
# Values once published in this repository (or typical placeholders): never accepted as a key.
PUBLISHED_SECRETS = frozenset(
    {
        "dev-only-change-me-in-production-0123456789",
        "change-me-in-production-0123456789abcdef",
    }
)
_KID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
SECRET_HINT = (
    "use 32 or more random characters, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
)


class MissingSecret(ValueError):
    """No JWT signing key is configured: every start but ``connectdesk dev`` refuses to run."""

    setting = "CONNECTDESK_JWT_SECRET"

    def __init__(self) -> None:
        super().__init__(
            f"Missing setting {self.setting}: the API signs sign-ins with it and has no default; "
            f"{SECRET_HINT} (or list rotating keys in CONNECTDESK_JWT_KEYS as kid:secret,...). "
            "`connectdesk dev` makes one under var/ for the dev stack."
        )


@dataclass(frozen=True)
class JwtKey:
    """A signing key and the id (``kid`` header) tokens signed with it carry."""

    kid: str
    secret: str

    def __repr__(self) -> str:  # never the secret, even in a traceback
        return f"JwtKey(kid={self.kid!r})"


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` is too weak to sign tokens with, or None when it will do."""
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is too short ({len(secret)} characters); {SECRET_HINT}"
    lowered = secret.lower()
    if secret in PUBLISHED_SECRETS or "change-me" in lowered or "changeme" in lowered:
        return f"is a published placeholder, not a secret; {SECRET_HINT}"
    if len(set(secret)) < 10:
        return f"repeats too few characters to be random; {SECRET_HINT}"
    return None


def parse_jwt_keys(value: str) -> list[JwtKey]:
    """``kid1:secret1,kid2:secret2`` as keys, in order; ValueError naming the first bad entry."""
    keys: list[JwtKey] = []
    for position, entry in enumerate((e.strip() for e in value.split(",")), start=1):
        if not entry:
            continue
        kid, sep, secret = entry.partition(":")
        kid = kid.strip()
        if not sep or not _KID.match(kid):
            raise ValueError(
                f"entry {position} is not kid:secret (a kid is 1-40 letters, digits, '.', '_' or '-')"
            )
        weakness = secret_weakness(secret)
        if weakness:
            raise ValueError(f"the secret of key {kid!r} {weakness}")
        if any(key.kid == kid for key in keys):
            raise ValueError(f"key id {kid!r} appears twice")
        keys.append(JwtKey(kid, secret))
    return keys


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CONNECTDESK_",
        env_file=".env",
        extra="ignore",
        secrets_dir=DOCKER_SECRETS if DOCKER_SECRETS.is_dir() else None,
    )

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
    api_workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes for `connectdesk api`")
    api_port: int = Field(8000, ge=1, le=65535)
    public_url: str = Field("", description="URL users open; default http://<api host>:<api port>")

    jwt_secret: SecretStr = Field(
        SecretStr(""),
        description="The signing key (kid 'default'); no default: required outside `connectdesk dev`",
    )
    jwt_keys: SecretStr = Field(
        SecretStr(""),
        description="Rotating keys 'kid:secret,...'; the first signs, every one listed verifies",
    )
    jwt_ttl_minutes: int = Field(480, gt=0)
    session_idle_minutes: float = Field(
        30, gt=0, description="A UI session unused this long ends; each use slides it forward"
    )

    signin_max_failures: int = Field(
        5, ge=1, description="Failed sign-ins in a row that lock an account for signin_lockout_minutes"
    )
    signin_lockout_minutes: float = Field(15, gt=0, description="How long a lockout lasts")
    signin_free_failures: int = Field(2, ge=0, description="Failures before the exponential back-off starts")
    signin_backoff_seconds: float = Field(
        1, gt=0, description="The first back-off wait; it doubles with each further failure, up to a minute"
    )
    signin_address_max_failures: int = Field(
        20, ge=1, description="Failed sign-ins from one client address (any accounts) that lock it out"
    )
    password_min_length: int = Field(12, ge=8, le=128, description="For new and changed passwords")

    smtp_host: str = ""
    smtp_port: int = Field(25, ge=1, le=65535)
    mail_from: str = "connectdesk@utility.example"
    supervisor_email: str = "supervisors@utility.example"
    sms_sender: Literal["log", "http"] = Field(
        "log", description="Outgoing SMS: 'log' writes them to the worker's log; 'http' posts to sms_url"
    )
    sms_url: str = Field("", description="The SMS provider's send endpoint (sms_sender=http)")
    sms_token: SecretStr = Field(SecretStr(""), description="Bearer token for the SMS provider")
    sms_from: str = Field("", description="The sender ID or number texts come from (sms_sender=http)")

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

    log_format: Literal["json", "text"] = Field(
        "json", description="json: one object per line (production); text: readable (`make run`)"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    time_zone: str = Field(
        "UTC", description="The utility's time zone: every date and time the web UI shows (IANA name)"
    )
    worker_shutdown_grace_seconds: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM, how long the worker lets in-flight activities finish before cancelling them",
    )
    otlp_endpoint: str = Field(
        "",
        description="OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); empty: tracing off",
    )
    worker_max_cached_workflows: int = Field(
        1000,
        ge=0,
        description="Open requests a worker keeps in memory (its sticky cache): ~0.15 MB each unsandboxed, "
        "~0.3 MB sandboxed. 1,000 keep a worker near 310 MB with 10,000 open; 10,000 cached took 1.35 GB and "
        "starved escalations (bench/scale_bench.py). A request not cached replays its history on its next task",
    )
    worker_sandboxed: bool = Field(
        False,
        description="Run workflows in temporalio's sandbox (each run's modules re-imported, non-deterministic "
        "calls refused). Off by default: a third less worker CPU per action, two thirds less per new or "
        "evicted request, about half the memory per cached request; the test suite's workflow tests "
        "and the replay test run sandboxed, which is where the sandbox's checks belong",
    )
    worker_metrics_address: str = Field(
        "",
        description="host:port where the worker serves Prometheus metrics (the Temporal SDK's and "
        "ConnectDesk's); empty: off",
    )

    payment_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Shared secret the billing system signs payment webhooks with; empty: the webhook is off",
    )
    payment_webhook_tolerance_seconds: int = Field(
        300, ge=1, le=3600, description="How far a webhook's signed timestamp may be from now"
    )
    auto_reconnect_after_payment: bool = Field(
        False,
        description="A consumer cut for non-payment whose payment clears the arrears gets the reconnection "
        "request created automatically (reason 'Outstanding balance cleared': the regulated deadline)",
    )

    dunning_enabled: bool = Field(
        True, description="Run nightly dunning (the worker creates its schedule); off deletes the schedule"
    )
    dunning_cron: str = Field(
        "0 2 * * *", description="When dunning runs: a 5-field cron expression in dunning_time_zone"
    )
    dunning_time_zone: str = Field(
        "", description="The schedule's IANA time zone; empty: the jurisdiction profile's (the utility's)"
    )
    dunning_batch_size: int = Field(100, ge=1, le=1000, description="Consumers each dunning activity handles")

    db_pool_size: int = Field(20, ge=1, description="Database connections each process keeps open")
    db_max_overflow: int = Field(10, ge=0, description="Extra connections under a burst, closed again after")
    db_pool_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="How long a request waits for a free connection before it is answered 503 + Retry-After",
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

    @field_validator("dunning_cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("give a 5-field cron expression (minute hour day-of-month month day-of-week)")
        return value

    @field_validator("dunning_time_zone", "time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and (weakness := secret_weakness(secret)):
            raise ValueError(weakness)
        return value

    @field_validator("jwt_keys")
    @classmethod
    def _key_list(cls, value: SecretStr) -> SecretStr:
        parse_jwt_keys(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _one_default_key(self) -> Settings:
        listed = parse_jwt_keys(self.jwt_keys.get_secret_value())
        secret = self.jwt_secret.get_secret_value()
        clash = next((k for k in listed if k.kid == DEFAULT_KID and k.secret != secret), None)
        if secret and clash:
            raise ValueError(
                f"CONNECTDESK_JWT_KEYS lists kid '{DEFAULT_KID}', which is CONNECTDESK_JWT_SECRET's; "
                "give it another kid or leave CONNECTDESK_JWT_SECRET out"
            )
        return self

    @property
    def jwt_keyring(self) -> tuple[JwtKey, ...]:
        """Accepted signing keys, the signing one first: CONNECTDESK_JWT_KEYS, then
        CONNECTDESK_JWT_SECRET as kid 'default'. MissingSecret when there is none."""
        keys = parse_jwt_keys(self.jwt_keys.get_secret_value())
        secret = self.jwt_secret.get_secret_value()
        if secret and all(key.kid != DEFAULT_KID for key in keys):
            keys.append(JwtKey(DEFAULT_KID, secret))
        if not keys:
            raise MissingSecret()
        return tuple(keys)

    @property
    def session_idle(self) -> timedelta:
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def account_signin_policy(self) -> SigninPolicy:
        """Throttling of sign-ins to one account (keyed by the username typed)."""
        return self._signin_policy(
            free_failures=min(self.signin_free_failures, self.signin_max_failures - 1),
            lockout_after=self.signin_max_failures,
        )

    @property
    def address_signin_policy(self) -> SigninPolicy:
        """Throttling of sign-ins from one client address: a looser rule, as an office shares one."""
        free = max(self.signin_max_failures, self.signin_free_failures)
        return self._signin_policy(
            free_failures=min(free, self.signin_address_max_failures - 1),
            lockout_after=self.signin_address_max_failures,
        )

    def _signin_policy(self, *, free_failures: int, lockout_after: int) -> SigninPolicy:
        lockout = timedelta(minutes=self.signin_lockout_minutes)
        return SigninPolicy(
            free_failures=free_failures,
            base_delay=min(timedelta(seconds=self.signin_backoff_seconds), lockout),  # then 2×, 4×, …
            max_delay=min(max(timedelta(minutes=1), timedelta(seconds=self.signin_backoff_seconds)), lockout),
            lockout_after=lockout_after,
            lockout=lockout,
        )

    @property
    def password_policy(self) -> PasswordPolicy:
        return PasswordPolicy(min_length=self.password_min_length)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'connectdesk.db'}"

    @property
    def db_pool(self) -> dict[str, float]:
        """make_engine's pool arguments, the same on SQLite and PostgreSQL."""
        return {
            "pool_size": self.db_pool_size,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout_seconds,
        }

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


SECRET_SETTINGS = frozenset({"jwt_secret", "jwt_keys"})


def setting_errors(exc: ValidationError) -> list[str]:
    """One line per wrong setting, naming its variable (never echoing a secret's value)."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if not field:
            lines.append(f"Invalid settings: {message}. Fix the environment variables or .env and try again.")
            continue
        shown = "" if field in SECRET_SETTINGS else f" (got {error.get('input')!r})"
        lines.append(
            f"Invalid setting CONNECTDESK_{field.upper()}: {message}{shown}. "
            "Fix the environment variable or .env and try again."
        )
    return lines


def server_settings() -> Settings:
    """Settings for serving the API from the environment (``uvicorn api.main:create_app --factory``):
    a wrong setting, or no signing key, exits with one line naming the variable, not a traceback."""
    try:
        settings = get_settings()
        settings.jwt_keyring  # noqa: B018 - raises MissingSecret
    except ValidationError as exc:
        raise SystemExit("\n".join(setting_errors(exc))) from None
    except MissingSecret as exc:
        raise SystemExit(str(exc)) from None
    return settings
