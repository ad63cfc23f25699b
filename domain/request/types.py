"""The vocabulary of requests, in the FAQ's words."""

from __future__ import annotations

from enum import StrEnum


class RequestType(StrEnum):
    RECONNECTION = "Reconnection"
    DISCONNECTION = "Disconnection"


class RequestStatus(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "In Progress"
    ON_HOLD = "On Hold"
    COMPLETED = "Completed"
    CLOSED = "Closed"


OPEN_STATUSES: tuple[RequestStatus, ...] = (
    RequestStatus.PENDING,
    RequestStatus.IN_PROGRESS,
    RequestStatus.ON_HOLD,
)


class Priority(StrEnum):
    LOW = "Low"
    MEDIUM = "Medium"
    HIGH = "High"
    CRITICAL = "Critical"


class SlaState(StrEnum):
    ON_TRACK = "On Track"
    AT_RISK = "At Risk"
    MET = "Met"
    BREACHED = "Breached"


class SlaTarget(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    RESPONSE = "response"
    RESOLUTION = "resolution"


class CloseReason(StrEnum):
    ISSUE_RESOLVED = "Issue resolved"
    DUPLICATE_REQUEST = "Duplicate request"
    CANCELLED_BY_CONSUMER = "Cancelled by consumer"
    NO_CONSUMER_RESPONSE = "No consumer response"
    OTHER = "Other"
    PAYMENT_RECEIVED = "Payment received"  # by the system: a payment cancelled a non-payment disconnection


# The reasons a person may close with (the close form's choices); the rest are the system's.
MANUAL_CLOSE_REASONS = tuple(r for r in CloseReason if r is not CloseReason.PAYMENT_RECEIVED)


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    IN_PERSON = "in_person"
    SYSTEM = "system"
    NOTE = "note"
    LETTER = "letter"  # a written notice by post (queued for printing)


class Direction(StrEnum):
    TO_CUSTOMER = "to_customer"
    FROM_CUSTOMER = "from_customer"
    INTERNAL = "internal"


class Visibility(StrEnum):
    INTERNAL = "internal"
    CONSUMER = "consumer"


class ContactOutcome(StrEnum):
    """How a logged call or visit went: only ``Reached`` is a contact with the consumer."""

    REACHED = "Reached"
    NO_ANSWER = "No answer"
    LEFT_VOICEMAIL = "Left voicemail"
    BUSY = "Busy"
    WRONG_NUMBER = "Wrong number"
    NOBODY_HOME = "Nobody home"  # a visit that found no one


# What a CSR logs by hand: a call, an SMS or e-mail received, an in-person visit.
CONTACT_CHANNELS: tuple[Channel, ...] = (Channel.PHONE, Channel.SMS, Channel.EMAIL, Channel.IN_PERSON)
# How a response is delivered to the consumer (a call or a visit is logged as a contact).
RESPONSE_CHANNELS: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS)
