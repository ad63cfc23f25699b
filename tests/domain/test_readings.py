"""domain.consumers.readings: consumption per period, average usage and anomalies with reasons."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.consumers.readings import (
    Anomaly,
    AnomalyKind,
    Reading,
    average_monthly_usage,
    find_anomalies,
    monthly_consumption,
)
from domain.consumers.types import MeterStatus, ReadingStatus, VerificationStatus

D = Decimal
VERIFIED = VerificationStatus.VERIFIED
PENDING = VerificationStatus.PENDING


def r(day: str, value: int | str, verification: VerificationStatus = VERIFIED) -> Reading:
    return Reading(reading_date=date.fromisoformat(day), value=D(value), verification=verification)


# Jan–Apr: consumption 100, 110, 90 → median 100; spike limit 2.5 × 100 = 250, drop limit 100 / 2.5 = 40.
BASE = [
    r("2026-01-01", 12000),
    r("2026-02-01", 12100),  # 100
    r("2026-03-01", 12210),  # 110
    r("2026-04-01", 12300),  # 90
]


def kinds(anomalies: list[Anomaly]) -> list[tuple[str, str]]:
    return [(a.reading_date.isoformat(), a.kind) for a in anomalies]


# ---------------------------------------------------------------------------------------------
# Nothing to flag


def test_steady_progressive_readings_have_no_anomalies() -> None:
    assert find_anomalies([*BASE, r("2026-05-01", 12400)]) == []


def test_empty_and_single_reading() -> None:
    assert find_anomalies([]) == []
    assert find_anomalies([r("2026-01-01", 5)]) == []


# ---------------------------------------------------------------------------------------------
# Regression


def test_regression_breaks_the_progressive_order() -> None:
    readings = [r("2026-08-01", 12480), r("2026-09-01", 12580), r("2026-10-01", 12480)]
    assert find_anomalies(readings) == [
        Anomaly(
            date(2026, 10, 1),
            D(12480),
            AnomalyKind.REGRESSION,
            "Reading 12,480 on 2026-10-01 is below the previous reading 12,580 on 2026-09-01; "
            "meters only count up — check for a meter swap, rollover or a misread.",
        )
    ]


def test_equal_reading_is_not_a_regression() -> None:
    # 0 consumption, and only 1 period of history: nothing flagged
    assert find_anomalies([r("2026-01-01", 100), r("2026-02-01", 100)]) == []


def test_meter_swap_regression_then_normal_consumption() -> None:
    # 12,580 → 30 (new meter): regression; 30 → 130 is consumption 100, in line with history
    readings = [*BASE, r("2026-05-01", 12400), r("2026-06-01", 30), r("2026-07-01", 130)]
    assert kinds(find_anomalies(readings)) == [("2026-06-01", "regression")]


def test_regression_period_is_left_out_of_the_history() -> None:
    # Periods: 100, 100, then 12,200 → 12,050 (regression, not a period), then 12,050 → 12,500 = 450.
    # History before 450 is (100, 100): 2 periods, fewer than min_history 3 → not checked.
    # (Had the regression counted as −150 there would be 3 and 450 would be flagged.)
    readings = [
        r("2026-01-01", 12000),
        r("2026-02-01", 12100),
        r("2026-03-01", 12200),
        r("2026-04-01", 12050),
        r("2026-05-01", 12500),
    ]
    assert kinds(find_anomalies(readings)) == [("2026-04-01", "regression")]
    # With 2 periods enough: median(100, 100) = 100, 450 > 250 → spike
    assert kinds(find_anomalies(readings, min_history=2)) == [
        ("2026-04-01", "regression"),
        ("2026-05-01", "spike"),
    ]


# ---------------------------------------------------------------------------------------------
# Spike and drop


def test_spike_with_numbers_in_the_why() -> None:
    # 12,300 → 12,560 = 260 > 2.5 × 100 = 250; 260 / 100 = 2.6
    (anomaly,) = find_anomalies([*BASE, r("2026-05-01", 12560)])
    assert anomaly == Anomaly(
        date(2026, 5, 1),
        D(12560),
        AnomalyKind.SPIKE,
        "Consumption 260 from 2026-04-01 to 2026-05-01 (12,300 → 12,560) exceeds 2.5× the median 100 "
        "of the 3 preceding periods = 250 (it is 2.6× the median); "
        "check for a leak, a misread or a change of occupancy.",
    )


def test_exactly_at_the_spike_limit_is_not_a_spike() -> None:
    # 12,300 → 12,550 = 250 = 2.5 × 100: not more than the limit
    assert find_anomalies([*BASE, r("2026-05-01", 12550)]) == []


def test_drop_with_numbers_in_the_why() -> None:
    # 12,300 → 12,339 = 39 < 100 / 2.5 = 40
    (anomaly,) = find_anomalies([*BASE, r("2026-05-01", 12339)])
    assert anomaly == Anomaly(
        date(2026, 5, 1),
        D(12339),
        AnomalyKind.DROP,
        "Consumption 39 from 2026-04-01 to 2026-05-01 (12,300 → 12,339) is below the median 100 "
        "of the 3 preceding periods ÷ 2.5 = 40; check for a stuck meter, a vacancy or a bypass (tampering).",
    )


def test_exactly_at_the_drop_limit_is_not_a_drop() -> None:
    # 12,300 → 12,340 = 40 = 100 / 2.5
    assert find_anomalies([*BASE, r("2026-05-01", 12340)]) == []


def test_zero_consumption_is_a_drop() -> None:
    # 0 < 40
    assert kinds(find_anomalies([*BASE, r("2026-05-01", 12300)])) == [("2026-05-01", "drop")]


def test_even_history_uses_the_mean_of_the_middle_two() -> None:
    # Periods 100, 110, 90, 120 → sorted 90, 100, 110, 120 → median (100 + 110) / 2 = 105;
    # limit 2.5 × 105 = 262.5; 12,420 → 12,683 = 263 > 262.5; 263 / 105 = 2.5047… → 2.5
    readings = [*BASE, r("2026-05-01", 12420), r("2026-06-01", 12683)]
    (anomaly,) = find_anomalies(readings)
    assert anomaly.kind == AnomalyKind.SPIKE
    assert "the median 105 of the 4 preceding periods = 262.5 (it is 2.5× the median)" in anomaly.why
    # 262 is not more than 262.5
    assert find_anomalies([*BASE, r("2026-05-01", 12420), r("2026-06-01", 12682)]) == []


def test_spike_needs_min_history_periods() -> None:
    # Two periods (100, 100) then 1,000: not enough history with the default 3 ...
    readings = [r("2026-01-01", 0), r("2026-02-01", 100), r("2026-03-01", 200), r("2026-04-01", 1200)]
    assert find_anomalies(readings) == []
    # ... flagged when 2 are enough: 1,000 > 2.5 × 100 = 250
    assert kinds(find_anomalies(readings, min_history=2)) == [("2026-04-01", "spike")]


def test_custom_spike_factor() -> None:
    # 12,300 → 12,510 = 210: within 2.5 × 100 = 250, but above 2 × 100 = 200
    readings = [*BASE, r("2026-05-01", 12510)]
    assert find_anomalies(readings) == []
    assert kinds(find_anomalies(readings, spike_factor=D(2))) == [("2026-05-01", "spike")]


def test_spike_after_idle_history() -> None:
    # Vacant: 0, 0, 0 → median 0; any consumption exceeds 2.5 × 0 = 0 (no ratio to give)
    readings = [r("2026-01-01", 500), r("2026-02-01", 500), r("2026-03-01", 500), r("2026-04-01", 500)]
    (anomaly,) = find_anomalies([*readings, r("2026-05-01", 600)])
    assert anomaly.kind == AnomalyKind.SPIKE
    assert anomaly.why == (
        "Consumption 100 from 2026-04-01 to 2026-05-01 (500 → 600) exceeds 2.5× the median 0 "
        "of the 3 preceding periods = 0; check for a leak, a misread or a change of occupancy."
    )
    # and staying idle is normal
    assert find_anomalies([*readings, r("2026-05-01", 500)]) == []


def test_fractional_values() -> None:
    # kWh to one decimal: 10.5, 11.5, 10.0 → median 10.5; 12.0 → 40.5 = 28.5 > 2.5 × 10.5 = 26.25
    # 28.5 / 10.5 = 2.714… → 2.71
    readings = [
        r("2026-01-01", "0"),
        r("2026-02-01", "10.5"),
        r("2026-03-01", "22.0"),
        r("2026-04-01", "32.0"),
        r("2026-05-01", "60.5"),
    ]
    (anomaly,) = find_anomalies(readings)
    assert anomaly.why.startswith(
        "Consumption 28.5 from 2026-04-01 to 2026-05-01 (32 → 60.5) exceeds 2.5× the median 10.5 "
        "of the 3 preceding periods = 26.25 (it is 2.71× the median)"
    )


# ---------------------------------------------------------------------------------------------
# Unverified


def test_pending_reading_is_flagged_unverified() -> None:
    readings = [*BASE, r("2026-05-01", 12400, PENDING)]
    assert find_anomalies(readings) == [
        Anomaly(
            date(2026, 5, 1),
            D(12400),
            AnomalyKind.UNVERIFIED,
            "Reading 12,400 on 2026-05-01 is pending verification; validate it before relying on it.",
        )
    ]


def test_first_reading_pending_is_flagged() -> None:
    assert kinds(find_anomalies([r("2026-01-01", 0, PENDING)])) == [("2026-01-01", "unverified")]


def test_pending_spike_gets_both_value_kind_first() -> None:
    readings = [*BASE, r("2026-05-01", 12900, PENDING)]  # 600 > 250
    assert kinds(find_anomalies(readings)) == [("2026-05-01", "spike"), ("2026-05-01", "unverified")]


# ---------------------------------------------------------------------------------------------
# Unsorted input


def test_unsorted_input_is_sorted_by_date() -> None:
    ordered = [
        *BASE,
        r("2026-05-01", 12700),  # 400 > 250: spike
        r("2026-06-01", 12720, PENDING),  # 20 < median(100, 110, 90, 400) = 105 / 2.5 = 42: drop
        r("2026-07-01", 12600),  # below 12,720: regression
    ]
    shuffled = [ordered[i] for i in (6, 2, 0, 5, 3, 1, 4)]
    expected = [
        ("2026-05-01", "spike"),
        ("2026-06-01", "drop"),
        ("2026-06-01", "unverified"),
        ("2026-07-01", "regression"),
    ]
    assert kinds(find_anomalies(ordered)) == expected
    assert find_anomalies(shuffled) == find_anomalies(ordered)
    assert find_anomalies(reversed(ordered)) == find_anomalies(ordered)


# ---------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize("kwargs", [{"spike_factor": D(1)}, {"spike_factor": D("0.5")}, {"min_history": 0}])
def test_rejects_nonsense_parameters(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        find_anomalies(BASE, **kwargs)  # type: ignore[arg-type]


def test_negative_reading_is_rejected() -> None:
    with pytest.raises(ValueError):
        r("2026-01-01", -1)


# ---------------------------------------------------------------------------------------------
# Consumption and average usage


def test_monthly_consumption_in_date_order() -> None:
    shuffled = [BASE[2], BASE[0], BASE[3], BASE[1]]
    assert monthly_consumption(shuffled) == [
        (date(2026, 2, 1), D(100)),
        (date(2026, 3, 1), D(110)),
        (date(2026, 4, 1), D(90)),
    ]


def test_monthly_consumption_skips_regression_periods() -> None:
    readings = [r("2026-01-01", 12580), r("2026-02-01", 30), r("2026-03-01", 130)]
    assert monthly_consumption(readings) == [(date(2026, 3, 1), D(100))]


def test_average_monthly_usage() -> None:
    # (100 + 110 + 90) / 3 = 100
    assert average_monthly_usage(BASE) == D("100.00")
    # (100 + 110 + 90 + 95) / 4 = 395 / 4 = 98.75
    assert average_monthly_usage([*BASE, r("2026-05-01", 12395)]) == D("98.75")
    # (100 + 110 + 95) / 3 = 305 / 3 = 101.666… → 101.67
    readings = [r("2026-01-01", 0), r("2026-02-01", 100), r("2026-03-01", 210), r("2026-04-01", 305)]
    assert average_monthly_usage(readings) == D("101.67")


def test_average_monthly_usage_rounds_half_up() -> None:
    # (0.02 + 0.03) / 2 = 0.025 → 0.03 (half-even would give 0.02)
    readings = [r("2026-01-01", "0"), r("2026-02-01", "0.02"), r("2026-03-01", "0.05")]
    assert average_monthly_usage(readings) == D("0.03")


def test_average_monthly_usage_without_a_period_is_none() -> None:
    assert average_monthly_usage([]) is None
    assert average_monthly_usage([r("2026-01-01", 100)]) is None
    # a lone regression is no consumption either
    assert average_monthly_usage([r("2026-01-01", 100), r("2026-02-01", 50)]) is None


@pytest.mark.parametrize(
    ("meter_status", "still_assigned", "expected"),
    [
        (MeterStatus.ASSIGNED, True, ReadingStatus.ACTIVE),
        (MeterStatus.AVAILABLE, False, ReadingStatus.INACTIVE),  # back in stock after a disconnection
        (MeterStatus.ASSIGNED, False, ReadingStatus.INACTIVE),  # now serving someone else
        (MeterStatus.MAINTENANCE, True, ReadingStatus.MAINTENANCE),
        (MeterStatus.MAINTENANCE, False, ReadingStatus.MAINTENANCE),
    ],
)
def test_reading_status_of_a_consumers_meter(
    meter_status: MeterStatus, still_assigned: bool, expected: ReadingStatus
) -> None:
    assert ReadingStatus.of(meter_status, still_assigned) is expected
