"""Every message in and out of the request workflow and its activities: one pydantic model each
(the actions' messages are declared with their registry, in ``workflows.actions``).

Also the name constants and the workflow-ID builder, shared by the API, the worker and the tests.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.business_time import BusinessCalendar
from domain.consumers.types import BillingCycle, Category, PaymentMode, ServiceOrderType, UtilityType
from domain.disconnection.notices import Stage as NoticeStage
from domain.disconnection.profile import JurisdictionProfile
from domain.disconnection.protections import Protection, ProtectionKind
from domain.disconnection.rules import DisconnectionKind
from domain.disconnection.window import HolidayCalendar
from domain.request.sla import SlaPolicy, clocks_from_data
from domain.request.types import (
    Channel,
    CloseReason,
    ContactOutcome,
    Direction,
    Priority,
    RequestStatus,
    RequestType,
    SlaState,
    SlaTarget,
    Visibility,
)

WORKFLOW_NAME = "RequestWorkflow"
PROTECTIONS_CHANGED = "protections_changed"  # the signal: re-read the lawful-cut facts
PAYMENT_RECEIVED = "payment_received"  # the signal: a payment may cancel a non-payment disconnection
SLA_POLICY_CHANGED = "sla_policy_changed"  # the signal: an admin applies a new SLA policy to open requests
ID_PREFIX = {RequestType.RECONNECTION: "RC", RequestType.DISCONNECTION: "DC"}
# Readings are NUMERIC(14, 2) in the database: a larger one would fail its activity on every retry.
READING_LIMIT = Decimal(10) ** 12
# IDs are 32-bit INTEGER columns on PostgreSQL.
ID_MAX = 2**31 - 1


def request_id_for(request_type: RequestType, number: int, year: int) -> str:
    """The human request ID, which is also the workflow ID: RC-2026-000123 / DC-2026-000124."""
    return f"{ID_PREFIX[request_type]}-{year}-{number:06d}"


def summary_for(start: StartRequest) -> str:
    """The one-line summary a supervisor reads on the execution in the Temporal UI."""
    return (
        f"{start.request_type.value} for {start.consumer_name} ({start.account_number}) — "
        f"{start.reason}; {start.priority.value} priority, by {start.created_by}"
    )


class Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# ---- start -----------------------------------------------------------------------------------


class SlaSettings(Model):
    """SLA policy captured per request at creation (admin changes later do not move its clocks)."""

    ack_minutes: int = 120
    response_minutes: int = 240
    resolution_minutes: int = 1440
    at_risk_fraction: float = Field(default=0.75, gt=0, lt=1)
    pause_resolution_on_hold: bool = False
    re_escalate_minutes: int = 240
    # Each target measured in business time (the calendar's working hours, holidays closed) or in
    # calendar time (24/7). A regulated reconnection deadline is always calendar time.
    ack_business_hours: bool = False
    response_business_hours: bool = False
    resolution_business_hours: bool = False
    # The business calendar in force at creation, its holidays resolved (the workflow sandbox
    # cannot load the ``holidays`` library). None: the default office hours (Mon–Fri 08:00–17:00 UTC).
    calendar: BusinessCalendar | None = None

    def business_hours(self, target: SlaTarget) -> bool:
        return {
            SlaTarget.ACKNOWLEDGEMENT: self.ack_business_hours,
            SlaTarget.RESPONSE: self.response_business_hours,
            SlaTarget.RESOLUTION: self.resolution_business_hours,
        }[target]

    def policy(self) -> SlaPolicy:
        """The SLA policy these settings describe (business-hours targets on the captured calendar)."""
        calendar = self.calendar or BusinessCalendar()
        return SlaPolicy(
            ack=timedelta(minutes=self.ack_minutes),
            response=timedelta(minutes=self.response_minutes),
            resolution=timedelta(minutes=self.resolution_minutes),
            at_risk_fraction=self.at_risk_fraction,
            pause_resolution_on_hold=self.pause_resolution_on_hold,
            re_escalate_after=timedelta(minutes=self.re_escalate_minutes),
            calendars={t: calendar for t in SlaTarget if self.business_hours(t)},
        )

    def due_times(self, created_at: datetime) -> dict[SlaTarget, datetime]:
        """Each target's due moment for a request created at ``created_at`` (no pause yet): what the
        row is written with, and what the workflow's clocks start from."""
        return {t: c.due_at for t, c in clocks_from_data(created_at, self.policy()).items()}


class SlaPolicyChanged(Model):
    """Signal: an admin gave every unresolved request the SLA policy in force. Each unmet clock is
    recomputed from the creation and the pauses so far (``keep_resolution``: a regulated
    reconnection deadline, which the policy does not move)."""

    settings: SlaSettings
    by: str
    keep_resolution: bool = False


class StartRequest(Model):
    request_id: str
    consumer_id: int
    account_number: str
    consumer_name: str
    consumer_category: Category
    consumer_sub_category: str
    request_type: RequestType
    priority: Priority = Priority.MEDIUM
    reason: str
    preferred_date: date | None = None
    slot_id: int | None = None
    notes: str | None = None
    created_by: str
    created_by_user_id: int | None = None
    created_at: datetime
    sla: SlaSettings = SlaSettings()
    # A disconnection's kind, decided by its reason and shown before submit; None on requests
    # started before kinds existed (the workflow decides those when they complete).
    disconnection_kind: DisconnectionKind | None = None


# ---- state (query) ---------------------------------------------------------------------------


class SlaClockView(Model):
    target: SlaTarget
    due_at: datetime
    at_risk_at: datetime
    met_at: datetime | None
    state: SlaState
    seconds_remaining: int


class PlanView(Model):
    plan_id: int
    name: str
    short_name: str
    services: list[tuple[UtilityType, bool]]


class AssignedMeter(Model):
    utility: UtilityType
    meter_number: str
    reading: Decimal
    reading_date: date


class ServiceOrderView(Model):
    order_number: str
    service_type: ServiceOrderType
    status: str


NOTICE_STAGE_LABELS = {
    NoticeStage.FINAL_NOTICE_PERIOD: "Final notice period",
    NoticeStage.CONTACT_ATTEMPTS: "Contact attempts",
    NoticeStage.AWAITING_LAWFUL_MOMENT: "Awaiting the lawful moment",
    NoticeStage.READY_FOR_FIELD_WORK: "Ready for field work",
}


class NoticeStep(Model):
    """A notice step taken: the final notice or a contact attempt, by which channel, when."""

    kind: str  # "final_notice" | "contact_attempt"
    channel: Channel
    at: datetime
    local_day: date


class HoldView(Model):
    kind: ProtectionKind
    label: str
    until: datetime | None
    message: str


class NoticesView(Model):
    """The lawful-disconnection side of a non-payment request: its notice steps, holds and the
    earliest lawful moment (None with ``blocked`` when no moment can be computed)."""

    profile: str
    stage: NoticeStage
    final_notice: NoticeStep | None = None
    notice_period_ends_on: date | None = None
    contact_attempts: list[NoticeStep] = []
    contact_attempts_required: int = 0
    contact_lead_hours: float = 0
    holds: list[HoldView] = []
    earliest_lawful_moment: datetime | None = None
    blocked: str | None = None
    checked_at: datetime


class FollowUpView(Model):
    key: str  # the follow-up's timeline event key: its identity
    due_at: datetime
    note: str
    by: str
    state: str = "pending"  # pending, done (fired) or cancelled (resolved first)


class RequestState(Model):
    request_id: str
    request_type: RequestType
    status: RequestStatus
    priority: Priority
    escalation_level: int
    sla_status: SlaState
    sla: list[SlaClockView]
    plan: PlanView | None
    meters: list[AssignedMeter]
    service_orders: list[ServiceOrderView]
    assignee: str | None
    allowed_actions: list[str]
    close_reason: CloseReason | None = None
    notices: NoticesView | None = None  # a disconnection the profile's rules govern
    fee_waived: str | None = None  # a reconnection whose fee a supervisor waived: why
    follow_ups: list[FollowUpView] = []


class Outcome(Model):
    """What an update returns: the state after the action was applied and projected."""

    message: str
    state: RequestState
    digest: str | None = None  # the action's digest, so a replay can tell a different body apart


# ---- activities ------------------------------------------------------------------------------


class RowChanges(Model):
    """Fields of the request row a transition sets; None leaves a field as it is."""

    status: RequestStatus | None = None
    priority: Priority | None = None
    ack_state: SlaState | None = None
    response_state: SlaState | None = None
    resolution_state: SlaState | None = None
    sla_status: SlaState | None = None
    ack_due_at: datetime | None = None
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    acknowledged_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    escalation_level: int | None = None
    plan_id: int | None = None
    assigned_to: int | None = None
    close_reason: CloseReason | None = None
    close_notes: str | None = None
    disconnection_stage: NoticeStage | None = None
    notices: dict[str, Any] | None = None  # a NoticesView as JSON


class Projection(Model):
    """One timeline event plus the row changes it causes, written once per ``event_key``."""

    request_id: str
    event_key: str
    occurred_at: datetime
    actor: str
    kind: str
    detail: str
    changes: RowChanges = RowChanges()


class PlanCheck(Model):
    plan_id: int
    consumer_category: Category
    consumer_sub_category: str


class PlanSelection(Model):
    """A plan's eligibility checked and its selection recorded in one transaction (from the
    ``plan-checked-where-written`` patch on); the activity writes ``projection`` with the plan's name."""

    check: PlanCheck
    projection: Projection


class MeterLookup(Model):
    meter_numbers: list[str]
    consumer_id: int | None = None  # a reconnection's consumer: their own meters count as in place


class MeterFacts(Model):
    meter_number: str
    utility: UtilityType
    available: bool
    last_reading: Decimal | None
    # Assigned to the looked-up consumer (service off): re-energised in place at reconnection.
    in_place: bool = False


class MeterFactsList(Model):
    meters: list[MeterFacts]
    # This request's completion is already written (a workflow task lost after its local activity
    # committed is run again): the facts show its own effect, so the workflow must not re-check them.
    completed_by_this_request: bool = False


class CommunicationRecord(Model):
    """A communication, written with the projection that records it (one transaction, once per key)."""

    request_id: str
    consumer_id: int
    key: str
    channel: Channel
    direction: Direction
    visibility: Visibility
    subject: str | None
    body: str
    author: str
    occurred_at: datetime
    projection: Projection | None = None
    # A logged call or visit (None on everything else, and on records from before contacts were logged).
    duration_seconds: int | None = None
    outcome: ContactOutcome | None = None


class ServiceOrderRecord(Model):
    request_id: str
    consumer_id: int
    key: str
    service_type: ServiceOrderType
    description: str
    scheduled_date: date | None
    occurred_at: datetime
    projection: Projection


class ActivationCheck(Model):
    """What an activation is checked against where it is written (from the patch
    ``activation-checked-where-written`` on): the completion's transaction reads the chosen meters,
    checks them against the plan's services, and describes them (which ones it re-energises in
    place) in the timeline."""

    services: list[tuple[UtilityType, bool]]
    plan_short_name: str
    billing: str  # "Monthly billing, Auto-pay (MANDATE-1)", as the timeline says it


class Completion(Model):
    """Everything the completion activity writes in one transaction."""

    request_id: str
    consumer_id: int
    request_type: RequestType
    plan_id: int | None
    meters: list[AssignedMeter]
    projection: Projection
    notice: CommunicationRecord
    # Temporary: consumer Temporarily Disconnected, meters stay assigned. Permanent (and None, as
    # completions recorded before kinds existed did): consumer Inactive, meters unassigned.
    disconnection_kind: DisconnectionKind | None = None
    # A reconnection adds the profile's fee for work at the completion's moment to the balance,
    # unless a supervisor waived it (False on completions recorded before fees existed).
    charge_fee: bool = False
    urgent: bool = False
    # The billing a reconnection starts, chosen at activation (the defaults are what every
    # completion recorded before the choice existed wrote).
    billing_cycle: BillingCycle = BillingCycle.MONTHLY
    payment_mode: PaymentMode = PaymentMode.MANUAL
    payment_reference: str | None = None
    # An activation to check (and describe) in this transaction; None: checked by the workflow
    # before (every completion recorded before the patch, and every disconnection).
    activation: ActivationCheck | None = None


class Release(Model):
    """Close path: free the profile lock and the slot seat with the closing projection."""

    consumer_id: int
    projection: Projection


class Email(Model):
    """An e-mail to the consumer (looked up by ID when sent) and/or the supervisors."""

    key: str
    subject: str
    body: str
    consumer_id: int | None = None
    to_supervisors: bool = False
    # an escalation's notice: sent to the people the escalation chain names for this level (and the
    # supervisors' address when the chain names nobody); None on e-mails recorded before the chain
    escalation_level: int | None = None
    request_id: str | None = None


class Sms(Model):
    """A text message to the consumer's phone on file (looked up when sent), through the SMS sender."""

    key: str  # the idempotency key: a retried send is the same message to the provider
    body: str
    consumer_id: int


class FollowUpChange(Model):
    """A follow-up set, fired or cancelled: its timeline event and its row (``follow_ups``); fired,
    it tells the assignee (or whoever set it, if unassigned) in the app."""

    request_id: str
    follow_up: FollowUpView
    projection: Projection


class Escalation(Model):
    request_id: str
    consumer_id: int
    level: int
    target: SlaTarget | None  # None: escalated by hand
    projection: Projection
    notice: CommunicationRecord


# ---- lawful disconnection ----------------------------------------------------------------------


class PaymentFact(Model):
    """A payment taken in, at the desk or from the billing system."""

    reference: str
    amount: Decimal
    received_at: datetime
    by: str


class PaymentReceived(PaymentFact):
    """Signal: a payment was recorded for the consumer (once per ``reference``), leaving ``balance``."""

    balance: Decimal


class LawfulFactsQuery(Model):
    consumer_id: int
    reason: str
    now: datetime


class LawfulFacts(Model):
    """What the rules of a lawful cut read, as of ``now``: the profile, the protections and
    emergencies, the holidays (built outside the sandbox), the consumer's contact details."""

    governed: bool  # the profile's rules govern the request's reason
    profile: JurisdictionProfile
    protections: list[Protection]
    calendar: HolidayCalendar
    service_address: str | None
    email: str | None
    phone: str | None
    # the consumer's balance and last payment taken in (None in facts read before payments counted)
    balance: Decimal | None = None
    last_payment: PaymentFact | None = None
    payment_due_on: date | None = None  # the oldest unpaid bill's due date, while anything is owed


class ProtectionsChanged(Model):
    """Signal: a protection or weather emergency was recorded, renewed or ended; re-read the facts."""

    what: str
    by: str
