"""What a reconnection costs: the profile's fee rule at the moment of the work.

Pure: callers pass the moment (timezone-aware). The fee is charged once, when the reconnection is
completed, unless a supervisor waived it; the quote shown before is the same rule applied to now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.disconnection.profile import JurisdictionProfile

__all__ = ["FeeQuote", "reconnection_fee"]


@dataclass(frozen=True, slots=True)
class FeeQuote:
    amount: Decimal
    basis: str  # why this amount, for the timeline and the review


def reconnection_fee(profile: JurisdictionProfile, *, at: datetime, urgent: bool = False) -> FeeQuote | None:
    """The fee for reconnection work done at ``at``; None when the profile charges none.

    Urgent work pays the urgent fee when one is set; otherwise work outside the rule's business
    days and hours pays the after-hours fee when one is set; the business-hours fee else. The
    cap, when set, bounds the result.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at must be timezone-aware, got naive {at.isoformat()}")
    rule = profile.reconnection_fee
    if rule is None:
        return None
    local = at.astimezone(profile.zone)
    in_hours = local.weekday() in rule.weekdays and rule.hours_start <= local.time() < rule.hours_end
    if urgent and rule.urgent is not None:
        amount, basis = rule.urgent, "urgent"
    elif not in_hours and rule.after_hours is not None:
        amount, basis = rule.after_hours, "after hours"
    else:
        amount, basis = rule.business_hours, "business hours"
    if rule.cap is not None and amount > rule.cap:
        amount, basis = rule.cap, f"{basis}, capped at ${rule.cap:,.2f}"
    return FeeQuote(amount=amount, basis=f"{profile.name} reconnection fee ({basis})")
