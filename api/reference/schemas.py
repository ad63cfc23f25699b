"""What the reference endpoints return: reasons, plans, available meters, time-slot availability."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.params import WallClock
from domain.consumers.types import Category, MeterStatus, UtilityType
from domain.request.types import RequestType

CENT = Decimal("0.01")
# Money always shows 2 places ("95.00"), whether it came from the database or a request body.
Money = Annotated[Decimal, AfterValidator(lambda value: value.quantize(CENT))]


class ReasonList(BaseModel):
    """The reasons a CSR picks from when creating a request of one type."""

    type: RequestType
    reasons: list[str]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "Reconnection",
                    "reasons": [
                        "Outstanding balance cleared",
                        "New occupant moving in",
                        "Seasonal return",
                        "Service restored after repair",
                        "Other",
                    ],
                }
            ]
        }
    )


class PlanServiceRead(BaseModel):
    """A utility a plan includes; a metered one needs a meter when the request is activated."""

    model_config = ConfigDict(from_attributes=True)

    utility: UtilityType
    metered: bool


PLAN_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "name": "Commercial Retail Gold",
    "short_name": "COM-RTL-G",
    "category": "Commercial",
    "sub_category": "Retail",
    "monthly_fee": "89.00",
    "rates": {"electricity_per_kwh": 0.1725, "water_per_gallon": 0.0061},
    "features": ["Priority support", "Time-of-use pricing"],
    "services": [{"utility": "electricity", "metered": True}, {"utility": "water", "metered": True}],
    "active": True,
}


class PlanRead(BaseModel):
    """A billing plan: fee, rates, features and the utility services it includes."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [PLAN_EXAMPLE]})

    id: int
    name: str
    short_name: str
    category: Category
    sub_category: str
    monthly_fee: Money = Field(description="Monthly fee, a decimal string with 2 places")
    rates: dict[str, float] = Field(description="Named unit rates, e.g. electricity_per_kwh")
    features: list[str]
    services: list[PlanServiceRead]
    active: bool


class PlanSearchResult(BaseModel):
    """Plans matching a search, for one consumer's category when a consumer was given.

    ``message`` explains an empty result (which category, which search) so the CSR knows
    whether to widen the search or ask an administrator to configure a plan.
    """

    items: list[PlanRead]
    category: Category | None = Field(None, description="The consumer's category, when consumer_id was given")
    sub_category: str | None = Field(
        None, description="The consumer's sub-category, when consumer_id was given"
    )
    message: str | None = Field(None, description="Why nothing matched; null when there are items")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [PLAN_EXAMPLE],
                    "category": "Commercial",
                    "sub_category": "Retail",
                    "message": None,
                },
                {
                    "items": [],
                    "category": "Commercial",
                    "sub_category": "Retail",
                    "message": "No active plans for Commercial / Retail consumers match 'platinum'.",
                },
            ]
        }
    )


class MeterRead(BaseModel):
    """A meter and its last reading (the FAQ's meter details)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 41,
                    "meter_number": "M-100041",
                    "device_number": "D-200041",
                    "utility": "electricity",
                    "meter_type": "Smart",
                    "model": "PowerSense E3",
                    "status": "available",
                    "last_reading": "10432.50",
                    "last_reading_date": "2026-10-01",
                }
            ]
        },
    )

    id: int
    meter_number: str
    device_number: str
    utility: UtilityType
    meter_type: str
    model: str
    status: MeterStatus
    last_reading: Decimal | None = Field(description="Last reading, a decimal string; null if never read")
    last_reading_date: dt.date | None


class SlotAvailability(BaseModel):
    """One time slot's seats on one day."""

    slot_id: int
    label: str
    start_time: WallClock
    end_time: WallClock
    capacity: int = Field(description="Seats on this day")
    booked: int = Field(description="Seats already taken")
    remaining: int = Field(description="Seats that can still be booked (none once the window has begun)")
    available: bool = Field(description="True while at least one seat can be booked")
    begun: bool = Field(False, description="Today's window is already under way: too late to book")


class DayAvailability(BaseModel):
    """Every active time slot's availability on one date, earliest slot first."""

    date: dt.date
    slots: list[SlotAvailability]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date": "2026-12-01",
                    "slots": [
                        {
                            "slot_id": 1,
                            "label": "08:00–10:00",
                            "start_time": "08:00:00",
                            "end_time": "10:00:00",
                            "capacity": 4,
                            "booked": 4,
                            "remaining": 0,
                            "available": False,
                        },
                        {
                            "slot_id": 2,
                            "label": "10:00–12:00",
                            "start_time": "10:00:00",
                            "end_time": "12:00:00",
                            "capacity": 4,
                            "booked": 1,
                            "remaining": 3,
                            "available": True,
                        },
                    ],
                }
            ]
        }
    )
