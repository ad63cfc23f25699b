"""Service on, service off: which request a consumer gets, and what a disconnection leaves behind.

A consumer whose service is off (Inactive, Disconnected, Temporarily Disconnected) gets a
Reconnection; one whose service is on (Active, Collection) a Disconnection; a Pending account
neither (it has never been connected: finish its set-up first).

A disconnection's *kind* follows from its reason: *temporary* (Non-payment, Seasonal closure,
Safety hazard) leaves the consumer Temporarily Disconnected with their meters still assigned;
*permanent* (Moving out, Consumer request) leaves them Inactive with their meters unassigned.
"Other" is permanent unless the CSR says otherwise (``other_kind``): a permanent cut unassigns the
meters, so a later reconnection starts from a clean slate rather than from meters left in doubt.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.consumers.types import ConsumerStatus
from domain.request.rules import TransitionRefused
from domain.request.types import RequestType

__all__ = [
    "SERVICE_OFF",
    "SERVICE_ON",
    "DisconnectionKind",
    "DisconnectionOutcome",
    "DisconnectionReason",
    "ReconnectionMeters",
    "ServiceRefusalCode",
    "disconnection_kind_for",
    "disconnection_outcome",
    "kind_of_request",
    "parse_reason",
    "reconnection_meters",
    "request_type_for_service",
    "service_is_on",
]


class DisconnectionReason(StrEnum):
    """The reasons offered for a disconnection (the create form's dropdown)."""

    MOVING_OUT = "Moving out"
    NON_PAYMENT = "Non-payment"
    SEASONAL_CLOSURE = "Seasonal closure"
    SAFETY_HAZARD = "Safety hazard"
    CONSUMER_REQUEST = "Consumer request"
    OTHER = "Other"


class DisconnectionKind(StrEnum):
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


class ServiceRefusalCode(StrEnum):
    """Codes of the :class:`~domain.request.rules.TransitionRefused` raised here."""

    CONSUMER_PENDING = "consumer_pending"
    UNKNOWN_REASON = "unknown_disconnection_reason"


SERVICE_ON: frozenset[ConsumerStatus] = frozenset({ConsumerStatus.ACTIVE, ConsumerStatus.COLLECTION})
SERVICE_OFF: frozenset[ConsumerStatus] = frozenset(
    {ConsumerStatus.INACTIVE, ConsumerStatus.DISCONNECTED, ConsumerStatus.TEMPORARILY_DISCONNECTED}
)

_PENDING_MESSAGE = (
    "This consumer's account is Pending: service was never connected, so there is nothing to "
    "disconnect or reconnect. Complete the account set-up first."
)


def service_is_on(status: ConsumerStatus) -> bool:
    """Whether the consumer's service is on; refuses a Pending account (code ``consumer_pending``)."""
    status = ConsumerStatus(status)
    if status in SERVICE_ON:
        return True
    if status in SERVICE_OFF:
        return False
    raise TransitionRefused(_PENDING_MESSAGE, ServiceRefusalCode.CONSUMER_PENDING)


def request_type_for_service(status: ConsumerStatus) -> RequestType:
    """Reconnection when service is off, Disconnection when it is on; refuses a Pending account."""
    return RequestType.DISCONNECTION if service_is_on(status) else RequestType.RECONNECTION


_KIND: dict[DisconnectionReason, DisconnectionKind] = {
    DisconnectionReason.NON_PAYMENT: DisconnectionKind.TEMPORARY,
    DisconnectionReason.SEASONAL_CLOSURE: DisconnectionKind.TEMPORARY,
    DisconnectionReason.SAFETY_HAZARD: DisconnectionKind.TEMPORARY,
    DisconnectionReason.MOVING_OUT: DisconnectionKind.PERMANENT,
    DisconnectionReason.CONSUMER_REQUEST: DisconnectionKind.PERMANENT,
}


def parse_reason(reason: str) -> DisconnectionReason:
    """The reason as a :class:`DisconnectionReason`; refuses one not on the list."""
    try:
        return DisconnectionReason(reason)
    except ValueError:
        offered = ", ".join(r.value for r in DisconnectionReason)
        raise TransitionRefused(
            f"'{reason}' is not a disconnection reason; choose one of: {offered}.",
            ServiceRefusalCode.UNKNOWN_REASON,
        ) from None


def disconnection_kind_for(
    reason: DisconnectionReason | str, *, other_kind: DisconnectionKind = DisconnectionKind.PERMANENT
) -> DisconnectionKind:
    """Temporary or permanent, by reason; "Other" takes ``other_kind`` (permanent unless told)."""
    return _KIND.get(parse_reason(reason), DisconnectionKind(other_kind))


@dataclass(frozen=True, slots=True)
class DisconnectionOutcome:
    """What completing a disconnection will do, shown to the CSR before submit."""

    kind: DisconnectionKind
    status_after: ConsumerStatus
    meters_stay_assigned: bool
    summary: str


def disconnection_outcome(
    reason: DisconnectionReason | str, *, other_kind: DisconnectionKind = DisconnectionKind.PERMANENT
) -> DisconnectionOutcome:
    """The kind, the consumer's status afterwards, whether meters stay assigned, and a summary."""
    kind = disconnection_kind_for(reason, other_kind=other_kind)
    if kind is DisconnectionKind.TEMPORARY:
        return DisconnectionOutcome(
            kind,
            ConsumerStatus.TEMPORARILY_DISCONNECTED,
            True,
            "Temporary disconnection: the consumer becomes Temporarily Disconnected; their meters "
            "stay assigned with service off, and a reconnection re-energises them in place.",
        )
    return DisconnectionOutcome(
        kind,
        ConsumerStatus.INACTIVE,
        False,
        "Permanent disconnection: the consumer becomes Inactive and their meters are unassigned; "
        "a reconnection needs a plan and meters again.",
    )


def kind_of_request(request_type: RequestType, reason: str) -> DisconnectionKind | None:
    """The kind of a request for display: None for a reconnection, or a reason no longer offered."""
    if RequestType(request_type) is not RequestType.DISCONNECTION:
        return None
    try:
        return disconnection_kind_for(reason)
    except TransitionRefused:
        return None


@dataclass(frozen=True, slots=True)
class ReconnectionMeters:
    """What a reconnection does with each meter: the three sets never overlap."""

    re_energise: tuple[str, ...]  # chosen, and already the consumer's: readings recorded in place
    assign: tuple[str, ...]  # chosen, new to the consumer: assigned (must be Available)
    release: tuple[str, ...]  # the consumer's, not chosen (swapped or no longer in the plan): unassigned


def reconnection_meters(chosen: Sequence[str], in_place: Collection[str]) -> ReconnectionMeters:
    """Split a reconnection's meters: the consumer's own (``in_place``, service off) chosen again are
    re-energised where they are; other chosen meters are assigned; own meters not chosen are released.
    Order follows ``chosen`` (then ``in_place``); a number given twice counts once."""
    ordered = list(dict.fromkeys(chosen))
    own, picked = set(in_place), set(ordered)
    return ReconnectionMeters(
        re_energise=tuple(m for m in ordered if m in own),
        assign=tuple(m for m in ordered if m not in own),
        release=tuple(m for m in dict.fromkeys(in_place) if m not in picked),
    )
