"""Relationship Health Score (0–100) and the VIP rule (:func:`vip_reason`, the only one).

Pure and deterministic: no I/O and no clock of its own — callers pass ``today``.

The score is a weighted sum of six components, each 0–100, minus penalty points, rounded half up
to a whole number and clamped to 0–100 (the FAQ's "Relationship Health Score")::

    weighted = 0.40 × payment_compliance + 0.25 × service_quality
             + 0.15 × communication_responsiveness + 0.10 × account_longevity
             + 0.05 × digital_engagement + 0.05 × complaint_resolution
    score    = clamp(round_half_up(weighted − penalties), 0, 100)

Components (each rounded half up to 2 decimals; "no data" means the denominator is 0, and then
the component takes a neutral 100 — nothing has gone wrong yet, so nothing is held against the
customer):

- **Payment Compliance** — on-time payments / payments due × 100, as computed by
  :func:`domain.consumers.compliance.payment_compliance`. No payment due yet → 100.
- **Service Quality** — (service requests resolved within SLA + service orders completed) /
  (service requests + service orders) × 100: one pooled ratio. No service history → 100.
- **Communication Responsiveness** — customer-initiated contacts ("From Customer") answered by
  the utility within 2 days / customer-initiated contacts × 100. No contact from the customer
  → 100.
- **Account Longevity** — min(100, years × 10), where years = completed months since
  ``customer_since`` / 12 (a month is complete on the same day-of-month, clamped to month end:
  Jan 31 → Feb 28). So 100 from the 10th anniversary on; a customer since today (or a future
  date) → 0. Not a "no data" case: new customers earn no longevity.
- **Digital Engagement** — 50 for being enrolled in the customer portal + 50 for paperless
  billing (0, 50 or 100).
- **Complaint Resolution** — complaints resolved / complaints × 100. No complaints → 100.

Penalties (points off the weighted sum, per occurrence):

- 2 per late payment (:func:`domain.consumers.compliance.late_payments`),
- 5 per unresolved complaint,
- 10 per service disconnection,
- 25 once if fraudulent activity is flagged.

The weights sum to 1 and every component is at most 100, so the weighted sum never exceeds 100
and penalties only subtract: the upper clamp never bites; the lower one does (a score below 0 is
reported as 0).

Bands: Excellent ≥ 80, Good ≥ 60, Fair ≥ 40, At Risk < 40.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from domain.consumers.types import Category
from domain.dates import add_months

__all__ = [
    "PENALTIES",
    "WEIGHTS",
    "HealthBand",
    "HealthInputs",
    "HealthScore",
    "VipReason",
    "VipRule",
    "band_for",
    "completed_months",
    "health_score",
    "is_vip",
    "vip_reason",
    "years_as_customer",
]

WEIGHTS: Final[Mapping[str, Decimal]] = MappingProxyType(
    {
        "payment_compliance": Decimal("0.40"),
        "service_quality": Decimal("0.25"),
        "communication_responsiveness": Decimal("0.15"),
        "account_longevity": Decimal("0.10"),
        "digital_engagement": Decimal("0.05"),
        "complaint_resolution": Decimal("0.05"),
    }
)
"""Weight of each component in the score; they sum to 1."""

PENALTIES: Final[Mapping[str, int]] = MappingProxyType(
    {
        "late_payments": 2,
        "unresolved_complaints": 5,
        "disconnections": 10,
        "fraud": 25,
    }
)
"""Points deducted per occurrence (``fraud``: once, when flagged)."""

_HUNDRED = Decimal(100)
_CENTS = Decimal("0.01")
_PER_FLAG = Decimal(50)


class HealthBand(StrEnum):
    EXCELLENT = "Excellent"
    GOOD = "Good"
    FAIR = "Fair"
    AT_RISK = "At Risk"


def band_for(score: int) -> HealthBand:
    """Excellent ≥ 80, Good ≥ 60, Fair ≥ 40, At Risk below 40."""
    if score >= 80:
        return HealthBand.EXCELLENT
    if score >= 60:
        return HealthBand.GOOD
    if score >= 40:
        return HealthBand.FAIR
    return HealthBand.AT_RISK


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthInputs:
    """The raw facts the score is computed from (keyword-only; only ``customer_since`` is required).

    Counts default to 0 and flags to ``False``; ``payment_compliance`` defaults to ``None`` (no
    payment due yet). ``unresolved_complaints`` is the number of complaints open now — normally
    ``complaints_total − complaints_resolved``, but kept separate so a caller may compute the
    resolution rate over a window and still penalise every open complaint. ``ValueError`` on a
    negative count, a part larger than its whole (e.g. more orders completed than exist) or a
    compliance outside 0–100.
    """

    customer_since: date
    payment_compliance: Decimal | None = None
    service_orders_total: int = 0
    service_orders_completed: int = 0
    requests_total: int = 0
    requests_resolved_within_sla: int = 0
    communications_from_customer: int = 0
    communications_answered: int = 0
    """Customer-initiated contacts the utility responded to within 2 days."""
    portal_enrolled: bool = False
    paperless_billing: bool = False
    complaints_total: int = 0
    complaints_resolved: int = 0
    late_payments: int = 0
    unresolved_complaints: int = 0
    disconnections: int = 0
    fraud_flag: bool = False

    def __post_init__(self) -> None:
        for name in (
            "service_orders_total",
            "service_orders_completed",
            "requests_total",
            "requests_resolved_within_sla",
            "communications_from_customer",
            "communications_answered",
            "complaints_total",
            "complaints_resolved",
            "late_payments",
            "unresolved_complaints",
            "disconnections",
        ):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"HealthInputs.{name} must not be negative, got {value}")
        for part, whole in (
            ("service_orders_completed", "service_orders_total"),
            ("requests_resolved_within_sla", "requests_total"),
            ("communications_answered", "communications_from_customer"),
            ("complaints_resolved", "complaints_total"),
        ):
            if getattr(self, part) > getattr(self, whole):
                raise ValueError(
                    f"HealthInputs.{part} ({getattr(self, part)}) exceeds {whole} ({getattr(self, whole)})"
                )
        if self.payment_compliance is not None and not 0 <= self.payment_compliance <= 100:
            raise ValueError(f"HealthInputs.payment_compliance must be 0–100, got {self.payment_compliance}")


@dataclass(frozen=True, slots=True)
class HealthScore:
    """A computed score with its working.

    ``components``: each component 0–100 (keys as in :data:`WEIGHTS`); ``weighted``: the exact
    weighted sum before penalties; ``penalties``: points deducted per kind (keys as in
    :data:`PENALTIES`, 0 when none); ``score``: ``weighted − total penalty`` rounded half up and
    clamped to 0–100; ``band``: from ``score``.
    """

    score: int
    components: dict[str, Decimal]
    weighted: Decimal
    penalties: dict[str, int]
    band: HealthBand

    @property
    def total_penalty(self) -> int:
        return sum(self.penalties.values())


def completed_months(since: date, *, today: date) -> int:
    """Whole months from ``since`` to ``today`` (0 if ``since`` is today or later).

    A month is complete on the same day-of-month, clamped to the month's end: from Jan 31, one
    month is complete on Feb 28 (29 in a leap year).
    """
    if since >= today:
        return 0
    months = (today.year - since.year) * 12 + today.month - since.month
    if add_months(since, months) > today:
        months -= 1
    return months


def years_as_customer(since: date, *, today: date) -> float:
    """Completed months since ``since`` / 12: the tenure :class:`VipRule` compares with ``min_years``."""
    return completed_months(since, today=today) / 12


def _percent(part: int, whole: int) -> Decimal:
    """part / whole × 100 to 2 decimals; the neutral 100 when ``whole`` is 0 (no data)."""
    if whole == 0:
        return _HUNDRED
    return _cents(Decimal(part) * _HUNDRED / Decimal(whole))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENTS, rounding=ROUND_HALF_UP)


def _components(inputs: HealthInputs, today: date) -> dict[str, Decimal]:
    months = completed_months(inputs.customer_since, today=today)
    payment = _HUNDRED if inputs.payment_compliance is None else _cents(inputs.payment_compliance)
    return {
        "payment_compliance": payment,
        "service_quality": _percent(
            inputs.requests_resolved_within_sla + inputs.service_orders_completed,
            inputs.requests_total + inputs.service_orders_total,
        ),
        "communication_responsiveness": _percent(
            inputs.communications_answered, inputs.communications_from_customer
        ),
        "account_longevity": min(_HUNDRED, _cents(Decimal(months) * 10 / 12)),
        "digital_engagement": _cents(
            _PER_FLAG * (int(inputs.portal_enrolled) + int(inputs.paperless_billing))
        ),
        "complaint_resolution": _percent(inputs.complaints_resolved, inputs.complaints_total),
    }


def health_score(inputs: HealthInputs, *, today: date) -> HealthScore:
    """The Relationship Health Score for ``inputs`` as of ``today`` (see the module docstring)."""
    components = _components(inputs, today)
    weighted = sum((components[name] * weight for name, weight in WEIGHTS.items()), Decimal(0))
    penalties = {
        "late_payments": PENALTIES["late_payments"] * inputs.late_payments,
        "unresolved_complaints": PENALTIES["unresolved_complaints"] * inputs.unresolved_complaints,
        "disconnections": PENALTIES["disconnections"] * inputs.disconnections,
        "fraud": PENALTIES["fraud"] if inputs.fraud_flag else 0,
    }
    raw = (weighted - sum(penalties.values())).to_integral_value(rounding=ROUND_HALF_UP)
    score = max(0, min(100, int(raw)))
    return HealthScore(
        score=score, components=components, weighted=weighted, penalties=penalties, band=band_for(score)
    )


_DEFAULT_VIP_CATEGORIES: Final = frozenset({Category.COMMERCIAL, Category.INDUSTRIAL, Category.INSTITUTIONAL})


@dataclass(frozen=True, slots=True)
class VipRule:
    """When an account gets the VIP crown. The FAQ leaves the criteria to the utility; this is ours.

    Default: a consumer is VIP when **either**

    - **high value** — its category is Commercial, Industrial or Institutional **and** its
      average monthly billed amount is at least 500; **or**
    - **loyal and healthy** — its health score is at least 90 **and** it has been a customer for
      at least 10 years.

    The outstanding balance is deliberately irrelevant (VIP means valued, not indebted or in
    credit). All bounds are inclusive. Set ``min_average_monthly_bill`` or ``min_health_score``
    to ``None`` to switch that criterion off.
    """

    categories: frozenset[Category] = field(default=_DEFAULT_VIP_CATEGORIES)
    min_average_monthly_bill: Decimal | None = Decimal(500)
    min_health_score: int | None = 90
    min_years: float = 10

    def __post_init__(self) -> None:
        if self.min_average_monthly_bill is not None and self.min_average_monthly_bill < 0:
            raise ValueError(
                f"VipRule.min_average_monthly_bill must not be negative, got {self.min_average_monthly_bill}"
            )
        if self.min_health_score is not None and not 0 <= self.min_health_score <= 100:
            raise ValueError(f"VipRule.min_health_score must be 0–100, got {self.min_health_score}")
        if self.min_years < 0:
            raise ValueError(f"VipRule.min_years must not be negative, got {self.min_years}")


class VipReason(StrEnum):
    """Which side of :class:`VipRule` a consumer qualifies on (high value is checked first)."""

    HIGH_VALUE = "high_value"
    LOYAL_AND_HEALTHY = "loyal_and_healthy"


def vip_reason(
    rule: VipRule,
    *,
    category: Category,
    average_monthly_bill: Decimal,
    health_score: int,
    years: float,
) -> VipReason | None:
    """Why a consumer wears the VIP crown under ``rule`` (see :class:`VipRule`), or ``None``.

    The one VIP rule: the stored ``consumers.is_vip`` that lists read is kept equal to
    ``vip_reason(...) is not None`` and the profile shows the reason. A consumer meeting both
    criteria is ``HIGH_VALUE``.
    """
    if (
        rule.min_average_monthly_bill is not None
        and category in rule.categories
        and average_monthly_bill >= rule.min_average_monthly_bill
    ):
        return VipReason.HIGH_VALUE
    if (
        rule.min_health_score is not None
        and health_score >= rule.min_health_score
        and years >= rule.min_years
    ):
        return VipReason.LOYAL_AND_HEALTHY
    return None


def is_vip(
    rule: VipRule,
    *,
    category: Category,
    average_monthly_bill: Decimal,
    health_score: int,
    years: float,
) -> bool:
    """Whether a consumer qualifies as VIP under ``rule``: :func:`vip_reason` is not ``None``."""
    return (
        vip_reason(
            rule,
            category=category,
            average_monthly_bill=average_monthly_bill,
            health_score=health_score,
            years=years,
        )
        is not None
    )
