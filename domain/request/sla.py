"""SLA maths for a request: three clocks (acknowledgement, response, resolution) and their states.

Pure and deterministic: no I/O and no clock of its own — callers pass ``now`` (in a workflow,
``workflow.now()``). Every datetime must be timezone-aware; a naive one raises ``ValueError``.

A clock starts when the request is created and is due ``target`` later (DESIGN.md: 2 h, 4 h,
24 h by default). At any instant it is:

- **Met** — met (``met_at`` set, not after ``now``) no later than its due time;
- **Breached** — due time reached unmet, or met only after the due time (a late "met" stays
  Breached: the target was missed);
- **At Risk** — unmet and ``at_risk_fraction`` of its window elapsed (``now >= at_risk_at``);
- **On Track** — otherwise.

Boundaries are inclusive on the later side: exactly at the due instant the clock is Breached,
exactly at the at-risk instant it is At Risk, and met exactly at the due instant is Met.

Calendars and pauses: a target may be measured in business time (``SlaPolicy.calendars`` names
its calendar) and, if the policy pauses it while On Hold, not counted during the request's pause
intervals. :func:`clocks_from_data` computes every unmet clock's due and at-risk instants afresh
from the creation, the targets, the calendars and all the pauses so far (``domain.request.due``) —
never by shifting a due time — so leaving a pause, or a new policy, keeps every second already
paused. (:func:`extend_for_hold`, the incremental shift, is kept for the unit tests that pin the
calendar-time results both ways give.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, NamedTuple, Protocol

from domain.business_time import BusinessCalendar
from domain.request.due import Pause, due_at
from domain.request.types import OPEN_STATUSES, RequestStatus, SlaState, SlaTarget

__all__ = [
    "Deadline",
    "DeadlineKind",
    "RecordedSla",
    "SlaClock",
    "SlaPolicy",
    "breached_targets",
    "clocks_from_data",
    "extend_for_hold",
    "initial_clocks",
    "live_state",
    "live_status",
    "next_deadline",
    "overall_state",
    "re_escalation_at",
    "recorded_clocks",
]

DeadlineKind = Literal["at_risk", "breach"]

_ZERO = timedelta(0)


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """SLA targets (admin-editable system settings) and how the clocks behave.

    ``re_escalate_after``: time after the resolution breach at which level-2 escalation fires.
    ``calendars``: the targets measured in business time, each with its calendar (a target not
    named runs 24/7, calendar time).
    """

    ack: timedelta = timedelta(hours=2)
    response: timedelta = timedelta(hours=4)
    resolution: timedelta = timedelta(hours=24)
    at_risk_fraction: float = 0.75
    pause_resolution_on_hold: bool = False
    re_escalate_after: timedelta = timedelta(hours=4)
    calendars: Mapping[SlaTarget, BusinessCalendar] = field(default_factory=dict)

    def pauses_for(self, target: SlaTarget, pauses: Sequence[Pause]) -> Sequence[Pause]:
        """The pause intervals that stop ``target``'s clock (On Hold stops resolution if the policy says so)."""
        return pauses if target is SlaTarget.RESOLUTION and self.pause_resolution_on_hold else ()

    def __post_init__(self) -> None:
        for name in ("ack", "response", "resolution", "re_escalate_after"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value <= _ZERO:
                raise ValueError(f"SlaPolicy.{name} must be a positive timedelta, got {value!r}")
        if not 0 < self.at_risk_fraction <= 1:
            raise ValueError(f"SlaPolicy.at_risk_fraction must be in (0, 1], got {self.at_risk_fraction!r}")

    def target(self, target: SlaTarget) -> timedelta:
        """The duration allowed for ``target``."""
        return {
            SlaTarget.ACKNOWLEDGEMENT: self.ack,
            SlaTarget.RESPONSE: self.response,
            SlaTarget.RESOLUTION: self.resolution,
        }[SlaTarget(target)]


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One SLA target's clock.

    ``due_at`` already includes any hold time (``held``); the clock's own window is
    ``due_at - started_at - held``, and it turns At Risk once ``at_risk_fraction`` of that
    window has elapsed outside holds.
    """

    target: SlaTarget
    started_at: datetime
    due_at: datetime
    met_at: datetime | None = None
    at_risk_fraction: float = 0.75
    held: timedelta = field(default=_ZERO)
    # The at-risk instant when it is not a plain fraction of the elapsed window (business time,
    # pauses): computed by clocks_from_data like the due time.
    at_risk: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware(self.started_at, "started_at")
        _require_aware(self.due_at, "due_at")
        if self.met_at is not None:
            _require_aware(self.met_at, "met_at")
        if self.held < _ZERO:
            raise ValueError(f"held must not be negative, got {self.held!r}")
        if self.due_at - self.held <= self.started_at:
            raise ValueError("due_at must be after started_at (plus any time held)")
        if not 0 < self.at_risk_fraction <= 1:
            raise ValueError(f"at_risk_fraction must be in (0, 1], got {self.at_risk_fraction!r}")

    @property
    def window(self) -> timedelta:
        """The time allowed, holds excluded."""
        return self.due_at - self.started_at - self.held

    @property
    def at_risk_at(self) -> datetime:
        """The instant the clock turns At Risk if still unmet."""
        if self.at_risk is not None:
            return self.at_risk
        return self.started_at + self.held + self.window * self.at_risk_fraction

    def is_met(self, now: datetime) -> bool:
        """Met (on time or late) as of ``now``."""
        _require_aware(now, "now")
        return self.met_at is not None and self.met_at <= now

    def state(self, now: datetime) -> SlaState:
        """The clock's state as of ``now``."""
        _require_aware(now, "now")
        if self.met_at is not None and self.met_at <= now:
            return SlaState.MET if self.met_at <= self.due_at else SlaState.BREACHED
        if now >= self.due_at:
            return SlaState.BREACHED
        if now >= self.at_risk_at:
            return SlaState.AT_RISK
        return SlaState.ON_TRACK

    def time_remaining(self, now: datetime) -> timedelta:
        """``due_at - now``: negative once overdue (whether or not the clock is met)."""
        _require_aware(now, "now")
        return self.due_at - now

    def met(self, at: datetime) -> SlaClock:
        """This clock marked met at ``at`` (the first time counts: an already met clock is kept)."""
        _require_aware(at, "at")
        if self.met_at is not None:
            return self
        return replace(self, met_at=at)


def initial_clocks(created_at: datetime, policy: SlaPolicy) -> dict[SlaTarget, SlaClock]:
    """All three clocks from creation: due = created + target."""
    _require_aware(created_at, "created_at")
    return {
        target: SlaClock(
            target=target,
            started_at=created_at,
            due_at=created_at + policy.target(target),
            at_risk_fraction=policy.at_risk_fraction,
        )
        for target in SlaTarget
    }


def clocks_from_data(
    created_at: datetime,
    policy: SlaPolicy,
    *,
    pauses: Sequence[Pause] = (),
    previous: Mapping[SlaTarget, SlaClock] | None = None,
) -> dict[SlaTarget, SlaClock]:
    """Every clock's due and at-risk instants computed afresh from the creation, the policy's
    targets and calendars, and the pause intervals so far.

    A clock already met in ``previous`` is final and kept as it is; one whose due time an open pause
    holds (not knowable until the pause ends) keeps its ``previous`` instants.
    """
    _require_aware(created_at, "created_at")
    clocks: dict[SlaTarget, SlaClock] = {}
    for target in SlaTarget:
        before = None if previous is None else previous.get(target)
        if before is not None and before.met_at is not None:
            clocks[target] = before
            continue
        window = policy.target(target)
        calendar = policy.calendars.get(target)
        stops = policy.pauses_for(target, pauses)
        due = due_at(created_at, window, calendar=calendar, pauses=stops)
        at_risk = due_at(created_at, window * policy.at_risk_fraction, calendar=calendar, pauses=stops)
        if due is None or at_risk is None:
            if before is None:  # pragma: no cover - a new request has no pause yet
                raise ValueError(f"{target.value}: no due time while paused and no earlier clock")
            clocks[target] = before
            continue
        clocks[target] = SlaClock(
            target=target,
            started_at=created_at,
            due_at=due,
            at_risk_fraction=policy.at_risk_fraction,
            held=max(due - created_at - window, _ZERO),
            at_risk=at_risk,
        )
    return clocks


def extend_for_hold(clock: SlaClock, held: timedelta) -> SlaClock:
    """``clock`` with its due time and at-risk instant pushed back by ``held``.

    Used for the resolution clock when ``SlaPolicy.pause_resolution_on_hold`` is set. A met
    clock is final and is returned unchanged; a negative duration is refused.
    """
    if held < _ZERO:
        raise ValueError(f"held must not be negative, got {held!r}")
    if clock.met_at is not None or held == _ZERO:
        return clock
    return replace(clock, due_at=clock.due_at + held, held=clock.held + held)


_SEVERITY: dict[SlaState, int] = {
    SlaState.MET: 0,
    SlaState.ON_TRACK: 1,
    SlaState.AT_RISK: 2,
    SlaState.BREACHED: 3,
}


def overall_state(states: Iterable[SlaState]) -> SlaState:
    """The request's "SLA status": the worst of its clocks' states.

    Breached > At Risk > On Track > Met; all Met gives Met. No states at all is an error.
    """
    worst: SlaState | None = None
    for s in states:
        s = SlaState(s)
        if worst is None or _SEVERITY[s] > _SEVERITY[worst]:
            worst = s
    if worst is None:
        raise ValueError("overall_state needs at least one state")
    return worst


class Deadline(NamedTuple):
    """When the next SLA state change happens: ``(at, target, kind)``."""

    at: datetime
    target: SlaTarget
    kind: DeadlineKind


_TARGET_ORDER: dict[SlaTarget, int] = {t: i for i, t in enumerate(SlaTarget)}


def next_deadline(
    clocks: Mapping[SlaTarget, SlaClock] | Iterable[SlaClock], now: datetime
) -> Deadline | None:
    """The nearest instant strictly after ``now`` at which an unmet clock turns At Risk or Breached.

    A workflow sleeps until ``Deadline.at``, then re-evaluates every clock. Clocks met as of
    ``now`` are ignored; ``None`` means nothing is left to wait for. Ties go to a breach before
    an at-risk warning, then to the earlier target (acknowledgement, response, resolution).
    """
    _require_aware(now, "now")
    items = clocks.values() if isinstance(clocks, Mapping) else clocks
    best: tuple[datetime, int, int, Deadline] | None = None
    for clock in items:
        if clock.is_met(now):
            continue
        candidates: list[tuple[datetime, DeadlineKind]] = [(clock.due_at, "breach")]
        if clock.at_risk_at < clock.due_at:
            candidates.append((clock.at_risk_at, "at_risk"))
        for at, kind in candidates:
            if at <= now:
                continue
            key = (at, 0 if kind == "breach" else 1, _TARGET_ORDER[clock.target])
            if best is None or key < best[:3]:
                best = (*key, Deadline(at, clock.target, kind))
    return None if best is None else best[3]


def re_escalation_at(clock: SlaClock, policy: SlaPolicy) -> datetime:
    """When level-2 escalation fires if ``clock`` (resolution) is still unmet: due + re_escalate_after."""
    return clock.due_at + policy.re_escalate_after


# ---- a stored request's SLA, read live --------------------------------------------------------------


class RecordedSla(Protocol):
    """A request's SLA as its row stores it: each clock's state, due time and when it was met (as
    the workflow last wrote them), the overall status, and the request's status."""

    @property
    def status(self) -> RequestStatus: ...
    @property
    def sla_status(self) -> SlaState: ...
    @property
    def ack_state(self) -> SlaState: ...
    @property
    def ack_due_at(self) -> datetime: ...
    @property
    def acknowledged_at(self) -> datetime | None: ...
    @property
    def response_state(self) -> SlaState: ...
    @property
    def response_due_at(self) -> datetime: ...
    @property
    def first_response_at(self) -> datetime | None: ...
    @property
    def resolution_state(self) -> SlaState: ...
    @property
    def resolution_due_at(self) -> datetime: ...
    @property
    def resolved_at(self) -> datetime | None: ...


class RecordedClock(NamedTuple):
    target: SlaTarget
    state: SlaState
    due_at: datetime
    met_at: datetime | None


def recorded_clocks(row: RecordedSla) -> list[RecordedClock]:
    """The row's three clocks as stored, in target order (acknowledgement, response, resolution)."""
    return [
        RecordedClock(SlaTarget.ACKNOWLEDGEMENT, row.ack_state, row.ack_due_at, row.acknowledged_at),
        RecordedClock(SlaTarget.RESPONSE, row.response_state, row.response_due_at, row.first_response_at),
        RecordedClock(SlaTarget.RESOLUTION, row.resolution_state, row.resolution_due_at, row.resolved_at),
    ]


def live_state(stored: SlaState, due_at: datetime, met_at: datetime | None, now: datetime) -> SlaState:
    """A clock's stored state brought up to ``now``: past due and unmet shows Breached even in the
    instant before the workflow's timer has written it."""
    if met_at is None and stored in (SlaState.ON_TRACK, SlaState.AT_RISK) and now >= due_at:
        return SlaState.BREACHED
    return stored


def breached_targets(row: RecordedSla, now: datetime) -> list[SlaTarget]:
    """The row's clocks that are Breached as of ``now`` (stored so, or past due and unmet)."""
    return [
        clock.target
        for clock in recorded_clocks(row)
        if live_state(clock.state, clock.due_at, clock.met_at, now) == SlaState.BREACHED
    ]


def live_status(row: RecordedSla, now: datetime) -> SlaState:
    """The request's overall SLA status as of ``now``: Breached while it is open and any clock is
    (even before the workflow's timer has written it); otherwise the stored status."""
    if row.status in OPEN_STATUSES and breached_targets(row, now):
        return SlaState.BREACHED
    return row.sla_status
