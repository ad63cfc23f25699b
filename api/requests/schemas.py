"""Request API schemas: create, list rows, detail, an action's result (its body: workflows.actions),
and a bulk action's call and answer."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, computed_field, create_model, model_validator

from api.params import DbId
from domain.consumers.types import UtilityType
from domain.disconnection.rules import (
    DisconnectionKind,
    DisconnectionReason,
    disconnection_kind_for,
    disconnection_outcome,
    kind_of_request,
)
from domain.request.rules import Action
from domain.request.types import (
    Channel,
    CloseReason,
    ContactOutcome,
    Priority,
    RequestStatus,
    RequestType,
    SlaState,
    SlaTarget,
    Visibility,
)
from workflows.actions import ACTIONS
from workflows.schemas import NoticesView


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

    @computed_field(  # type: ignore[prop-decorator]
        description="A disconnection's kind, decided by its reason: temporary (Temporarily "
        "Disconnected, meters stay assigned) or permanent (Inactive, meters unassigned); null for a "
        "reconnection"
    )
    @property
    def disconnection_kind(self) -> DisconnectionKind | None:
        return kind_of_request(self.request_type, self.reason)

    @computed_field(description="What completing this disconnection does, in words")  # type: ignore[prop-decorator]
    @property
    def disconnection_outcome(self) -> str | None:
        kind = self.disconnection_kind
        return None if kind is None else disconnection_outcome(self.reason).summary


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
    is_vip: bool = Field(
        False, description="The VIP crown, by the configured VIP rule (as in the consumer lists)"
    )


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


class FollowUpEntry(BaseModel):
    """A "remind me" on the request: pending until it fires (done) or the request resolves first
    (cancelled)."""

    due_at: datetime
    note: str
    set_by: str
    state: Literal["pending", "done", "cancelled"]


class FollowUpDue(BaseModel):
    """A pending follow-up due by the asked moment (overdue ones included)."""

    request_id: str
    due_at: datetime
    note: str
    set_by: str = Field(description="Who asked to be reminded")
    assignee: str | None = Field(description="Who is told when it fires (else whoever set it)")
    overdue: bool = Field(description="Its moment has passed and it has not fired yet")


class CommunicationEntry(BaseModel):
    created_at: datetime
    channel: Channel
    direction: str
    visibility: Visibility
    subject: str | None
    body: str
    author: str
    duration_seconds: int | None = Field(None, description="A logged call or visit: how long it lasted")
    outcome: ContactOutcome | None = Field(None, description="A logged call or visit: how it went")


class PlanSummary(BaseModel):
    id: int
    name: str
    short_name: str
    monthly_fee: Decimal


class SlotSummary(BaseModel):
    id: int
    label: str
    day: date


class ReconnectionFee(BaseModel):
    """A reconnection's fee: the quote for work done now while open, what was charged once done."""

    amount: Decimal | None = Field(description="The fee for work done now (None once completed)")
    basis: str | None = Field(description="Why this amount; once completed, what was charged")
    waived: str | None = Field(description="Waived by a supervisor: by whom and why")
    charged: bool = Field(description="Added to the balance on completion")


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
    resolution_basis: str | None = Field(
        default=None, description="Why the resolution target is not the standard one (a regulated deadline)"
    )
    reconnection_fee: ReconnectionFee | None = None
    timeline: list[TimelineEntry]
    communications: list[CommunicationEntry]
    follow_ups: list[FollowUpEntry] = Field(default=[], description="Follow-ups set on it, soonest first")
    allowed_actions: list[str]
    temporal_url: str
    notices: NoticesView | None = Field(
        default=None,
        description="A non-payment disconnection's notice steps with their dates, the protections "
        "holding it and the earliest lawful moment for the cut",
    )


class Dashboard(BaseModel):
    pending_connection: int = Field(description="Reconnection requests still open")
    completed_connection: int
    pending_disconnection: int
    completed_disconnection: int
    sla_at_risk: int = Field(description="Open requests whose SLA is At Risk")
    sla_breached: int = Field(description="Open requests with a breached SLA")


# ---- actions: each one's body is declared with its registry entry, in workflows.actions ----------


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
    request_type: RequestType | None = Field(
        description="Reconnection when service is off, Disconnection when it is on; null for a Pending account"
    )
    eligible: bool
    reason: str | None = Field(None, description="Why a request cannot be created now")

    @computed_field(  # type: ignore[prop-decorator]
        description="For a disconnection: the kind each reason gives, shown before submit"
    )
    @property
    def disconnection_kinds(self) -> dict[str, DisconnectionKind]:
        if self.request_type is not RequestType.DISCONNECTION:
            return {}
        return {r.value: disconnection_kind_for(r) for r in DisconnectionReason}


# ---- bulk actions: one action on many requests, each through its own workflow update -------------

BULK_MAX = 500
"""The most requests one bulk call acts on (a list of IDs, or what its filters find)."""
BULK_ACTIONS = (Action.ACKNOWLEDGE, Action.SET_PRIORITY, Action.ASSIGN, Action.ADD_NOTE, Action.CLOSE)
"""The actions a bulk call may take: those that need nothing particular to each request."""

RequestId = Annotated[str, Field(min_length=1, max_length=32, examples=["RC-2026-000123"])]


class RequestFilters(BaseModel):
    """The filters of `GET /api/v1/requests`, by the same names: every request they find."""

    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(
        None, max_length=200,
        description="Request ID, or the consumer's name, account number, phone, address or meter (partial)",
    )  # fmt: skip
    status: list[RequestStatus] | None = None
    type: RequestType | None = None
    priority: list[Priority] | None = None
    sla_status: list[SlaState] | None = None
    created_from: date | None = None
    created_to: date | None = None
    assignee_id: DbId | None = None
    history: bool = Field(False, description="Completed and Closed requests only")


class BulkSelection(BaseModel):
    """Which requests: ``request_ids``, or ``filters`` resolved server-side to the requests they find."""

    model_config = ConfigDict(extra="forbid")

    request_ids: list[RequestId] | None = Field(
        None,
        min_length=1,
        max_length=BULK_MAX,
        description=f"The requests, at most {BULK_MAX} (repeats ignored)",
    )
    filters: RequestFilters | None = Field(
        None, description=f"Every request these filters find; refused (422) when more than {BULK_MAX} match"
    )

    @model_validator(mode="after")
    def _one_selection(self) -> BulkSelection:
        if (self.request_ids is None) == (self.filters is None):
            raise ValueError("give exactly one of request_ids or filters")
        return self


def _bulk_model(action: Action) -> type[BulkSelection]:
    """The bulk call of one action: its name, its body as the single-request route takes it
    (``workflows.actions``), and the selection."""
    spec = ACTIONS[action]
    fields: dict[str, Any] = {"action": (Literal[action.value], ...)}  # type: ignore[valid-type]
    if spec.body is not None:
        fields["body"] = (
            spec.body,
            Field(description=f"As `POST /api/v1/requests/{{request_id}}/{spec.path}` takes it"),
        )
    name = "Bulk" + "".join(word.title() for word in action.value.split("_"))
    model = create_model(name, __base__=BulkSelection, **fields)
    model.__doc__ = f"{spec.summary}, on each request selected."
    return model


BULK_MODELS = {action: _bulk_model(action) for action in BULK_ACTIONS}
BulkAction = Annotated[Union[tuple(BULK_MODELS.values())], Field(discriminator="action")]  # type: ignore[valid-type]  # noqa: UP007
"""A bulk call's body: ``action`` says which, ``body`` carries what that action takes."""


class BulkStatus(StrEnum):
    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"


class BulkOutcome(BaseModel):
    """What happened to one request."""

    request_id: str
    status: BulkStatus = Field(
        description="done; refused (by its role check or its workflow: `message` says why; sending it "
        "again changes nothing); failed (Temporal or the database did not answer: try again)"
    )
    message: str = Field(
        description="The workflow's message when done, else why not, in words a CSR can act on"
    )
    problem: str | None = Field(
        None, description="When not done: the problem type the single-request route would have answered"
    )


class BulkResult(BaseModel):
    """Each selected request's outcome, in the order selected (for filters: newest first)."""

    action: Action
    total: int
    done: int
    refused: int
    failed: int
    results: list[BulkOutcome]

    @classmethod
    def of(cls, action: Action, results: list[BulkOutcome]) -> BulkResult:
        count = {status: sum(r.status is status for r in results) for status in BulkStatus}
        return cls(
            action=action, total=len(results), done=count[BulkStatus.DONE], refused=count[BulkStatus.REFUSED],
            failed=count[BulkStatus.FAILED], results=results,
        )  # fmt: skip
