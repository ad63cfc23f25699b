"""Sign-in throttling: how long a caller must wait after failed sign-ins, from the count and times alone.

A failure count belongs to an account (the username typed) or to a client address. The first
``free_failures`` cost nothing; each one after that doubles the wait (``base_delay``, 2×, 4×, …,
at most ``max_delay``); ``lockout_after`` failures lock for ``lockout``. Failures are forgotten
once ``lockout`` has passed since the last one, so a lockout ends on its own. No I/O, no clock:
the caller passes ``now``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

ZERO = timedelta(0)


@dataclass(frozen=True)
class Failures:
    """Failed sign-ins in a row for one account or address, and when the last one happened."""

    count: int = 0
    last_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """Whether a sign-in may be tried now; if not, how long until it may, and whether it is a lockout."""

    allowed: bool
    retry_after: timedelta = ZERO
    locked: bool = False

    @property
    def retry_after_seconds(self) -> int:
        """``Retry-After`` in whole seconds, rounded up (at least 1 when refused)."""
        if self.allowed:
            return 0
        return max(1, math.ceil(self.retry_after.total_seconds()))


@dataclass(frozen=True)
class SigninPolicy:
    """Exponential back-off, then a temporary lockout, after failed sign-ins."""

    free_failures: int = 2
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=1)
    lockout_after: int = 5
    lockout: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.lockout_after < 1:
            raise ValueError("lockout_after must be 1 or more")
        if not 0 <= self.free_failures < self.lockout_after:
            raise ValueError("free_failures must be from 0 to lockout_after - 1")
        if self.base_delay <= ZERO or self.lockout <= ZERO:
            raise ValueError("base_delay and lockout must be positive")
        if not self.base_delay <= self.max_delay <= self.lockout:
            raise ValueError("max_delay must lie between base_delay and lockout")

    def counted(self, failures: Failures, now: datetime) -> int:
        """The failures that still count at ``now``: none once ``lockout`` has passed since the last."""
        if failures.count <= 0 or failures.last_at is None or now - failures.last_at >= self.lockout:
            return 0
        return failures.count

    def forget_before(self, now: datetime) -> datetime:
        """Failures whose last one is at or before this instant are forgotten."""
        return now - self.lockout

    def wait_after(self, count: int) -> timedelta:
        """How long after the ``count``-th failure in a row the next attempt must wait."""
        if count >= self.lockout_after:
            return self.lockout
        if count <= self.free_failures:
            return ZERO
        doublings = count - self.free_failures - 1
        # the doubling overflows timedelta long before it matters: cap the exponent first.
        if doublings >= 40:
            return self.max_delay
        return min(self.base_delay * (1 << doublings), self.max_delay)

    def check(self, failures: Failures, now: datetime) -> Verdict:
        """May a sign-in be tried at ``now``, after ``failures``?"""
        count = self.counted(failures, now)
        if count == 0 or failures.last_at is None:
            return Verdict(True)
        opens_at = failures.last_at + self.wait_after(count)
        if now >= opens_at:
            return Verdict(True)
        return Verdict(False, opens_at - now, locked=count >= self.lockout_after)

    def locks(self, count: int) -> bool:
        """Whether the ``count``-th failure in a row starts a lockout (it is logged as one)."""
        return count == self.lockout_after
