"""Consumer API schemas: dashboard, search rows, the profile header and one read model per tab.

Money and meter values are decimals, sent as strings with their exact digits ("1234.50");
percentages and scores too, to 1 or 2 decimals as the domain rules round them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from api.pagination import Page
from domain.consumers.health import HealthBand, VipReason
from domain.consumers.readings import AnomalyKind
from domain.consumers.types import (
    BillingCycle,
    Category,
    ConsumerStatus,
    DocumentStatus,
    PaymentMethod,
    PaymentMode,
    PaymentStatus,
    ReadingStatus,
    ServiceOrderStatus,
    ServiceOrderType,
    UtilityType,
    VerificationStatus,
)
from domain.request.types import (
    Channel,
    ContactOutcome,
    Direction,
    Priority,
    RequestStatus,
    RequestType,
    SlaState,
    Visibility,
)

# ---------------------------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------------------------


class StatusCount(BaseModel):
    count: int
    percentage: Decimal = Field(description="Share of all accounts, 0–100 to 1 decimal")


class StatusBreakdown(StatusCount):
    status: ConsumerStatus


class ConsumerDashboard(BaseModel):
    """The Consumer Management dashboard: account counts by status and the total balance."""

    total_accounts: int
    active: StatusCount
    inactive: StatusCount
    temporarily_disconnected: StatusCount
    total_balance: Decimal = Field(description="Sum of every consumer's balance")
    by_status: list[StatusBreakdown] = Field(description="Every status, including those with no account")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total_accounts": 1000,
                    "active": {"count": 570, "percentage": "57.0"},
                    "inactive": {"count": 140, "percentage": "14.0"},
                    "temporarily_disconnected": {"count": 140, "percentage": "14.0"},
                    "total_balance": "412345.67",
                    "by_status": [{"status": "Active", "count": 570, "percentage": "57.0"}],
                }
            ]
        }
    )


# ---------------------------------------------------------------------------------------------
# Search and the profile
# ---------------------------------------------------------------------------------------------


class ConsumerRow(BaseModel):
    """One line of the consumer search results."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "account_number": "WU-10001",
                    "first_name": "John",
                    "last_name": "Doe",
                    "full_name": "John Doe",
                    "status": "Active",
                    "category": "Residential",
                    "sub_category": "Standard",
                    "phone": "(217) 555-0142",
                    "email": "john.doe@example.com",
                    "service_address": "12 Maple Street, Springfield",
                    "balance": "125.40",
                    "is_vip": False,
                    "locked_by_request": None,
                }
            ]
        },
    )

    id: int
    account_number: str
    first_name: str
    last_name: str
    full_name: str
    status: ConsumerStatus
    category: Category
    sub_category: str
    phone: str
    email: str | None
    service_address: str
    balance: Decimal
    is_vip: bool = Field(
        description="The VIP crown: the configured VIP rule, kept on the row (the profile shows the same, with its reason)"
    )
    locked_by_request: str | None


ConsumerPage = Page[ConsumerRow]


class AlertKind(StrEnum):
    OPEN_REQUEST = "open_request"
    SLA_BREACH = "sla_breach"
    OVERDUE_BALANCE = "overdue_balance"
    UNVERIFIED_READINGS = "unverified_readings"
    METER_ANOMALY = "meter_anomaly"
    SUSPECTED_TAMPERING = "suspected_tampering"


class Alert(BaseModel):
    """Something a CSR should see before talking to the consumer."""

    kind: AlertKind
    severity: Literal["info", "warning", "critical"]
    message: str
    request_id: str | None = None
    meter_number: str | None = None
    amount: Decimal | None = None
    count: int | None = None


class TamperingRead(BaseModel):
    """A reading marked *suspected tampering*: who marked it, when and why; cleared by a supervisor."""

    model_config = ConfigDict(from_attributes=True)

    meter_number: str
    reading_date: date
    value: Decimal
    marked_by: str
    marked_at: datetime
    note: str
    cleared_by: str | None = Field(description="The supervisor who cleared it; null while it stands")
    cleared_at: datetime | None
    clearance_note: str | None


class ConsumerProfile(BaseModel):
    """The profile header: who, status, VIP crown, money, and the alerts to act on."""

    id: int
    account_number: str
    first_name: str
    last_name: str
    full_name: str
    status: ConsumerStatus
    category: Category
    is_vip: bool = Field(description="The VIP crown, by the configured VIP rule (the same as in lists)")
    vip_reason: VipReason | None = Field(description="Which side of the VIP rule the consumer qualifies on")
    balance: Decimal = Field(description="Current balance")
    last_billing_date: date | None
    locked_by_request: str | None = Field(description="The open request holding the profile lock, if any")
    tampering: list[TamperingRead] = Field(
        default_factory=list, description="Readings suspected of tampering, not yet cleared by a supervisor"
    )
    alerts: list[Alert]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "account_number": "WU-10001",
                    "first_name": "John",
                    "last_name": "Doe",
                    "full_name": "John Doe",
                    "status": "Inactive",
                    "category": "Residential",
                    "is_vip": False,
                    "vip_reason": None,
                    "balance": "125.40",
                    "last_billing_date": "2026-10-15",
                    "locked_by_request": "RC-2026-000123",
                    "alerts": [
                        {
                            "kind": "open_request",
                            "severity": "info",
                            "message": "Open Reconnection request RC-2026-000123 (In Progress).",
                            "request_id": "RC-2026-000123",
                        }
                    ],
                }
            ]
        }
    )


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32, pattern=r"^[0-9+()\-. ]+$")
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class ConsumerUpdate(BaseModel):
    """Contact fields a CSR may edit; omit a field to keep it. ``email: null`` removes the e-mail."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"phone": "(217) 555-0199", "email": "john.doe@example.com"}]},
    )

    first_name: Name | None = None
    last_name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    service_address: Address | None = None

    @field_validator("first_name", "last_name", "phone", "service_address", mode="before")
    @classmethod
    def _required_when_given(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class ConsumerRead(BaseModel):
    """A consumer's stored record, as returned after an edit."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    account_number: str
    first_name: str
    last_name: str
    phone: str
    email: str | None
    service_address: str
    category: Category
    sub_category: str
    status: ConsumerStatus
    is_vip: bool
    balance: Decimal
    last_billing_date: date | None
    customer_since: date
    locked_by_request: str | None
    updated_at: datetime


# ---------------------------------------------------------------------------------------------
# Overview tab
# ---------------------------------------------------------------------------------------------


class HealthFacts(BaseModel):
    """The counts the score was computed from, so a CSR can see why."""

    payments_due: int
    payments_on_time: int
    late_payments: int
    requests_total: int
    requests_resolved_within_sla: int
    service_orders_total: int
    service_orders_completed: int
    communications_from_customer: int
    communications_answered: int
    complaints_total: int
    complaints_resolved: int
    unresolved_complaints: int
    disconnections: int
    fraud_flag: bool
    portal_enrolled: bool
    paperless_billing: bool


class HealthComponents(BaseModel):
    """Each component 0–100 (2 decimals); weights 40/25/15/10/5/5 %."""

    payment_compliance: Decimal
    service_quality: Decimal
    communication_responsiveness: Decimal
    account_longevity: Decimal
    digital_engagement: Decimal
    complaint_resolution: Decimal


class HealthPenalties(BaseModel):
    """Points deducted: 2 per late payment, 5 per unresolved complaint, 10 per disconnection, 25 for fraud."""

    late_payments: int
    unresolved_complaints: int
    disconnections: int
    fraud: int


class HealthRead(BaseModel):
    """The Relationship Health Score with its working."""

    score: int = Field(ge=0, le=100)
    band: HealthBand
    weighted: Decimal = Field(description="Weighted sum of the components before penalties")
    total_penalty: int
    components: HealthComponents
    penalties: HealthPenalties
    facts: HealthFacts


class ConsumerOverview(BaseModel):
    """The Overview tab: contact, service address, category, tenure, health and compliance."""

    id: int
    account_number: str
    full_name: str
    phone: str
    email: str | None
    service_address: str
    category: Category
    sub_category: str
    customer_since: date
    portal_enrolled: bool
    paperless_billing: bool
    payment_compliance: Decimal | None = Field(
        description="On-time payments / payments due × 100 (1 decimal); null when nothing is due yet"
    )
    health: HealthRead


# ---------------------------------------------------------------------------------------------
# Financial tab
# ---------------------------------------------------------------------------------------------


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    due_date: date
    paid_on: date | None = Field(description="The payment date; null while unpaid")
    amount: Decimal
    method: PaymentMethod
    status: PaymentStatus


class UsageRead(BaseModel):
    """Average monthly consumption of one utility, over the consumer's current meters."""

    utility: UtilityType
    unit: str
    average_monthly_usage: Decimal
    rate: Decimal | None = Field(description="Price per unit on the rate plan; null when the plan has none")


class BillEstimate(BaseModel):
    """The next bill's likely range: (monthly fee + usage × rate) per month of the cycle, ± 15 %."""

    low: Decimal
    high: Decimal
    expected: Decimal


class BillingOverview(BaseModel):
    rate_plan: str | None = Field(description="The active billing account's plan; null without one")
    rate_plan_code: str | None
    billing_cycle: BillingCycle | None
    payment_method: PaymentMode | None = Field(description="Auto-pay or Manual")
    payment_reference: str | None = Field(
        None, description="Auto-pay: the payment method's reference (mandate or token ID)"
    )
    next_bill_date: date | None
    usage: list[UsageRead]
    next_bill_estimate: BillEstimate | None
    outstanding_amount: Decimal = Field(description="The current balance")


class ConsumerFinancial(BaseModel):
    """The Financial tab: payment history (newest first), compliance and the billing overview."""

    payment_compliance: Decimal | None
    billing: BillingOverview
    payments: Page[PaymentRead]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "payment_compliance": "92.0",
                    "billing": {
                        "rate_plan": "Standard Residential Essentials",
                        "rate_plan_code": "RES-STD-ESS",
                        "billing_cycle": "Monthly",
                        "payment_method": "Auto-pay",
                        "next_bill_date": "2026-12-15",
                        "usage": [
                            {
                                "utility": "electricity",
                                "unit": "kWh",
                                "average_monthly_usage": "612.50",
                                "rate": "0.1450",
                            }
                        ],
                        "next_bill_estimate": {"low": "91.12", "high": "123.28", "expected": "107.20"},
                        "outstanding_amount": "0.00",
                    },
                    "payments": {
                        "items": [
                            {
                                "id": 7,
                                "reference": "PAY-000007",
                                "due_date": "2026-10-22",
                                "paid_on": "2026-10-20",
                                "amount": "104.10",
                                "method": "Credit Card",
                                "status": "Processed",
                            }
                        ],
                        "total": 1,
                        "page": 1,
                        "size": 20,
                    },
                }
            ]
        }
    )


# ---------------------------------------------------------------------------------------------
# Connections tab
# ---------------------------------------------------------------------------------------------


class AnomalyRead(BaseModel):
    kind: AnomalyKind
    why: str


class ReadingRead(BaseModel):
    reading_date: date
    value: Decimal
    verification_status: VerificationStatus
    consumption: Decimal | None = Field(description="Value minus the previous reading; null for the first")
    anomalies: list[AnomalyRead]
    tampering: TamperingRead | None = Field(
        None, description="The standing *suspected tampering* mark on this reading, if any"
    )
    inspection: ServiceOrderCreate | None = Field(
        None,
        description="For a flagged reading (an anomaly in its value, or suspected tampering): the "
        "inspection order to raise, ready to POST to the consumer's service-orders",
    )


class TamperingMark(BaseModel):
    """Mark a reading *suspected tampering*, saying why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "Seal broken on the 12 May visit; usage dropped to zero."}]},
    )

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class TamperingClear(BaseModel):
    """Clear a reading's *suspected tampering* mark (supervisors), saying how it was resolved."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "Inspection SO-100042 found the meter intact."}]},
    )

    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ReadingVerification(BaseModel):
    """Mark a reading checked."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"verification_status": "verified"}]}
    )

    verification_status: Literal[VerificationStatus.VERIFIED]


class ReadingVerified(BaseModel):
    meter_number: str
    reading_date: date
    value: Decimal
    verification_status: VerificationStatus


class MeterConnection(BaseModel):
    """A meter that serves (or served) the consumer, with its readings in date order."""

    meter_number: str
    device_number: str
    utility: UtilityType
    unit: str
    meter_type: str
    model: str
    installation_date: date
    assigned_on: date
    unassigned_on: date | None = Field(description="Null while the meter still serves the consumer")
    reading_status: ReadingStatus = Field(
        description="Active while the meter serves the consumer, Inactive after, Maintenance while out for it"
    )
    last_reading: Decimal | None
    last_reading_date: date | None
    average_monthly_usage: Decimal | None
    anomaly_count: int
    readings: list[ReadingRead]


class ConsumerConnections(BaseModel):
    """The Connections tab: current meters first, then past ones."""

    meters: list[MeterConnection]


# ---------------------------------------------------------------------------------------------
# Service tab
# ---------------------------------------------------------------------------------------------


class ServiceOrderRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "order_number": "SO-100042",
                    "service_type": "Meter Reading",
                    "description": "Check read after an unusually high reading.",
                    "status": "Scheduled",
                    "technician": "Dana Whitfield",
                    "created_at": "2026-11-23T09:30:00Z",
                    "scheduled_date": "2026-11-25",
                    "completed_at": None,
                    "request_id": None,
                }
            ]
        },
    )

    order_number: str
    service_type: ServiceOrderType
    description: str
    status: ServiceOrderStatus
    technician: str | None
    created_at: datetime
    scheduled_date: date | None
    completed_at: datetime | None = Field(description="Set when the order is completed")
    request_id: str | None
    meter_number: str | None = Field(None, description="The meter the work is on, if one")


Technician = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
MeterNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=20)
]


class ServiceOrderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "service_type": "Inspections",
                    "description": "Tamper inspection: reading pattern flagged for review.",
                    "technician": "Dana Whitfield",
                    "scheduled_date": "2026-11-25",
                }
            ]
        },
    )

    service_type: ServiceOrderType
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    technician: Technician | None = None
    scheduled_date: date | None = None
    meter_number: MeterNumber | None = Field(
        None, description="One of the consumer's meters (current or past) the work is on"
    )


class ServiceOrderUpdate(BaseModel):
    """Move an order forward (Scheduled → In Progress → Completed) and/or (re)assign its technician."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "In Progress", "technician": "Dana Whitfield"}]},
    )

    status: ServiceOrderStatus | None = None
    technician: Technician | None = Field(None, description="null unassigns the technician")

    @field_validator("status", mode="before")
    @classmethod
    def _status_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


class ConsumerRequestRow(BaseModel):
    request_id: str
    request_type: RequestType
    status: RequestStatus
    priority: Priority
    created_at: datetime
    sla_status: SlaState
    resolved_at: datetime | None


class ConsumerService(BaseModel):
    """The Service tab: service orders and requests, newest first."""

    service_orders: list[ServiceOrderRead]
    requests: list[ConsumerRequestRow]


# ---------------------------------------------------------------------------------------------
# Communications tab
# ---------------------------------------------------------------------------------------------


class CommunicationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: Channel
    direction: Direction
    visibility: Visibility
    subject: str | None
    body: str
    duration_seconds: int | None = Field(description="Phone calls: how long the call lasted")
    outcome: ContactOutcome | None = Field(None, description="A logged call or visit: how it went")
    author: str
    created_at: datetime
    request_id: str | None


CommunicationPage = Page[CommunicationRead]


class NoteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "Customer prefers contact by e-mail.", "visibility": "internal"}]
        },
    )

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    visibility: Visibility = Visibility.INTERNAL


# ---------------------------------------------------------------------------------------------
# Documents tab
# ---------------------------------------------------------------------------------------------


class DocumentReview(BaseModel):
    """A document's next approval step."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "Verified"}]})

    status: Literal[DocumentStatus.VERIFIED, DocumentStatus.PUBLISHED]


class DocumentRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "title": "Service agreement",
                    "filename": "service_agreement_2026.pdf",
                    "content_type": "application/pdf",
                    "size_bytes": 48213,
                    "verification_status": "Processing",
                    "uploaded_by": "csr",
                    "uploaded_at": "2026-11-23T09:30:00Z",
                }
            ]
        },
    )

    id: int
    title: str
    filename: str = Field(description="The original file name, sanitized")
    content_type: str
    size_bytes: int
    verification_status: DocumentStatus
    uploaded_by: str
    uploaded_at: datetime


class ConsumerFullProfile(BaseModel):
    """The header and every tab in one answer; the paginated tabs give their first page."""

    profile: ConsumerProfile
    overview: ConsumerOverview
    connections: ConsumerConnections
    financial: ConsumerFinancial
    service: ConsumerService
    communications: Page[CommunicationRead]
    documents: list[DocumentRead]
