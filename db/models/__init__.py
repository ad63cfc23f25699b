"""Every model, imported so ``Base.metadata`` is complete for Alembic."""

from db.base import Base
from db.models.audit import AuditEntry
from db.models.billing import BillingAccount, Payment
from db.models.communication import Communication
from db.models.complaint import Complaint
from db.models.consumer import Consumer
from db.models.counters import ConsumerTotal, RequestCount
from db.models.document import Document
from db.models.dunning import DunningRun
from db.models.follow_up import FollowUp
from db.models.idempotency import IdempotencyRecord
from db.models.meter import Meter, MeterAssignment, MeterReading, ReadingTampering, UtilityService
from db.models.notification import Notification
from db.models.plan import Plan, PlanService
from db.models.protection import ConsumerProtection, WeatherEmergencyDeclaration
from db.models.request import RequestEvent, ServiceRequest
from db.models.service_order import ServiceOrder
from db.models.setting import SystemSetting
from db.models.signin import SigninFailure
from db.models.slot import SlotBooking, SlotDay, TimeSlot
from db.models.user import User

__all__ = [
    "AuditEntry",
    "Base",
    "BillingAccount",
    "Communication",
    "Complaint",
    "Consumer",
    "ConsumerProtection",
    "ConsumerTotal",
    "Document",
    "DunningRun",
    "FollowUp",
    "IdempotencyRecord",
    "Meter",
    "MeterAssignment",
    "MeterReading",
    "Notification",
    "Payment",
    "Plan",
    "PlanService",
    "ReadingTampering",
    "RequestCount",
    "RequestEvent",
    "ServiceOrder",
    "ServiceRequest",
    "SigninFailure",
    "SlotBooking",
    "SlotDay",
    "SystemSetting",
    "TimeSlot",
    "User",
    "UtilityService",
    "WeatherEmergencyDeclaration",
]
