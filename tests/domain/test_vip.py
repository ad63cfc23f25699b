"""domain.consumers.health.vip_reason — the one VIP rule — worked by hand.

Default rule: VIP when **high value** (Commercial, Industrial or Institutional, average monthly
bill ≥ 500) or **loyal and healthy** (health score ≥ 90 and ≥ 10 years a customer); bounds
inclusive; high value is named first when both hold.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.consumers.health import (
    HealthInputs,
    VipReason,
    VipRule,
    health_score,
    is_vip,
    vip_reason,
    years_as_customer,
)
from domain.consumers.types import Category

RULE = VipRule()
HIGH, LOYAL = VipReason.HIGH_VALUE, VipReason.LOYAL_AND_HEALTHY


@pytest.mark.parametrize(
    ("category", "bill", "health", "years", "expected"),
    [
        # high value: a business category and an average monthly bill of at least 500
        (Category.COMMERCIAL, "500.00", 0, 0, HIGH),  # exactly on the bound
        (Category.COMMERCIAL, "499.99", 0, 0, None),  # a cent under
        (Category.INDUSTRIAL, "12000", 40, 1, HIGH),  # health and tenure do not matter here
        (Category.INSTITUTIONAL, "500", 0, 0, HIGH),
        (Category.RESIDENTIAL, "9000.00", 0, 0, None),  # residential: never on the bill alone
        # loyal and healthy: health ≥ 90 and ≥ 10 years, any category
        (Category.RESIDENTIAL, "0", 90, 10, LOYAL),  # both bounds exactly
        (Category.RESIDENTIAL, "0", 89, 40, None),  # one point short
        (Category.RESIDENTIAL, "0", 100, 9.99, None),  # a month short of ten years
        (Category.COMMERCIAL, "20", 95, 12, LOYAL),  # a small business, loyal
        # both: high value is named
        (Category.COMMERCIAL, "750", 95, 15, HIGH),
    ],
)
def test_worked_examples_of_the_default_rule(
    category: Category, bill: str, health: int, years: float, expected: VipReason | None
) -> None:
    args = dict(category=category, average_monthly_bill=Decimal(bill), health_score=health, years=years)

    assert vip_reason(RULE, **args) is expected  # type: ignore[arg-type]
    assert is_vip(RULE, **args) is (expected is not None)  # type: ignore[arg-type]


def test_a_criterion_switched_off_never_qualifies() -> None:
    bills_only = VipRule(min_health_score=None)
    loyalty_only = VipRule(min_average_monthly_bill=None)

    assert vip_reason(bills_only, category=Category.RESIDENTIAL, average_monthly_bill=Decimal(0),
                      health_score=100, years=50) is None  # fmt: skip
    assert vip_reason(loyalty_only, category=Category.INDUSTRIAL, average_monthly_bill=Decimal(10**6),
                      health_score=0, years=0) is None  # fmt: skip


def test_a_configured_threshold_moves_the_line() -> None:
    residential_200 = VipRule(categories=frozenset(Category), min_average_monthly_bill=Decimal(200))

    assert vip_reason(residential_200, category=Category.RESIDENTIAL, average_monthly_bill=Decimal("200"),
                      health_score=0, years=0) is HIGH  # fmt: skip
    assert vip_reason(residential_200, category=Category.RESIDENTIAL, average_monthly_bill=Decimal("199.99"),
                      health_score=0, years=0) is None  # fmt: skip


@pytest.mark.parametrize(
    ("since", "today", "years"),
    [
        (date(2016, 3, 1), date(2026, 3, 1), 10.0),  # the tenth anniversary
        (date(2016, 3, 1), date(2026, 2, 28), 119 / 12),  # the day before: 119 completed months
        (date(2016, 2, 29), date(2026, 2, 28), 10.0),  # a leap day's anniversary is Feb 28
        (date(2026, 5, 1), date(2026, 4, 1), 0.0),  # a future start: no tenure
    ],
)
def test_years_as_customer_counts_completed_months(since: date, today: date, years: float) -> None:
    assert years_as_customer(since, today=today) == pytest.approx(years)


def test_from_the_raw_facts_late_payments_cost_the_crown() -> None:
    """Ten years a customer, 80 % payment compliance, portal and paperless, nothing else on file:
    0.40 × 80 + 0.25 × 100 + 0.15 × 100 + 0.10 × 100 + 0.05 × 100 + 0.05 × 100 = 92 → VIP;
    two late payments take 2 × 2 points off: 88 → not VIP."""
    today = date(2026, 6, 15)
    since = date(2016, 6, 15)
    facts = dict(
        customer_since=since, payment_compliance=Decimal(80), portal_enrolled=True, paperless_billing=True
    )
    on_time = health_score(HealthInputs(**facts), today=today)  # type: ignore[arg-type]
    late = health_score(HealthInputs(**facts, late_payments=2), today=today)  # type: ignore[arg-type]
    years = years_as_customer(since, today=today)

    assert (on_time.score, late.score, years) == (92, 88, 10.0)
    common = dict(category=Category.RESIDENTIAL, average_monthly_bill=Decimal("80"), years=years)
    assert vip_reason(RULE, health_score=on_time.score, **common) is LOYAL  # type: ignore[arg-type]
    assert vip_reason(RULE, health_score=late.score, **common) is None  # type: ignore[arg-type]
