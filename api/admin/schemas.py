"""What the admin endpoints read and return: SLA settings, the business calendar, time slots, plans,
users."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SecretStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from api.params import WallClock
from api.reference.schemas import CENT, PLAN_EXAMPLE
from domain.business_calendar import CalendarSettings, Holiday
from domain.consumers.types import SUB_CATEGORIES, Category, UtilityType
from domain.users import Role

Minutes = Annotated[int, Field(ge=1, le=60 * 24 * 30, description="Minutes (1 to 30 days)")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
PlanName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
ShortName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=24, pattern=r"^[A-Za-z0-9._-]+$")
]
SubCategory = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
# Checked as sent (a third decimal place is refused, never rounded away), then shown with 2 places.
Fee = Annotated[
    Decimal, Field(ge=0, max_digits=10, decimal_places=2), AfterValidator(lambda v: v.quantize(CENT))
]
RateName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Rates = dict[RateName, Annotated[float, Field(ge=0)]]
Feature = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Features = Annotated[list[Feature], Field(max_length=50)]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Password = Annotated[SecretStr, Field(min_length=8, max_length=1024)]


class _Input(BaseModel):
    """A request body: unknown fields are refused, so a typo is a 422 rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class _Patch(_Input):
    """A partial update: omit a field to leave it unchanged; an explicit null is refused."""

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null; omit it to leave it unchanged")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent."""
        return {name: getattr(self, name) for name in self.model_fields_set}

    @classmethod
    def __get_pydantic_json_schema__(cls, core: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # The fields are optional, not nullable: document them without the `null` they refuse.
        schema = handler(core)
        for field in handler.resolve_ref_schema(schema).get("properties", {}).values():
            options = [option for option in field.pop("anyOf", []) if option.get("type") != "null"]
            field.update(options[0] if len(options) == 1 else {"anyOf": options} if options else {})
            field.pop("default", None)
        return schema


# ---- SLA ----------------------------------------------------------------------------------------


_MEASURED_IN = (
    "The {} target is measured in business hours (the business calendar's working windows, holidays "
    "and closures not counted: true) or in calendar time, 24/7 (false, the default)."
)


class SlaSettingsUpdate(_Input):
    """The whole SLA policy (PUT replaces it): targets in minutes from a request's creation, each
    counted in business hours or in calendar time.

    Targets must not shrink along the lifecycle: acknowledgement ≤ response ≤ resolution.
    New requests capture the policy in force when they are created.
    """

    ack_minutes: Minutes = Field(description="Acknowledgement target")
    response_minutes: Minutes = Field(description="Response target, not shorter than acknowledgement")
    resolution_minutes: Minutes = Field(description="Resolution target, not shorter than response")
    at_risk_fraction: float = Field(gt=0, lt=1, description="Share of a window after which it is At Risk")
    pause_resolution_on_hold: bool = Field(description="Stop the resolution clock while On Hold")
    re_escalate_minutes: Minutes = Field(
        description="Escalate again this often while a target stays breached"
    )
    ack_business_hours: bool = Field(False, description=_MEASURED_IN.format("acknowledgement"))
    response_business_hours: bool = Field(False, description=_MEASURED_IN.format("response"))
    resolution_business_hours: bool = Field(
        False,
        description=_MEASURED_IN.format("resolution")
        + " A reconnection's regulated deadline replaces it and is always calendar time.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ack_minutes": 120,
                    "response_minutes": 240,
                    "resolution_minutes": 1440,
                    "at_risk_fraction": 0.75,
                    "pause_resolution_on_hold": False,
                    "re_escalate_minutes": 240,
                    "ack_business_hours": True,
                    "response_business_hours": True,
                    "resolution_business_hours": False,
                }
            ]
        }
    )

    @field_validator("response_minutes")
    @classmethod
    def _response_after_ack(cls, value: int, info: ValidationInfo) -> int:
        ack = info.data.get("ack_minutes")
        if ack is not None and value < ack:
            raise ValueError(f"must be at least ack_minutes ({ack})")
        return value

    @field_validator("resolution_minutes")
    @classmethod
    def _resolution_after_response(cls, value: int, info: ValidationInfo) -> int:
        response = info.data.get("response_minutes")
        if response is not None and value < response:
            raise ValueError(f"must be at least response_minutes ({response})")
        return value


class SlaApplied(BaseModel):
    """What applying the SLA policy in force to the open requests did."""

    open_requests: int = Field(description="Requests open when it ran")
    told: int = Field(description="Of those, how many workflows took the new policy")
    not_reached: list[str] = Field(
        description="Requests whose workflow could not be told (Temporal did not answer): apply again"
    )


class SlaSettingsRead(BaseModel):
    """The SLA policy in force, and who last changed it (null while the defaults apply)."""

    ack_minutes: int
    response_minutes: int
    resolution_minutes: int
    at_risk_fraction: float
    pause_resolution_on_hold: bool
    re_escalate_minutes: int
    ack_business_hours: bool = Field(description="Acknowledgement in business hours (false: calendar time)")
    response_business_hours: bool = Field(description="Response in business hours (false: calendar time)")
    resolution_business_hours: bool = Field(description="Resolution in business hours (false: calendar time)")
    updated_by: str | None = None
    updated_at: dt.datetime | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ack_minutes": 120,
                    "response_minutes": 240,
                    "resolution_minutes": 1440,
                    "at_risk_fraction": 0.75,
                    "pause_resolution_on_hold": False,
                    "re_escalate_minutes": 240,
                    "ack_business_hours": True,
                    "response_business_hours": True,
                    "resolution_business_hours": False,
                    "updated_by": "admin",
                    "updated_at": "2026-11-23T09:15:00Z",
                }
            ]
        }
    )


# ---- business calendar --------------------------------------------------------------------------


class BusinessCalendarRead(CalendarSettings):
    """The business calendar in force, the days it is closed this year, and who last changed it
    (null while the defaults apply: office hours in the app's time zone, no holidays)."""

    model_config = ConfigDict(frozen=True, extra="ignore", json_schema_extra={})

    closed_this_year: list[Holiday] = Field(
        description="This year's public holidays of the country / region and the closures, by date"
    )
    updated_by: str | None = None
    updated_at: dt.datetime | None = None


class BusinessTimePreview(BaseModel):
    """When ``hours`` of business time after ``start`` end, on the calendar in force."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "start": "2026-12-04T15:30:00-05:00",
                    "hours": 4,
                    "due_at": "2026-12-07T10:30:00-05:00",
                    "time_zone": "America/New_York",
                }
            ]
        }
    )

    start: dt.datetime = Field(description="The moment counting starts (ISO 8601 with offset)")
    hours: float = Field(description="Business hours counted")
    due_at: dt.datetime = Field(
        description="When they end, in the calendar's time zone (ISO 8601 with offset)"
    )
    time_zone: str = Field(description="The calendar's time zone")


# ---- time slots ---------------------------------------------------------------------------------

TIME_SLOT_EXAMPLE: dict[str, Any] = {
    "label": "08:00–10:00",
    "start_time": "08:00",
    "end_time": "10:00",
    "capacity_per_day": 4,
    "active": True,
}


class TimeSlotCreate(_Input):
    """A visit window; it must end after it starts and not overlap another active slot."""

    label: Label
    start_time: WallClock
    end_time: WallClock
    capacity_per_day: int = Field(ge=1, le=1000, description="Visits that fit in this slot each day")
    active: bool = True

    model_config = ConfigDict(json_schema_extra={"examples": [TIME_SLOT_EXAMPLE]})

    @field_validator("end_time")
    @classmethod
    def _ends_after_start(cls, value: dt.time, info: ValidationInfo) -> dt.time:
        start = info.data.get("start_time")
        if start is not None and value <= start:
            raise ValueError("must be after start_time")
        return value


class TimeSlotUpdate(_Patch):
    """Any of a slot's fields; the result must still end after it starts and not overlap."""

    label: Label | None = None
    start_time: WallClock | None = None
    end_time: WallClock | None = None
    capacity_per_day: int | None = Field(None, ge=1, le=1000)
    active: bool | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"capacity_per_day": 6}, {"active": False}]})


class TimeSlotRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [{"id": 1, **TIME_SLOT_EXAMPLE}]}
    )

    id: int
    label: str
    start_time: WallClock
    end_time: WallClock
    capacity_per_day: int
    active: bool


# ---- plans --------------------------------------------------------------------------------------


class PlanServiceIn(_Input):
    utility: UtilityType
    metered: bool = Field(True, description="A metered service needs a meter at activation")


def _one_service_per_utility(services: list[PlanServiceIn]) -> list[PlanServiceIn]:
    utilities = [service.utility for service in services]
    duplicates = sorted({u.value for u in utilities if utilities.count(u) > 1})
    if duplicates:
        raise ValueError(f"each utility may appear once; repeated: {', '.join(duplicates)}")
    return services


def sub_category_error(category: Category, sub_category: str) -> str | None:
    """Why ``sub_category`` is not one of ``category``'s, or None when it is."""
    allowed = SUB_CATEGORIES[category]
    if sub_category in allowed:
        return None
    return f"'{sub_category}' is not a {category.value} sub-category; use one of: {', '.join(allowed)}"


_PLAN_INPUT_EXAMPLE: dict[str, Any] = {k: v for k, v in PLAN_EXAMPLE.items() if k != "id"}


class PlanCreate(_Input):
    """A billing plan for one category and sub-category, with at least one utility service."""

    name: PlanName
    short_name: ShortName = Field(description="Unique code, letters, digits, '.', '_' or '-'")
    category: Category
    sub_category: SubCategory = Field(description="One of the category's sub-categories")
    monthly_fee: Fee
    rates: Rates = Field(default_factory=dict)
    features: Features = Field(default_factory=list)
    services: list[PlanServiceIn] = Field(min_length=1, max_length=len(UtilityType))
    active: bool = True

    model_config = ConfigDict(json_schema_extra={"examples": [_PLAN_INPUT_EXAMPLE]})

    @field_validator("sub_category")
    @classmethod
    def _sub_category_of_category(cls, value: str, info: ValidationInfo) -> str:
        category = info.data.get("category")
        if category is not None and (error := sub_category_error(category, value)):
            raise ValueError(error)
        return value

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[PlanServiceIn]) -> list[PlanServiceIn]:
        return _one_service_per_utility(value)


class PlanUpdate(_Patch):
    """Any of a plan's fields; ``services`` replaces the whole list."""

    name: PlanName | None = None
    short_name: ShortName | None = None
    category: Category | None = None
    sub_category: SubCategory | None = None
    monthly_fee: Fee | None = None
    rates: Rates | None = None
    features: Features | None = None
    services: Annotated[list[PlanServiceIn], Field(min_length=1, max_length=len(UtilityType))] | None = None
    active: bool | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"monthly_fee": "95.00", "features": ["Priority support"]}, {"active": False}]
        }
    )

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[PlanServiceIn] | None) -> list[PlanServiceIn] | None:
        return None if value is None else _one_service_per_utility(value)


# ---- users --------------------------------------------------------------------------------------


class StaffUserCreate(_Input):
    """A CSR, supervisor or admin account; the password is hashed and never returned."""

    username: Username
    full_name: FullName
    email: Email
    role: Role
    password: Password
    is_active: bool = True

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "jdoe",
                    "full_name": "Jane Doe",
                    "email": "jdoe@utility.example",
                    "role": "csr",
                    "password": "correct-horse-battery",
                    "is_active": True,
                }
            ]
        }
    )


class StaffUserUpdate(_Patch):
    """Any of an account's fields; a new ``password`` replaces the old one."""

    username: Username | None = None
    full_name: FullName | None = None
    email: Email | None = None
    role: Role | None = None
    password: Password | None = None
    is_active: bool | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "supervisor"}, {"is_active": False}]})


class StaffUserRead(BaseModel):
    """An account as admins see it: never the password or its hash."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "username": "jdoe",
                    "full_name": "Jane Doe",
                    "email": "jdoe@utility.example",
                    "role": "csr",
                    "is_active": True,
                    "created_at": "2026-11-23T09:15:00Z",
                }
            ]
        },
    )

    id: int
    username: str
    full_name: str
    email: str
    role: Role
    is_active: bool
    created_at: dt.datetime
