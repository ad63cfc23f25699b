"""domain.signin: back-off and lockout after failed sign-ins, on a clock the tests hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.signin import Failures, SigninPolicy, Verdict

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)
POLICY = SigninPolicy()  # 2 free failures, 1 s doubling to 1 min, 5 failures lock for 15 min


def after(count: int, seconds: float = 0) -> Verdict:
    """The verdict ``seconds`` after the ``count``-th failure in a row (made at T0)."""
    return POLICY.check(Failures(count, T0), T0 + timedelta(seconds=seconds))


# ---- worked examples ----------------------------------------------------------------------------


def test_no_failures_never_waits() -> None:
    assert POLICY.check(Failures(), T0) == Verdict(True)


@pytest.mark.parametrize("count", [1, 2])
def test_the_free_failures_cost_nothing(count: int) -> None:
    assert after(count).allowed


@pytest.mark.parametrize(("count", "wait"), [(3, 1), (4, 2)])
def test_then_each_failure_doubles_the_wait(count: int, wait: int) -> None:
    refused = after(count)
    assert not refused.allowed and not refused.locked
    assert refused.retry_after_seconds == wait
    assert not after(count, wait - 0.001).allowed
    assert after(count, wait).allowed


def test_the_wait_is_capped_below_the_lockout() -> None:
    policy = SigninPolicy(free_failures=0, lockout_after=30)
    assert policy.wait_after(1) == S
    assert policy.wait_after(7) == 60 * S  # 64 s, capped at a minute
    assert policy.wait_after(29) == 60 * S
    assert policy.wait_after(10**6) == policy.lockout  # past lockout_after: locked, no overflow


def test_five_failures_lock_the_account_for_fifteen_minutes() -> None:
    locked = after(5, 1)
    assert not locked.allowed and locked.locked
    assert locked.retry_after == timedelta(minutes=15) - S
    assert locked.retry_after_seconds == 15 * 60 - 1
    assert POLICY.locks(5) and not POLICY.locks(4) and not POLICY.locks(6)


def test_the_lockout_expires_and_the_failures_are_forgotten() -> None:
    assert not after(5, 15 * 60 - 0.001).allowed
    assert after(5, 15 * 60).allowed
    assert POLICY.counted(Failures(5, T0), T0 + timedelta(minutes=15)) == 0
    assert POLICY.forget_before(T0 + timedelta(minutes=15)) == T0


def test_old_failures_no_longer_count() -> None:
    assert POLICY.counted(Failures(3, T0), T0 + timedelta(minutes=14)) == 3
    assert POLICY.counted(Failures(3, T0), T0 + timedelta(minutes=15)) == 0


def test_retry_after_rounds_up_to_a_whole_second() -> None:
    assert Verdict(False, timedelta(milliseconds=1)).retry_after_seconds == 1
    assert Verdict(False, timedelta(seconds=1.2)).retry_after_seconds == 2
    assert Verdict(True).retry_after_seconds == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lockout_after": 0},
        {"free_failures": 5, "lockout_after": 5},
        {"free_failures": -1},
        {"base_delay": timedelta(0)},
        {"max_delay": timedelta(minutes=30)},  # longer than the lockout
        {"base_delay": timedelta(minutes=2)},  # longer than the cap
    ],
)
def test_an_inconsistent_policy_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        SigninPolicy(**kwargs)  # type: ignore[arg-type]


# ---- properties ---------------------------------------------------------------------------------

policies = st.builds(
    lambda free, extra, lockout_s, base_ms, cap_ratio: SigninPolicy(
        free_failures=free,
        lockout_after=free + extra,
        lockout=timedelta(seconds=lockout_s),
        base_delay=min(timedelta(milliseconds=base_ms), timedelta(seconds=lockout_s)),
        max_delay=max(
            min(timedelta(milliseconds=base_ms), timedelta(seconds=lockout_s)),
            timedelta(seconds=lockout_s) * cap_ratio,
        ),
    ),
    free=st.integers(0, 10),
    extra=st.integers(1, 20),
    lockout_s=st.integers(1, 24 * 3600),
    base_ms=st.integers(1, 120_000),
    cap_ratio=st.floats(0.0, 1.0),
)
counts = st.integers(0, 200)
elapsed = st.floats(0, 2 * 24 * 3600).map(lambda s: timedelta(seconds=s))


@given(policies, counts, elapsed)
def test_a_refusal_says_exactly_when_to_come_back(policy: SigninPolicy, count: int, since: timedelta) -> None:
    now = T0 + since
    verdict = policy.check(Failures(count, T0), now)
    if verdict.allowed:
        assert verdict.retry_after == timedelta(0)
    else:
        assert verdict.retry_after > timedelta(0)
        assert policy.check(Failures(count, T0), now + verdict.retry_after).allowed


@given(policies, counts, elapsed)
def test_nobody_waits_longer_than_the_lockout(policy: SigninPolicy, count: int, since: timedelta) -> None:
    verdict = policy.check(Failures(count, T0), T0 + since)
    assert verdict.retry_after <= policy.lockout
    assert policy.check(Failures(count, T0), T0 + policy.lockout).allowed


@given(policies, counts, counts, elapsed)
def test_more_failures_never_wait_less(policy: SigninPolicy, a: int, b: int, since: timedelta) -> None:
    fewer, more = sorted((a, b))
    now = T0 + since
    assert (
        policy.check(Failures(fewer, T0), now).retry_after
        <= policy.check(Failures(more, T0), now).retry_after
    )


@given(policies, counts, elapsed)
def test_the_free_failures_never_wait_and_a_lockout_is_exactly_lockout_after(
    policy: SigninPolicy, count: int, since: timedelta
) -> None:
    verdict = policy.check(Failures(count, T0), T0 + since)
    if count <= policy.free_failures:
        assert verdict.allowed
    assert verdict.locked == (count >= policy.lockout_after and since < policy.lockout)
