"""What select-plan and activate check and say, shared by the workflow (its validators, and runs
begun before the ``*-checked-where-written`` patches) and the activity that checks them where it writes
them. Pure functions of their arguments, safe in the workflow sandbox."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from domain.consumers.types import PaymentMode, UtilityType
from domain.request import rules
from domain.request.rules import TransitionRefused
from workflows.schemas import AssignedMeter, MeterFactsList, PlanView


def check_activation(
    services: Sequence[tuple[UtilityType, bool]],
    meters: Sequence[AssignedMeter],
    facts: MeterFactsList | None,
    *,
    today: date,
    payment_mode: PaymentMode,
    payment_reference: str | None,
) -> None:
    """Refuse (``TransitionRefused``) meters and billing that would not reconnect the consumer: the
    plan's rules alone without ``facts``, and with them the meters as the database has them."""
    known = {f.meter_number: f for f in facts.meters} if facts else {}
    if facts is not None:
        missing = [m.meter_number for m in meters if m.meter_number not in known]
        if missing:
            raise TransitionRefused(f"Unknown meter number(s): {', '.join(missing)}.", "meter_unknown")
    rules.check_activation(
        services,
        [
            rules.MeterChoice(
                utility=m.utility,
                meter_number=m.meter_number,
                reading=m.reading,
                reading_date=m.reading_date,
                meter_utility=known[m.meter_number].utility if facts else None,
                meter_last_reading=known[m.meter_number].last_reading if facts else None,
                meter_available=known[m.meter_number].available if facts else None,
                meter_in_place=known[m.meter_number].in_place if facts else None,
            )
            for m in meters
        ],
        today=today,
        payment_mode=payment_mode,
        payment_reference=payment_reference,
    )


def activated(
    plan_short_name: str, meters: Sequence[AssignedMeter], in_place: Collection[str], billing: str
) -> str:
    """The timeline's words for an activation."""
    listing = ", ".join(
        f"{m.utility.value} {m.meter_number} at {m.reading} on {m.reading_date}"
        + (" (re-energised in place)" if m.meter_number in in_place else "")
        for m in meters
    )
    return f"Reconnected and activated on plan {plan_short_name}; meters: {listing}; {billing}."


def plan_selected(plan: PlanView) -> str:
    """The timeline's words for a plan's selection."""
    return f"Plan selected: {plan.name} ({plan.short_name})."
