"""domain.request.sla: SLA clocks, states at their exact boundaries, holds, and deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.request.sla import (
    Deadline,
    SlaClock,
    SlaPolicy,
    breached_targets,
    extend_for_hold,
    initial_clocks,
    live_state,
    live_status,
    next_deadline,
    overall_state,
    re_escalation_at,
    recorded_clocks,
)
from domain.request.types import RequestStatus, SlaState, SlaTarget

ACK = SlaTarget.ACKNOWLEDGEMENT
RESP = SlaTarget.RESPONSE
RES = SlaTarget.RESOLUTION
ON = SlaState.ON_TRACK
RISK = SlaState.AT_RISK
MET = SlaState.MET
BR = SlaState.BREACHED

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def clocks() -> dict[SlaTarget, SlaClock]:
    return initial_clocks(T0, SlaPolicy())


# ---------------------------------------------------------------------------------------------
# Policy


def test_policy_defaults() -> None:
    p = SlaPolicy()
    assert (p.ack, p.response, p.resolution) == (h(2), h(4), h(24))
    assert p.at_risk_fraction == 0.75
    assert p.pause_resolution_on_hold is False
    assert p.re_escalate_after == h(4)
    assert [p.target(t) for t in (ACK, RESP, RES)] == [h(2), h(4), h(24)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ack": timedelta(0)},
        {"response": h(-1)},
        {"resolution": timedelta(0)},
        {"re_escalate_after": timedelta(0)},
        {"at_risk_fraction": 0.0},
        {"at_risk_fraction": 1.01},
    ],
)
def test_policy_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SlaPolicy(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Initial clocks


def test_initial_clocks_due_from_creation() -> None:
    c = clocks()
    assert list(c) == [ACK, RESP, RES]
    assert {t: (k.target, k.started_at, k.due_at, k.met_at) for t, k in c.items()} == {
        ACK: (ACK, T0, T0 + h(2), None),
        RESP: (RESP, T0, T0 + h(4), None),
        RES: (RES, T0, T0 + h(24), None),
    }


def test_at_risk_instants_are_three_quarters_of_each_window() -> None:
    c = clocks()
    assert c[ACK].at_risk_at == T0 + h(1.5)
    assert c[RESP].at_risk_at == T0 + h(3)
    assert c[RES].at_risk_at == T0 + h(18)


def test_initial_clocks_use_policy_targets_and_fraction() -> None:
    c = initial_clocks(T0, SlaPolicy(ack=h(1), response=h(8), resolution=h(48), at_risk_fraction=0.5))
    assert c[ACK].due_at == T0 + h(1) and c[ACK].at_risk_at == T0 + h(0.5)
    assert c[RESP].due_at == T0 + h(8) and c[RESP].at_risk_at == T0 + h(4)
    assert c[RES].due_at == T0 + h(48) and c[RES].at_risk_at == T0 + h(24)


# ---------------------------------------------------------------------------------------------
# States at exact boundaries


@pytest.mark.parametrize(
    ("target", "offset", "want"),
    [
        (ACK, timedelta(0), ON),
        (ACK, h(1.5) - US, ON),
        (ACK, h(1.5), RISK),
        (ACK, h(2) - US, RISK),
        (ACK, h(2), BR),
        (ACK, h(30), BR),
        (RESP, h(3) - US, ON),
        (RESP, h(3), RISK),
        (RESP, h(4) - US, RISK),
        (RESP, h(4), BR),
        (RES, h(18) - US, ON),
        (RES, h(18), RISK),
        (RES, h(24) - US, RISK),
        (RES, h(24), BR),
    ],
)
def test_unmet_state_boundaries(target: SlaTarget, offset: timedelta, want: SlaState) -> None:
    assert clocks()[target].state(T0 + offset) is want


@pytest.mark.parametrize(
    ("met_offset", "now_offset", "want"),
    [
        (h(1), h(1), MET),  # met, looked at immediately
        (h(1), h(50), MET),  # met on time stays Met long after the due time
        (h(1.9), h(1.9), MET),  # met while At Risk
        (h(2), h(2), MET),  # met exactly at the due instant
        (h(2) + US, h(2) + US, BR),  # met just after the due instant: still Breached
        (h(5), h(9), BR),  # met late stays Breached
        (h(1), h(0.5), ON),  # as of a moment before it was met, it was not met yet
        (h(1.9), h(1.6), RISK),
    ],
)
def test_met_state(met_offset: timedelta, now_offset: timedelta, want: SlaState) -> None:
    clock = clocks()[ACK].met(T0 + met_offset)
    assert clock.state(T0 + now_offset) is want


def test_met_keeps_first_instant() -> None:
    clock = clocks()[ACK].met(T0 + h(1))
    assert clock.met(T0 + h(3)).met_at == T0 + h(1)


def test_time_remaining() -> None:
    c = clocks()[RES]
    assert c.time_remaining(T0) == h(24)
    assert c.time_remaining(T0 + h(23)) == h(1)
    assert c.time_remaining(T0 + h(24)) == timedelta(0)
    assert c.time_remaining(T0 + h(25)) == -h(1)


def test_states_in_other_timezones() -> None:
    """Aware datetimes in any zone compare by instant."""
    ist = timezone(timedelta(hours=5, minutes=30))
    c = initial_clocks(T0.astimezone(ist), SlaPolicy())[ACK]
    assert c.state(T0 + h(1.5) - US) is ON
    assert c.state((T0 + h(1.5)).astimezone(ist)) is RISK
    assert c.state(T0 + h(2)) is BR


def test_fraction_one_never_shows_at_risk() -> None:
    c = initial_clocks(T0, SlaPolicy(at_risk_fraction=1.0))[ACK]
    assert c.at_risk_at == c.due_at
    assert c.state(T0 + h(2) - US) is ON
    assert c.state(T0 + h(2)) is BR


# ---------------------------------------------------------------------------------------------
# Hold extension


def test_extend_for_hold_pushes_due_and_at_risk() -> None:
    c = clocks()[RES]
    held = extend_for_hold(c, h(3))
    assert held.due_at == T0 + h(27)
    assert held.at_risk_at == T0 + h(21)
    assert held.started_at == T0 and held.window == h(24) and held.held == h(3)
    assert held.state(T0 + h(24)) is RISK  # no longer breached at the old due time
    assert held.state(T0 + h(21) - US) is ON
    assert held.state(T0 + h(27) - US) is RISK
    assert held.state(T0 + h(27)) is BR
    assert c.due_at == T0 + h(24)  # the original is untouched (frozen)


def test_extend_for_hold_accumulates() -> None:
    c = extend_for_hold(extend_for_hold(clocks()[RES], h(1)), timedelta(minutes=30))
    assert c.due_at == T0 + h(25.5)
    assert c.at_risk_at == T0 + h(19.5)
    assert c.held == h(1.5)


def test_extend_for_hold_edge_cases() -> None:
    c = clocks()[RES]
    assert extend_for_hold(c, timedelta(0)) is c
    met = c.met(T0 + h(5))
    assert extend_for_hold(met, h(3)) is met
    with pytest.raises(ValueError):
        extend_for_hold(c, -US)


def test_clock_refuses_bad_construction() -> None:
    with pytest.raises(ValueError):
        SlaClock(ACK, T0, T0)  # due must be after start
    with pytest.raises(ValueError):
        SlaClock(ACK, T0, T0 + h(1), held=h(1))  # nothing left of the window
    with pytest.raises(ValueError):
        SlaClock(ACK, T0, T0 + h(1), held=-US)
    with pytest.raises(ValueError):
        SlaClock(ACK, T0, T0 + h(1), at_risk_fraction=0)


def test_clock_is_frozen() -> None:
    c = clocks()[ACK]
    with pytest.raises(AttributeError):
        c.due_at = T0  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Overall state


@pytest.mark.parametrize(
    ("states", "want"),
    [
        ([MET, MET, MET], MET),
        ([MET], MET),
        ([MET, ON, MET], ON),
        ([ON, ON, ON], ON),
        ([MET, ON, RISK], RISK),
        ([RISK, ON, MET], RISK),
        ([MET, RISK, BR], BR),
        ([BR, MET, MET], BR),
        ([ON, BR, RISK], BR),
    ],
)
def test_overall_state_is_the_worst(states: list[SlaState], want: SlaState) -> None:
    assert overall_state(states) is want
    assert overall_state(iter(states)) is want


def test_overall_state_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        overall_state([])


def test_overall_state_over_a_request_lifetime() -> None:
    c = clocks()
    c[ACK] = c[ACK].met(T0 + h(1))
    assert overall_state(k.state(T0 + h(1)) for k in c.values()) is ON
    assert overall_state(k.state(T0 + h(3)) for k in c.values()) is RISK
    assert overall_state(k.state(T0 + h(4)) for k in c.values()) is BR
    c[RESP] = c[RESP].met(T0 + h(3.5))
    c[RES] = c[RES].met(T0 + h(10))
    assert overall_state(k.state(T0 + h(10)) for k in c.values()) is MET


# ---------------------------------------------------------------------------------------------
# next_deadline


def test_next_deadline_walks_every_change_in_order() -> None:
    c = clocks()
    seen: list[tuple[timedelta, SlaTarget, str]] = []
    now = T0
    while (d := next_deadline(c, now)) is not None:
        assert d.at > now
        seen.append((d.at - T0, d.target, d.kind))
        now = d.at
    assert seen == [
        (h(1.5), ACK, "at_risk"),
        (h(2), ACK, "breach"),
        (h(3), RESP, "at_risk"),
        (h(4), RESP, "breach"),
        (h(18), RES, "at_risk"),
        (h(24), RES, "breach"),
    ]


def test_next_deadline_is_strictly_in_the_future() -> None:
    c = clocks()
    assert next_deadline(c, T0 + h(1.5) - US) == Deadline(T0 + h(1.5), ACK, "at_risk")
    assert next_deadline(c, T0 + h(1.5)) == Deadline(T0 + h(2), ACK, "breach")


def test_next_deadline_skips_met_clocks() -> None:
    c = clocks()
    c[ACK] = c[ACK].met(T0 + h(0.5))
    assert next_deadline(c, T0 + h(0.5)) == Deadline(T0 + h(3), RESP, "at_risk")
    # ... but a clock met only later is still waited on now
    c2 = clocks()
    c2[ACK] = c2[ACK].met(T0 + h(1.8))
    assert next_deadline(c2, T0) == Deadline(T0 + h(1.5), ACK, "at_risk")


def test_next_deadline_none_when_all_met_or_past() -> None:
    c = {t: k.met(T0 + h(1)) for t, k in clocks().items()}
    assert next_deadline(c, T0 + h(1)) is None
    assert next_deadline(clocks(), T0 + h(24)) is None


def test_next_deadline_accepts_a_plain_iterable_and_is_a_tuple() -> None:
    d = next_deadline(list(clocks().values()), T0)
    assert d is not None
    at, target, kind = d
    assert (at, target, kind) == (T0 + h(1.5), ACK, "at_risk")


def test_next_deadline_ties_prefer_breach_then_target_order() -> None:
    # ack due at 2 h; response (fraction 0.5, 4 h) at risk at 2 h too: the breach comes first.
    c = initial_clocks(T0, SlaPolicy(ack=h(2), response=h(4), at_risk_fraction=0.5))
    assert next_deadline(c, T0 + h(1)) == Deadline(T0 + h(2), ACK, "breach")
    # ack and response both 4 h: both at risk at 3 h, acknowledgement first.
    c = initial_clocks(T0, SlaPolicy(ack=h(4), response=h(4)))
    assert next_deadline(c, T0) == Deadline(T0 + h(3), ACK, "at_risk")


def test_next_deadline_follows_hold_extension() -> None:
    c = clocks()
    c = {t: k.met(T0 + h(1)) if t is not RES else extend_for_hold(k, h(6)) for t, k in c.items()}
    assert next_deadline(c, T0 + h(18)) == Deadline(T0 + h(24), RES, "at_risk")
    assert next_deadline(c, T0 + h(24)) == Deadline(T0 + h(30), RES, "breach")


def test_re_escalation_at() -> None:
    assert re_escalation_at(clocks()[RES], SlaPolicy()) == T0 + h(28)
    assert re_escalation_at(clocks()[RES], SlaPolicy(re_escalate_after=h(1))) == T0 + h(25)


# ---------------------------------------------------------------------------------------------
# Naive datetimes are refused everywhere

NAIVE = datetime(2026, 3, 2, 9, 0)


def test_naive_created_at_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        initial_clocks(NAIVE, SlaPolicy())


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.state(NAIVE),
        lambda c: c.time_remaining(NAIVE),
        lambda c: c.met(NAIVE),
        lambda c: c.is_met(NAIVE),
        lambda c: next_deadline([c], NAIVE),
    ],
    ids=["state", "time_remaining", "met", "is_met", "next_deadline"],
)
def test_naive_now_refused(call: object) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(clocks()[ACK])  # type: ignore[operator]


@pytest.mark.parametrize(
    ("started", "due", "met"),
    [(NAIVE, T0 + h(2), None), (T0, NAIVE + h(2), None), (T0, T0 + h(2), NAIVE)],
    ids=["started_at", "due_at", "met_at"],
)
def test_naive_clock_fields_refused(started: datetime, due: datetime, met: datetime | None) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SlaClock(ACK, started, due, met)


# ---- a stored request's SLA, read live --------------------------------------------------------------


@dataclass
class Row:
    """What a request row stores of its SLA (as ``RecordedSla`` reads it)."""

    status: RequestStatus = RequestStatus.PENDING
    sla_status: SlaState = ON
    ack_state: SlaState = ON
    ack_due_at: datetime = T0 + timedelta(hours=2)
    acknowledged_at: datetime | None = None
    response_state: SlaState = ON
    response_due_at: datetime = T0 + timedelta(hours=4)
    first_response_at: datetime | None = None
    resolution_state: SlaState = ON
    resolution_due_at: datetime = T0 + timedelta(hours=24)
    resolved_at: datetime | None = None


def test_recorded_clocks_in_target_order() -> None:
    row = Row(acknowledged_at=T0 + timedelta(hours=1), ack_state=MET)
    assert [(c.target, c.state, c.met_at) for c in recorded_clocks(row)] == [
        (ACK, MET, T0 + timedelta(hours=1)),
        (RESP, ON, None),
        (RES, ON, None),
    ]


@pytest.mark.parametrize(
    ("stored", "met", "now", "live"),
    [
        (ON, None, T0 + timedelta(hours=2) - US, ON),  # not yet due
        (ON, None, T0 + timedelta(hours=2), BR),  # due and unmet: Breached before the timer writes it
        (RISK, None, T0 + timedelta(hours=3), BR),
        (MET, T0, T0 + timedelta(hours=3), MET),  # met stays met
        (BR, None, T0, BR),  # stored Breached stays
        (ON, T0 + timedelta(hours=1), T0 + timedelta(hours=3), ON),  # met, the stored state stands
    ],
)
def test_live_state(stored: SlaState, met: datetime | None, now: datetime, live: SlaState) -> None:
    assert live_state(stored, T0 + timedelta(hours=2), met, now) == live


def test_breached_targets_and_live_status() -> None:
    row = Row(response_state=BR, sla_status=BR)
    assert breached_targets(row, T0) == [RESP]
    assert breached_targets(row, T0 + timedelta(hours=2)) == [ACK, RESP]
    assert live_status(Row(), T0 + timedelta(hours=2)) == BR  # open, a clock past due: Breached now
    assert live_status(Row(), T0) == ON
    closed = Row(status=RequestStatus.CLOSED, sla_status=RISK)
    assert live_status(closed, T0 + timedelta(days=2)) == RISK  # a finished request keeps its stored status
