"""Meter readings: consumption per period, average usage, and anomalies with their reasons.

Pure and deterministic: no I/O. Readings may arrive in any order; every function sorts them by
``reading_date`` first (readings on the same date keep their given order).

A meter reading is a cumulative counter ("progressive values"), so a period's **consumption** is
a reading's value minus the previous reading's value. :func:`find_anomalies` flags, per reading:

- **regression** — the value is below the previous reading: the progressive order is broken
  (a meter swap, a rollover or a misread). A regression period has no consumption and is left
  out of every consumption history and average.
- **spike** — the period's consumption is more than ``spike_factor`` × the median consumption
  of the preceding (non-regression) periods, provided there are at least ``min_history`` of
  them.
- **drop** — the period's consumption is less than that median ÷ ``spike_factor`` (same
  history condition). Zero consumption against a positive median is a drop (stuck meter,
  vacancy, bypass).
- **unverified** — the reading's verification status is pending.

"Previous reading" is always the one immediately before, whatever its own status: a pending or
anomalous reading still anchors the next period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from itertools import pairwise
from statistics import median

from domain.consumers.types import VerificationStatus

__all__ = [
    "Anomaly",
    "AnomalyKind",
    "Reading",
    "average_monthly_usage",
    "find_anomalies",
    "monthly_consumption",
]

_CENTS = Decimal("0.01")


class AnomalyKind(StrEnum):
    REGRESSION = "regression"
    SPIKE = "spike"
    DROP = "drop"
    UNVERIFIED = "unverified"


@dataclass(frozen=True, slots=True)
class Reading:
    """A cumulative meter reading (e.g. 12,580 gallons) on a date; ``value`` must not be negative."""

    reading_date: date
    value: Decimal
    verification: VerificationStatus

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError(f"Reading.value must not be negative, got {self.value}")


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A flagged reading: which one, what kind, and why, in words a CSR can act on."""

    reading_date: date
    value: Decimal
    kind: AnomalyKind
    why: str


def _fmt(value: Decimal) -> str:
    """12480 → "12,480"; 262.50 → "262.5"; at most 2 decimals."""
    value = value.quantize(_CENTS, rounding=ROUND_HALF_UP)
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):,}"
    return f"{value.normalize():,}"


def _sorted(readings: Iterable[Reading]) -> list[Reading]:
    return sorted(readings, key=lambda r: r.reading_date)


def _median(values: Sequence[Decimal]) -> Decimal:
    return Decimal(median(values))


def find_anomalies(
    readings: Iterable[Reading],
    *,
    spike_factor: Decimal = Decimal("2.5"),
    min_history: int = 3,
) -> list[Anomaly]:
    """Every anomaly in ``readings`` (see the module docstring), in date order.

    A reading can carry two anomalies (e.g. a spike that is also unverified): the value-based
    one comes first. ``spike_factor`` must be greater than 1 and ``min_history`` at least 1.
    """
    if spike_factor <= 1:
        raise ValueError(f"spike_factor must be greater than 1, got {spike_factor}")
    if min_history < 1:
        raise ValueError(f"min_history must be at least 1, got {min_history}")
    ordered = _sorted(readings)
    anomalies: list[Anomaly] = []
    history: list[Decimal] = []
    for previous, current in zip([None, *ordered], ordered, strict=False):
        if previous is not None:
            anomaly = _period_anomaly(previous, current, history, spike_factor, min_history)
            if anomaly is not None:
                anomalies.append(anomaly)
            if current.value >= previous.value:
                history.append(current.value - previous.value)
        if current.verification is VerificationStatus.PENDING:
            anomalies.append(
                Anomaly(
                    current.reading_date,
                    current.value,
                    AnomalyKind.UNVERIFIED,
                    f"Reading {_fmt(current.value)} on {current.reading_date.isoformat()} is pending "
                    "verification; validate it before relying on it.",
                )
            )
    return anomalies


def _period_anomaly(
    previous: Reading,
    current: Reading,
    history: Sequence[Decimal],
    spike_factor: Decimal,
    min_history: int,
) -> Anomaly | None:
    when, value = current.reading_date, current.value
    if value < previous.value:
        return Anomaly(
            when,
            value,
            AnomalyKind.REGRESSION,
            f"Reading {_fmt(value)} on {when.isoformat()} is below the previous reading "
            f"{_fmt(previous.value)} on {previous.reading_date.isoformat()}; meters only count up — "
            "check for a meter swap, rollover or a misread.",
        )
    if len(history) < min_history:
        return None
    consumption = value - previous.value
    typical = _median(history)
    period = (
        f"Consumption {_fmt(consumption)} from {previous.reading_date.isoformat()} to {when.isoformat()} "
        f"({_fmt(previous.value)} → {_fmt(value)})"
    )
    basis = f"the median {_fmt(typical)} of the {len(history)} preceding periods"
    upper = typical * spike_factor
    if consumption > upper:
        ratio = f" (it is {_fmt(consumption / typical)}× the median)" if typical else ""
        return Anomaly(
            when,
            value,
            AnomalyKind.SPIKE,
            f"{period} exceeds {_fmt(spike_factor)}× {basis} = {_fmt(upper)}{ratio}; "
            "check for a leak, a misread or a change of occupancy.",
        )
    lower = typical / spike_factor
    if consumption < lower:
        return Anomaly(
            when,
            value,
            AnomalyKind.DROP,
            f"{period} is below {basis} ÷ {_fmt(spike_factor)} = {_fmt(lower)}; "
            "check for a stuck meter, a vacancy or a bypass (tampering).",
        )
    return None


def monthly_consumption(readings: Iterable[Reading]) -> list[tuple[date, Decimal]]:
    """Consumption per period as ``(date of the closing reading, value − previous value)``.

    One entry per pair of consecutive readings (the FAQ's readings are monthly), in date order;
    regression periods (value below the previous reading) are left out — they measure a meter
    swap or misread, not consumption.
    """
    ordered = _sorted(readings)
    return [
        (current.reading_date, current.value - previous.value)
        for previous, current in pairwise(ordered)
        if current.value >= previous.value
    ]


def average_monthly_usage(readings: Iterable[Reading]) -> Decimal | None:
    """Mean of :func:`monthly_consumption`, rounded half up to 2 decimals; ``None`` with no period.

    The FAQ's "Average Monthly Usage". A plain mean of the periods (not normalised by days).
    """
    periods = monthly_consumption(readings)
    if not periods:
        return None
    total = sum((amount for _, amount in periods), Decimal(0))
    return (total / len(periods)).quantize(_CENTS, rounding=ROUND_HALF_UP)
