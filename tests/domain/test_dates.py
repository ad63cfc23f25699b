"""Calendar rules: month arithmetic and whether a visit window can still be booked."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from domain.dates import add_months, window_open

NINE = datetime(2030, 6, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "start", "expected"),
    [
        (date(2030, 6, 3), time(10), True),  # later today
        (date(2030, 6, 3), time(9), False),  # begins now: under way
        (date(2030, 6, 3), time(8), False),  # began an hour ago
        (date(2030, 6, 4), time(8), True),  # tomorrow, whatever the hour
        (date(2030, 6, 2), time(23), False),  # yesterday
    ],
)
def test_window_open(day: date, start: time, expected: bool) -> None:
    assert window_open(day, start, NINE) is expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2030, 1, 31), 1, date(2030, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2030, 11, 15), 3, date(2031, 2, 15)),
        (date(2030, 3, 31), -1, date(2030, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected
