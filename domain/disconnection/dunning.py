"""Nightly dunning: which consumers in arrears get a non-payment disconnection request this cycle.

A consumer is *found* when their arrears are at least the profile's ``min_arrears`` and have been
due for at least :func:`after_days` days on the cycle's date. A found consumer is then skipped,
with the reason recorded, when their service is off, a protection or moratorium holds, they
already have an open request, or this cycle already created theirs; otherwise a request is created.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.consumers.types import ConsumerStatus
from domain.disconnection.payments import arrears_of
from domain.disconnection.profile import JurisdictionProfile
from domain.disconnection.rules import SERVICE_ON

__all__ = [
    "SKIP_LABELS",
    "DunningRunStatus",
    "SkipReason",
    "after_days",
    "dunning_key",
    "is_found",
    "skip_reason",
]


class DunningRunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"


class SkipReason(StrEnum):
    """Why a found consumer got no request this run."""

    SERVICE_OFF = "service_off"
    PROTECTED = "protected"
    ALREADY_OPEN = "already_open"
    ALREADY_CREATED = "already_created"  # this cycle's request exists (an earlier run of the cycle)
    NO_LONGER_DUE = "no_longer_due"  # paid (or its bills changed) between the search and the check


SKIP_LABELS = {
    SkipReason.SERVICE_OFF: "Service already off",
    SkipReason.PROTECTED: "Protected (protection or moratorium)",
    SkipReason.ALREADY_OPEN: "Already has an open request",
    SkipReason.ALREADY_CREATED: "Created earlier this cycle",
    SkipReason.NO_LONGER_DUE: "No longer due",
}


def after_days(profile: JurisdictionProfile) -> int:
    """How long arrears must have been due before dunning acts: the later of the two thresholds."""
    return max(profile.dunning_after_days, profile.min_days_delinquent)


def is_found(
    *, min_arrears: Decimal, after_days: int, balance: Decimal, due_on: date | None, cycle: date
) -> bool:
    """Whether arrears of ``balance``, due since ``due_on``, are at least ``min_arrears`` and due for
    at least ``after_days`` days on ``cycle``."""
    arrears = arrears_of(balance)
    if arrears == 0 or arrears < min_arrears or due_on is None:
        return False
    return (cycle - due_on).days >= after_days


def skip_reason(*, status: ConsumerStatus, open_request: str | None, protected: bool) -> SkipReason | None:
    """Why a found consumer gets no request (None: create one). Service off is checked first: an
    open reconnection is not a reason to dun."""
    if ConsumerStatus(status) not in SERVICE_ON:
        return SkipReason.SERVICE_OFF
    if open_request:
        return SkipReason.ALREADY_OPEN
    if protected:
        return SkipReason.PROTECTED
    return None


def dunning_key(cycle: date, consumer_id: int) -> str:
    """The idempotency key of a cycle's request for a consumer: one per consumer per cycle."""
    return f"dunning-{cycle.isoformat()}-{consumer_id}"
