"""The vocabulary of consumers, meters and plans, in the FAQ's words."""

from __future__ import annotations

from enum import StrEnum


class ConsumerStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    PENDING = "Pending"
    DISCONNECTED = "Disconnected"
    COLLECTION = "Collection"
    TEMPORARILY_DISCONNECTED = "Temporarily Disconnected"


class Category(StrEnum):
    RESIDENTIAL = "Residential"
    COMMERCIAL = "Commercial"
    INDUSTRIAL = "Industrial"
    INSTITUTIONAL = "Institutional"


SUB_CATEGORIES: dict[Category, tuple[str, ...]] = {
    Category.RESIDENTIAL: ("Standard", "Senior Citizen", "Low Income"),
    Category.COMMERCIAL: ("Small Business", "Retail", "Office"),
    Category.INDUSTRIAL: ("Light", "Heavy"),
    Category.INSTITUTIONAL: ("School", "Hospital", "Government"),
}


class UtilityType(StrEnum):
    ELECTRICITY = "electricity"
    WATER = "water"


class MeterStatus(StrEnum):
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    MAINTENANCE = "maintenance"


class ReadingStatus(StrEnum):
    """Whether a consumer's meter is being read (the Connections tab's *Reading status*)."""

    ACTIVE = "Active"  # serving the consumer: read every cycle
    INACTIVE = "Inactive"  # no longer serving the consumer (disconnected or replaced)
    MAINTENANCE = "Maintenance"  # out for maintenance: not read until it is back

    @classmethod
    def of(cls, meter_status: MeterStatus, still_assigned: bool) -> ReadingStatus:
        if meter_status is MeterStatus.MAINTENANCE:
            return cls.MAINTENANCE
        return cls.ACTIVE if still_assigned else cls.INACTIVE


class VerificationStatus(StrEnum):
    VERIFIED = "verified"
    PENDING = "pending"


class PaymentStatus(StrEnum):
    PROCESSED = "Processed"
    PENDING = "Pending"
    FAILED = "Failed"


class PaymentMethod(StrEnum):
    CREDIT_CARD = "Credit Card"
    BANK_TRANSFER = "Bank Transfer"
    CASH = "Cash"
    CHEQUE = "Cheque"
    AUTO_DEBIT = "Auto Debit"


class ServiceOrderType(StrEnum):
    TRANSFER = "Transfer"
    DISCONNECTION = "Disconnection"
    RECONNECTION = "Reconnection"
    METER_READING = "Meter Reading"
    MAINTENANCE = "Maintenance"
    REPAIRS = "Repairs"
    INSPECTIONS = "Inspections"
    INSTALLATIONS = "Installations"


class ServiceOrderStatus(StrEnum):
    SCHEDULED = "Scheduled"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"


class ComplaintCategory(StrEnum):
    BILLING = "Billing"
    SERVICE_QUALITY = "Service quality"
    OUTAGE = "Outage"
    METER = "Meter"
    STAFF_CONDUCT = "Staff conduct"
    OTHER = "Other"


class ComplaintStatus(StrEnum):
    OPEN = "Open"
    IN_PROGRESS = "In progress"
    RESOLVED = "Resolved"


class DocumentStatus(StrEnum):
    VERIFIED = "Verified"
    PUBLISHED = "Published"
    PROCESSING = "Processing"


class BillingCycle(StrEnum):
    MONTHLY = "Monthly"
    QUARTERLY = "Quarterly"


CYCLE_MONTHS = {BillingCycle.MONTHLY: 1, BillingCycle.QUARTERLY: 3}
"""The months one bill covers, per billing cycle."""


class PaymentMode(StrEnum):
    AUTO_PAY = "Auto-pay"
    MANUAL = "Manual"
