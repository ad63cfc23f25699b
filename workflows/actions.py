"""Every action on a request, declared once: what the caller fills in, the workflow's message, and
the registry the workflow, the JSON API and the UI derive their handlers from.

Per action: a *body* (what a CSR fills in: the JSON body and the UI form, named as the API
publishes it), a *message* (the body plus who acts, :class:`ActedBy`: the Temporal update's and
signal's input) and an :class:`ActionSpec` in :data:`ACTIONS`. Adding an action is its entry here,
its rule in ``domain.request.rules`` and its handler method on the workflow — nothing else.

Pure pydantic and ``domain``: the workflow sandbox imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from domain.consumers.types import BillingCycle, PaymentMode, ServiceOrderType, UtilityType
from domain.request.rules import Action
from domain.request.types import (
    MANUAL_CLOSE_REASONS,
    Channel,
    CloseReason,
    ContactOutcome,
    Direction,
    Priority,
    Visibility,
)
from workflows.schemas import ID_MAX, READING_LIMIT, Model

RowId = Annotated[int, Field(ge=1, le=ID_MAX, description="An ID (1 to 2³¹−1)")]
# Readings are NUMERIC(14, 2) in the database: a larger one would fail its activity on every retry.
Reading = Annotated[Decimal, Field(ge=0, lt=READING_LIMIT, description="Up to 999,999,999,999.99")]


class ActedBy(Model):
    """What every action's message adds to its body: who acts, and the idempotency digest."""

    actor: str = Field(description="Who does it: a username, or 'system'")
    # A fingerprint of what the caller sent with an Idempotency-Key, echoed in the Outcome: a retry
    # under the same update ID gets the first Outcome back, and the API compares the two.
    digest: str | None = None


# ---- bodies and messages, one pair per action (in the domain's Action order) --------------------


class Acknowledge(ActedBy):
    pass


class PutOnHoldBody(Model):
    reason: str = Field(min_length=1, max_length=500, examples=["Awaiting payment confirmation"])


class PutOnHold(PutOnHoldBody, ActedBy):
    pass


class Resume(ActedBy):
    pass


class SelectPlanBody(Model):
    plan_id: RowId


class SelectPlan(SelectPlanBody, ActedBy):
    pass


class MeterChoiceBody(Model):  # a meter chosen for one utility service of the plan, with its reading
    utility: UtilityType
    meter_number: str
    reading: Reading
    reading_date: date


class ActivateBody(Model):
    meters: list[MeterChoiceBody] = Field(min_length=1)
    # The billing the reconnection starts (defaults: what every activation set before they existed).
    billing_cycle: BillingCycle = Field(BillingCycle.MONTHLY, description="Monthly or Quarterly")
    payment_method: PaymentMode = Field(
        PaymentMode.MANUAL, description="Manual, or Auto-pay (needs payment_reference)"
    )
    payment_reference: str | None = Field(
        None,
        max_length=64,
        description="Auto-pay: the payment method's reference (mandate or token ID), not a card number",
        examples=["MANDATE-2026-0042"],
    )


class Activate(ActivateBody, ActedBy):
    pass


class FinalReadingBody(Model):  # the final reading of one of the consumer's meters
    meter_number: str
    reading: Reading
    reading_date: date


class FinalReadingsBody(Model):
    readings: list[FinalReadingBody] = Field(min_length=1)


class RecordFinalReadings(FinalReadingsBody, ActedBy):
    pass


class CloseBody(Model):
    reason: CloseReason
    notes: str = Field(default="", max_length=2000)

    @field_validator("reason")
    @classmethod
    def _chosen_by_a_person(cls, reason: CloseReason) -> CloseReason:
        if reason not in MANUAL_CLOSE_REASONS:
            raise ValueError(
                f"'{reason.value}' is recorded by the system (a payment cancels the disconnection)"
            )
        return reason


class Close(CloseBody, ActedBy):
    pass


class NoteBody(Model):
    text: str = Field(min_length=1, max_length=4000)
    visibility: Visibility = Visibility.INTERNAL


class AddNote(NoteBody, ActedBy):
    pass


class ResponseBody(Model):
    channel: Channel = Field(description="email or sms (a call or visit is logged as a contact)")
    message: str = Field(min_length=1, max_length=4000)
    subject: str | None = None


class SendResponse(ResponseBody, ActedBy):
    pass


class ContactBody(Model):
    """A contact with the consumer, logged by hand: a call (either way), an SMS or e-mail
    received, an in-person visit."""

    channel: Channel = Field(description="phone, sms, email or in_person")
    direction: Direction = Field(description="from_customer (inbound) or to_customer (outbound)")
    outcome: ContactOutcome | None = Field(None, description="Calls and visits: how it went")
    duration_minutes: int | None = Field(None, ge=0, le=600, description="Calls and visits: how long")
    subject: str | None = Field(None, max_length=200)
    notes: str = Field(default="", max_length=4000, description="What was said (a message: its text)")

    @property
    def duration_seconds(self) -> int | None:
        return None if self.duration_minutes is None else self.duration_minutes * 60


class LogContact(ContactBody, ActedBy):
    pass


class ServiceOrderBody(Model):
    service_type: ServiceOrderType
    description: str = Field(min_length=1, max_length=2000)
    scheduled_date: date | None = None


class CreateServiceOrder(ServiceOrderBody, ActedBy):
    pass


class PriorityBody(Model):
    priority: Priority


class SetPriority(PriorityBody, ActedBy):
    pass


class AssignBody(Model):
    user_id: RowId


class Assign(AssignBody, ActedBy):
    user_name: str  # looked up by the API: the body names the user by ID only


class WaiveFeeBody(Model):
    reason: str = Field(min_length=1, max_length=500, description="Why the reconnection fee is waived")


class WaiveFee(WaiveFeeBody, ActedBy):
    pass


class EscalateBody(Model):
    reason: str = Field(
        min_length=1, max_length=500, description="Why it needs the next level now",
        examples=["Consumer on life support equipment; crew needed today"],
    )  # fmt: skip


class Escalate(EscalateBody, ActedBy):
    pass


class FollowUpBody(Model):
    """Remind me: at a date and time, or in N business hours (the utility's calendar)."""

    at: datetime | None = Field(None, description="When, ISO 8601 with its offset")
    in_business_hours: int | None = Field(
        None, ge=1, le=2000, description="Or: this many business hours from now"
    )
    note: str = Field(default="", max_length=500, description="What to follow up on")

    @model_validator(mode="after")
    def _one_moment(self) -> FollowUpBody:
        if (self.at is None) == (self.in_business_hours is None):
            raise ValueError("give either 'at' or 'in_business_hours'")
        return self


class FollowUp(FollowUpBody, ActedBy):
    pass


# ---- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One action: everything the workflow, the API and the UI need to offer it."""

    name: Action  # the Temporal update and signal name, and the key of its rule in the domain
    message: type[ActedBy]  # the update's input
    body: type[Model] | None  # what the caller fills in (None: nothing)
    handler: str  # the RequestWorkflow method that does it, with the lock held, after the checks
    path: str  # its URL segment: /api/v1/requests/{id}/<path>, and the UI's /actions/<path>
    summary: str  # one line for the API reference and the update's description
    check_data: str | None = None  # the RequestWorkflow method that checks its data (a 422)


ACTIONS: dict[str, ActionSpec] = {  # by update name (an Action is its name)
    spec.name.value: spec
    for spec in (
        ActionSpec(Action.ACKNOWLEDGE, Acknowledge, None, "_acknowledge", "acknowledge",
                   "Acknowledge: Pending → In Progress"),
        ActionSpec(Action.PUT_ON_HOLD, PutOnHold, PutOnHoldBody, "_put_on_hold", "hold",
                   "Put on hold with a reason: In Progress → On Hold"),
        ActionSpec(Action.RESUME, Resume, None, "_resume", "resume", "Resume: On Hold → In Progress"),
        ActionSpec(Action.SELECT_PLAN, SelectPlan, SelectPlanBody, "_select_plan", "plan",
                   "Select and save the billing plan (reconnection)"),
        ActionSpec(Action.ACTIVATE, Activate, ActivateBody, "_activate", "activate",
                   "Reconnect and activate: assign meters with their readings → Completed",
                   check_data="_check_activation_data"),
        ActionSpec(Action.RECORD_FINAL_READINGS, RecordFinalReadings, FinalReadingsBody,
                   "_record_final_readings", "final-readings",
                   "Record final readings and disconnect → Completed", check_data="_check_final_data"),
        ActionSpec(Action.CLOSE, Close, CloseBody, "_close", "close", "Close with a reason and notes → Closed"),
        ActionSpec(Action.ADD_NOTE, AddNote, NoteBody, "_add_note", "notes",
                   "Add a note, internal or visible to the consumer"),
        ActionSpec(Action.SEND_RESPONSE, SendResponse, ResponseBody, "_send_response", "responses",
                   "Send a response to the consumer by email or SMS (meets the response target)",
                   check_data="_check_response_data"),
        ActionSpec(Action.CREATE_SERVICE_ORDER, CreateServiceOrder, ServiceOrderBody, "_create_service_order",
                   "service-orders", "Create a service order for field work"),
        ActionSpec(Action.SET_PRIORITY, SetPriority, PriorityBody, "_set_priority", "priority",
                   "Change the priority (supervisor)"),
        ActionSpec(Action.ASSIGN, Assign, AssignBody, "_assign", "assign",
                   "Assign or reassign to a user (supervisor)"),
        ActionSpec(Action.WAIVE_FEE, WaiveFee, WaiveFeeBody, "_waive_fee", "waive-fee",
                   "Waive the reconnection fee, with a reason (supervisor)"),
        ActionSpec(Action.LOG_CONTACT, LogContact, ContactBody, "_log_contact", "contacts",
                   "Log a call, an SMS or e-mail received, or a visit (a call or visit that reached "
                   "the consumer meets the response target)", check_data="_check_contact_data"),
        ActionSpec(Action.ESCALATE, Escalate, EscalateBody, "_escalate_by_hand", "escalate",
                   "Escalate to the next level now, with a reason (the chain is told, the priority raised)"),
        ActionSpec(Action.FOLLOW_UP, FollowUp, FollowUpBody, "_follow_up", "follow-ups",
                   "Remind me: a follow-up at a date and time or in N business hours (the assignee is "
                   "told when it is due; cancelled if the request is resolved first)",
                   check_data="_check_follow_up_data"),
    )
}  # fmt: skip
