"""Request API schemas: create, list rows, detail, and one body per action."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.params import DbId
from domain.consumers.types import ServiceOrderType, UtilityType
from domain.request.types import (
    Channel,
    CloseReason,
    Priority,
    RequestStatus,
    RequestType,
    SlaState,
    SlaTarget,
    Visibility,
)
from workflows.schemas import READING_LIMIT, FinalReading, MeterChoice


class RequestCreate(BaseModel):
    """Name the consumer by ID or account number; the system decides the request type."""

    consumer_id: DbId | None = None
    account_number: str | None = Field(None, examples=["WU-10001"])
    reason: str = Field(min_length=1, max_length=120, examples=["Outstanding balance cleared"])
    preferred_date: date | None = Field(
        None, description="Today or later; the earliest free slot when omitted"
    )
    slot_id: DbId | None = Field(None, description="A time slot with capacity left on the preferred date")
    notes: str | None = Field(None, max_length=2000)
    priority: Priority = Priority.MEDIUM

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "account_number": "WU-10001",
                    "reason": "Outstanding balance cleared",
                    "preferred_date": "2026-12-01",
                    "slot_id": 1,
                    "notes": "Gate code 4411",
                    "priority": "Medium",
                }
            ]
        }
    )

    @model_validator(mode="after")
    def _one_consumer(self) -> RequestCreate:
        if (self.consumer_id is None) == (self.account_number is None):
            raise ValueError("give exactly one of consumer_id or account_number")
        return self


class RequestRow(BaseModel):
    """One line of the requests list."""

    request_id: str
    request_type: RequestType
    status: RequestStatus
    priority: Priority
    reason: str
    consumer_id: int
    account_number: str
    consumer_name: str
    created_at: datetime
    sla_status: SlaState
    resolution_due_at: datetime
    escalation_level: int
    assignee: str | None
    preferred_date: date | None


class SlaClock(BaseModel):
    target: SlaTarget
    due_at: datetime
    state: SlaState
    met_at: datetime | None
    seconds_remaining: int


class ConsumerCard(BaseModel):
    """The auto-fill block: who the request is for."""

    id: int
    account_number: str
    name: str
    service_address: str
    phone: str
    email: str | None
    category: str
    sub_category: str
    status: str
    balance: Decimal


class ServiceInfo(BaseModel):
    """One utility service of the consumer and the meter serving it."""

    utility: UtilityType
    meter_number: str
    device_number: str
    meter_type: str
    model: str
    current_reading: Decimal | None
    reading_date: date | None
    service_status: str


class TimelineEntry(BaseModel):
    occurred_at: datetime
    actor: str
    kind: str
    detail: str


class CommunicationEntry(BaseModel):
    created_at: datetime
    channel: Channel
    direction: str
    visibility: Visibility
    subject: str | None
    body: str
    author: str


class PlanSummary(BaseModel):
    id: int
    name: str
    short_name: str
    monthly_fee: Decimal


class SlotSummary(BaseModel):
    id: int
    label: str
    day: date


class RequestDetail(RequestRow):
    """Everything the detail view shows, and the actions the caller may take now."""

    consumer: ConsumerCard
    services: list[ServiceInfo]
    sla: list[SlaClock]
    plan: PlanSummary | None
    slot: SlotSummary | None
    notes: str | None
    close_reason: CloseReason | None
    close_notes: str | None
    timeline: list[TimelineEntry]
    communications: list[CommunicationEntry]
    allowed_actions: list[str]
    temporal_url: str


class Dashboard(BaseModel):
    pending_connection: int = Field(description="Reconnection requests still open")
    completed_connection: int
    pending_disconnection: int
    completed_disconnection: int
    sla_at_risk: int = Field(description="Open requests whose SLA is At Risk")
    sla_breached: int = Field(description="Open requests with a breached SLA")


# ---- action bodies (the actor is the signed-in user) -------------------------------------------


class PutOnHoldBody(BaseModel):
    reason: str = Field(min_length=1, max_length=500, examples=["Awaiting payment confirmation"])


class SelectPlanBody(BaseModel):
    plan_id: DbId


# A reading is stored as NUMERIC(14, 2): a larger one would fail the workflow's activity on every
# retry (PostgreSQL's numeric overflow), leaving the request stuck; refuse it here with a 422.
MeterReading = Annotated[Decimal, Field(ge=0, lt=READING_LIMIT, description="Up to 999,999,999,999.99")]


class MeterChoiceBody(MeterChoice):
    reading: MeterReading


class FinalReadingBody(FinalReading):
    reading: MeterReading


class ActivateBody(BaseModel):
    meters: list[MeterChoiceBody] = Field(min_length=1)


class FinalReadingsBody(BaseModel):
    readings: list[FinalReadingBody] = Field(min_length=1)


class CloseBody(BaseModel):
    reason: CloseReason
    notes: str = Field("", max_length=2000)


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    visibility: Visibility = Visibility.INTERNAL


class ResponseBody(BaseModel):
    channel: Channel = Field(description="email, sms, phone or in_person")
    message: str = Field(min_length=1, max_length=4000)
    subject: str | None = None


class ServiceOrderBody(BaseModel):
    service_type: ServiceOrderType
    description: str = Field(min_length=1, max_length=2000)
    scheduled_date: date | None = None


class PriorityBody(BaseModel):
    priority: Priority


class AssignBody(BaseModel):
    user_id: DbId


class ActionResult(BaseModel):
    message: str
    request: RequestDetail | None = Field(
        default=None, description="The request after the action; null with `Prefer: return=minimal`"
    )


class RequestCreated(BaseModel):
    """The answer to a create with `Prefer: return=minimal`: the new request's ID (and Location)."""

    request_id: str


class CustomerMatch(BaseModel):
    """A consumer found for the create form: auto-fill fields, the type a request would get, eligibility."""

    consumer: ConsumerCard
    request_type: RequestType
    eligible: bool
    reason: str | None = Field(None, description="Why a request cannot be created now")
