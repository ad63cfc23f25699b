"""domain.consumers.health: the Relationship Health Score, worked by hand, and the VIP rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.consumers.health import (
    PENALTIES,
    WEIGHTS,
    HealthBand,
    HealthInputs,
    VipRule,
    band_for,
    completed_months,
    health_score,
    is_vip,
)
from domain.consumers.types import Category

TODAY = date(2026, 3, 1)
D = Decimal


def perfect(**overrides: object) -> HealthInputs:
    """Every component at 100: 100 % compliance, 10+ years, both digital flags, no bad history."""
    fields: dict[str, object] = {
        "customer_since": date(2010, 1, 1),
        "payment_compliance": D("100.0"),
        "portal_enrolled": True,
        "paperless_billing": True,
    }
    fields.update(overrides)
    return HealthInputs(**fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Constants


def test_weights_match_the_faq_and_sum_to_one() -> None:
    assert dict(WEIGHTS) == {
        "payment_compliance": D("0.40"),
        "service_quality": D("0.25"),
        "communication_responsiveness": D("0.15"),
        "account_longevity": D("0.10"),
        "digital_engagement": D("0.05"),
        "complaint_resolution": D("0.05"),
    }
    assert sum(WEIGHTS.values()) == 1


def test_penalties_match_the_faq() -> None:
    assert dict(PENALTIES) == {
        "late_payments": 2,
        "unresolved_complaints": 5,
        "disconnections": 10,
        "fraud": 25,
    }


def test_constants_are_read_only() -> None:
    with pytest.raises(TypeError):
        WEIGHTS["fraud"] = D(1)  # type: ignore[index]


# ---------------------------------------------------------------------------------------------
# Worked examples


def test_worked_example_typical_customer() -> None:
    inputs = HealthInputs(
        customer_since=date(2019, 3, 15),
        payment_compliance=D("91.7"),
        requests_total=4,
        requests_resolved_within_sla=3,
        service_orders_total=6,
        service_orders_completed=5,
        communications_from_customer=8,
        communications_answered=6,
        portal_enrolled=True,
        paperless_billing=False,
        complaints_total=3,
        complaints_resolved=2,
        late_payments=2,
        unresolved_complaints=1,
    )
    result = health_score(inputs, today=TODAY)
    # payment compliance            91.70                          × 0.40 = 36.680
    # service quality     (3 + 5) / (4 + 6) = 8/10 → 80.00          × 0.25 = 20.000
    # communication       6 / 8 → 75.00                             × 0.15 = 11.250
    # longevity           2019-03-15 → 2026-03-01: 83 whole months
    #                     (the 84th completes on 2026-03-15);
    #                     83 × 10 / 12 = 69.1666… → 69.17            × 0.10 =  6.917
    # digital             portal only → 50                          × 0.05 =  2.500
    # complaints          2 / 3 = 66.666… → 66.67                   × 0.05 =  3.3335
    #                                                      weighted       = 80.6805
    # penalties           2 late × 2 = 4, 1 unresolved × 5 = 5     total  =  9
    # score               80.6805 − 9 = 71.6805 → 72 → Good
    assert result.components == {
        "payment_compliance": D("91.70"),
        "service_quality": D("80.00"),
        "communication_responsiveness": D("75.00"),
        "account_longevity": D("69.17"),
        "digital_engagement": D("50"),
        "complaint_resolution": D("66.67"),
    }
    assert result.weighted == D("80.6805")
    assert result.penalties == {
        "late_payments": 4,
        "unresolved_complaints": 5,
        "disconnections": 0,
        "fraud": 0,
    }
    assert result.total_penalty == 9
    assert result.score == 72
    assert result.band == HealthBand.GOOD
    assert result.band.value == "Good"


def test_clamped_at_zero_with_fraud_and_disconnections() -> None:
    inputs = HealthInputs(
        customer_since=TODAY,  # new today: longevity 0
        payment_compliance=D("0.0"),
        late_payments=3,
        disconnections=2,
        fraud_flag=True,
    )
    result = health_score(inputs, today=TODAY)
    # payment 0 × 0.40 = 0; service (no data) 100 × 0.25 = 25; communication (no data)
    # 100 × 0.15 = 15; longevity 0; digital 0; complaints (none) 100 × 0.05 = 5 → weighted 45
    # penalties: 3 × 2 = 6, 2 × 10 = 20, fraud 25 → 51;  45 − 51 = −6 → clamped to 0
    assert result.weighted == 45
    assert result.penalties == {
        "late_payments": 6,
        "unresolved_complaints": 0,
        "disconnections": 20,
        "fraud": 25,
    }
    assert result.score == 0
    assert result.band == HealthBand.AT_RISK


def test_penalties_alone_can_sink_a_perfect_record_to_zero() -> None:
    # 100 − fraud 25 − 8 disconnections × 10 = 100 − 25 − 80 = −5 → clamped to 0
    result = health_score(perfect(fraud_flag=True, disconnections=8), today=TODAY)
    assert result.weighted == 100
    assert result.score == 0


def test_exactly_zero_is_not_clamped() -> None:
    # 100 − 25 − 7 × 10 − 1 × 5 = 0
    result = health_score(perfect(fraud_flag=True, disconnections=7, unresolved_complaints=1), today=TODAY)
    assert result.score == 0


def test_fraud_alone_on_a_perfect_record() -> None:
    # 100 − 25 = 75 → Good
    result = health_score(perfect(fraud_flag=True), today=TODAY)
    assert (result.score, result.band) == (75, HealthBand.GOOD)


def test_perfect_record_is_exactly_100_and_never_more() -> None:
    # Every component 100, weights sum to 1 → weighted 100.00; no penalties → 100.
    # Above 100 is impossible: components are capped at 100 and penalties only subtract.
    result = health_score(perfect(), today=TODAY)
    assert all(value == 100 for value in result.components.values())
    assert result.weighted == 100
    assert result.score == 100
    assert result.band == HealthBand.EXCELLENT
    # 40 years' service still caps longevity at 100.
    assert health_score(perfect(customer_since=date(1986, 1, 1)), today=TODAY).score == 100


def test_score_rounds_half_up() -> None:
    # All 100 except complaints 9 / 10 = 90 × 0.05 = 4.5 → weighted 40+25+15+10+5+4.5 = 99.5
    # 1 unresolved complaint: 99.5 − 5 = 94.5 → 95 (half-even would give 94)
    result = health_score(
        perfect(complaints_total=10, complaints_resolved=9, unresolved_complaints=1), today=TODAY
    )
    assert result.weighted == D("99.5")
    assert result.score == 95
    # Without the penalty: 99.5 → 100
    assert health_score(perfect(complaints_total=10, complaints_resolved=9), today=TODAY).score == 100


def test_no_data_takes_the_neutral_defaults() -> None:
    # Nothing due, no service history, no contact, no complaints → those four are 100;
    # a customer since today has longevity 0; no digital flags → 0.
    # 100 × 0.40 + 100 × 0.25 + 100 × 0.15 + 0 + 0 + 100 × 0.05 = 85 → Excellent
    result = health_score(HealthInputs(customer_since=TODAY), today=TODAY)
    assert result.components == {
        "payment_compliance": 100,
        "service_quality": 100,
        "communication_responsiveness": 100,
        "account_longevity": 0,
        "digital_engagement": 0,
        "complaint_resolution": 100,
    }
    assert result.weighted == 85
    assert result.penalties == dict.fromkeys(PENALTIES, 0)
    assert (result.score, result.band) == (85, HealthBand.EXCELLENT)


# ---------------------------------------------------------------------------------------------
# Components one at a time


def component(name: str, **fields: object) -> Decimal:
    inputs = HealthInputs(**{"customer_since": TODAY, **fields})  # type: ignore[arg-type]
    return health_score(inputs, today=TODAY).components[name]


def test_service_quality_pools_requests_and_orders() -> None:
    # only requests: 1 / 4 → 25.00
    assert component("service_quality", requests_total=4, requests_resolved_within_sla=1) == D("25.00")
    # only orders: 2 / 3 → 66.666… → 66.67
    assert component("service_quality", service_orders_total=3, service_orders_completed=2) == D("66.67")
    # pooled: (0 + 1) / (2 + 1) = 1/3 → 33.33
    assert component(
        "service_quality", requests_total=2, service_orders_total=1, service_orders_completed=1
    ) == D("33.33")


def test_communication_responsiveness() -> None:
    # 0 answered of 5 → 0;  5 of 5 → 100;  1 of 6 → 16.666… → 16.67
    assert component("communication_responsiveness", communications_from_customer=5) == 0
    assert (
        component("communication_responsiveness", communications_from_customer=5, communications_answered=5)
        == 100
    )
    assert component(
        "communication_responsiveness", communications_from_customer=6, communications_answered=1
    ) == D("16.67")


@pytest.mark.parametrize(
    ("portal", "paperless", "expected"),
    [(False, False, 0), (True, False, 50), (False, True, 50), (True, True, 100)],
)
def test_digital_engagement_is_50_per_flag(portal: bool, paperless: bool, expected: int) -> None:
    assert component("digital_engagement", portal_enrolled=portal, paperless_billing=paperless) == expected


def test_complaint_resolution() -> None:
    # 1 of 4 resolved → 25.00
    assert component("complaint_resolution", complaints_total=4, complaints_resolved=1) == D("25.00")


def test_payment_compliance_is_taken_as_given_to_two_decimals() -> None:
    assert component("payment_compliance", payment_compliance=D("92.0")) == D("92.00")
    assert component("payment_compliance", payment_compliance=D("0")) == 0


@pytest.mark.parametrize(
    ("since", "today", "longevity"),
    [
        (date(2016, 3, 1), date(2026, 3, 1), D("100")),  # 120 months = 10 years exactly
        (date(2016, 3, 2), date(2026, 3, 1), D("99.17")),  # 119 × 10 / 12 = 99.166… → 99.17
        (date(2000, 1, 1), date(2026, 3, 1), D("100")),  # 314 months, capped
        (date(2021, 3, 1), date(2026, 3, 1), D("50")),  # 60 months
        (date(2026, 1, 31), date(2026, 2, 28), D("0.83")),  # 1 month (Jan 31 → Feb 28): 10 / 12
        (date(2026, 1, 31), date(2026, 2, 27), D("0")),  # not yet a month
        (date(2024, 2, 29), date(2025, 2, 28), D("10")),  # 12 months (leap day → Feb 28)
        (date(2026, 3, 1), date(2026, 3, 1), D("0")),  # customer since today
        (date(2026, 6, 1), date(2026, 3, 1), D("0")),  # future date: 0, not negative
    ],
)
def test_account_longevity(since: date, today: date, longevity: Decimal) -> None:
    result = health_score(HealthInputs(customer_since=since), today=today)
    assert result.components["account_longevity"] == longevity


@pytest.mark.parametrize(
    ("since", "today", "months"),
    [
        (date(2026, 1, 15), date(2026, 2, 14), 0),
        (date(2026, 1, 15), date(2026, 2, 15), 1),
        (date(2025, 12, 31), date(2026, 2, 28), 2),  # Dec 31 → Jan 31 → Feb 28
        (date(2025, 3, 31), date(2026, 3, 30), 11),
        (date(2025, 3, 31), date(2026, 3, 31), 12),
        (date(2026, 3, 1), date(2026, 3, 1), 0),
        (date(2027, 1, 1), date(2026, 3, 1), 0),
    ],
)
def test_completed_months(since: date, today: date, months: int) -> None:
    assert completed_months(since, today=today) == months


# ---------------------------------------------------------------------------------------------
# Bands


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, "Excellent"),
        (80, "Excellent"),
        (79, "Good"),
        (60, "Good"),
        (59, "Fair"),
        (40, "Fair"),
        (39, "At Risk"),
        (0, "At Risk"),
    ],
)
def test_bands(score: int, band: str) -> None:
    assert band_for(score) == band


# ---------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    "fields",
    [
        {"late_payments": -1},
        {"disconnections": -1},
        {"requests_total": -1},
        {"service_orders_total": 1, "service_orders_completed": 2},
        {"requests_total": 1, "requests_resolved_within_sla": 2},
        {"communications_from_customer": 0, "communications_answered": 1},
        {"complaints_total": 2, "complaints_resolved": 3},
        {"payment_compliance": D("100.1")},
        {"payment_compliance": D("-0.1")},
    ],
)
def test_inconsistent_inputs_are_rejected(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        HealthInputs(customer_since=TODAY, **fields)  # type: ignore[arg-type]


def test_inputs_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        HealthInputs(TODAY)  # type: ignore[call-arg]


# ---------------------------------------------------------------------------------------------
# VIP


RULE = VipRule()


def vip(
    rule: VipRule = RULE,
    *,
    category: Category = Category.RESIDENTIAL,
    bill: str = "0",
    health: int = 0,
    years: float = 0,
) -> bool:
    return is_vip(rule, category=category, average_monthly_bill=D(bill), health_score=health, years=years)


def test_vip_default_rule_is_documented_values() -> None:
    assert RULE.categories == {Category.COMMERCIAL, Category.INDUSTRIAL, Category.INSTITUTIONAL}
    assert RULE.min_average_monthly_bill == 500
    assert RULE.min_health_score == 90
    assert RULE.min_years == 10


@pytest.mark.parametrize("category", [Category.COMMERCIAL, Category.INDUSTRIAL, Category.INSTITUTIONAL])
def test_vip_high_value_non_residential_at_500_inclusive(category: Category) -> None:
    assert vip(category=category, bill="500.00")
    assert not vip(category=category, bill="499.99")


def test_vip_residential_is_not_vip_on_bill_alone() -> None:
    assert not vip(category=Category.RESIDENTIAL, bill="10000")


def test_vip_loyal_and_healthy_any_category() -> None:
    assert vip(health=90, years=10)  # both bounds inclusive
    assert not vip(health=89, years=40)
    assert not vip(health=100, years=9.9)
    assert vip(category=Category.COMMERCIAL, bill="20", health=95, years=12)


def test_vip_custom_rule() -> None:
    residential_too = VipRule(
        categories=frozenset(Category), min_average_monthly_bill=D(200), min_health_score=None
    )
    assert vip(residential_too, category=Category.RESIDENTIAL, bill="200")
    # the loyalty criterion is switched off
    assert not vip(residential_too, bill="10", health=100, years=30)

    loyalty_only = VipRule(min_average_monthly_bill=None, min_health_score=80, min_years=5)
    assert not vip(loyalty_only, category=Category.INDUSTRIAL, bill="1000000")
    assert vip(loyalty_only, health=80, years=5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_average_monthly_bill": D(-1)},
        {"min_health_score": 101},
        {"min_health_score": -1},
        {"min_years": -1},
    ],
)
def test_vip_rule_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        VipRule(**kwargs)  # type: ignore[arg-type]
