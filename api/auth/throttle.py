"""Sign-in throttling, kept in the database so that every API process counts the same failures.

Two counters guard each attempt: the account (the username typed, lower-cased, whether or not
it exists, so a refusal never tells which usernames do) and the client address. The rule is
``domain.signin.SigninPolicy``; this module only reads and writes ``signin_failures``.

An attempt is counted against the account *before* its password is checked, by one atomic
upsert, and the count it returns says whether another attempt got in between: a burst of
parallel guesses cannot all pass the check at once. A success deletes the account's count;
a failure also counts against the address. Each step commits, so other processes see it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Problem
from db.models import SigninFailure
from db.upsert import insert_for
from domain.signin import Failures, SigninPolicy, Verdict
from settings import Settings

log = logging.getLogger("connectdesk.auth")

ACCOUNT = "account"
ADDRESS = "address"
TOO_MANY = "/problems/too-many-sign-ins"


def account_key(username: str) -> str:
    return username.strip().lower()[:255]


def address_key(address: str | None) -> str:
    return (address or "unknown")[:255]


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def too_many(verdict: Verdict, scope: str) -> Problem:
    """429 with Retry-After, in words a person at the sign-in form can act on."""
    seconds = verdict.retry_after_seconds
    if verdict.locked:
        whose = "for this account" if scope == ACCOUNT else "from your network address"
        detail = f"Too many failed sign-ins {whose}: signing in is locked for {_duration(seconds)}."
    else:
        detail = f"Too many failed sign-ins: wait {_duration(seconds)}, then try again."
    return Problem(
        429,
        detail,
        type_=TOO_MANY,
        headers={"Retry-After": str(seconds)},
        retry_after=seconds,
        locked=verdict.locked,
    )


async def _read(session: AsyncSession, account: str, address: str) -> dict[str, Failures]:
    table = SigninFailure.__table__
    rows = await session.execute(
        select(table.c.scope, table.c.failures, table.c.last_failure_at).where(
            or_(
                and_(table.c.scope == ACCOUNT, table.c.subject == account),
                and_(table.c.scope == ADDRESS, table.c.subject == address),
            )
        )
    )
    return {row.scope: Failures(row.failures, row.last_failure_at) for row in rows}


async def _count_failure(
    session: AsyncSession, scope: str, subject: str, now: datetime, policy: SigninPolicy
) -> int:
    """Add one failure, atomically (forgetting old ones first, as the policy does); the new count."""
    table = SigninFailure.__table__
    stmt = insert_for(session, table).values(scope=scope, subject=subject, failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.scope, table.c.subject],
        set_={
            "failures": case(
                (table.c.last_failure_at <= policy.forget_before(now), 1), else_=table.c.failures + 1
            ),
            "last_failure_at": now,
        },
    ).returning(table.c.failures)
    return int((await session.execute(stmt)).scalar_one())


@dataclass
class Attempt:
    """A sign-in that may go on: its password is checked next, then ``failed`` or ``succeeded``."""

    username: str
    account: str
    address: str
    account_failures: int  # including this attempt, until it succeeds
    settings: Settings

    async def failed(self, session: AsyncSession, failed_at: datetime) -> None:
        """Count the failure against the address too (the account's is counted already), and date
        both ``failed_at``: the back-off runs from the refusal, not from when the check began. Log it."""
        policy = self.settings.address_signin_policy
        address_failures = await _count_failure(session, ADDRESS, self.address, failed_at, policy)
        await session.execute(
            update(SigninFailure)
            .where(
                SigninFailure.scope == ACCOUNT,
                SigninFailure.subject == self.account,
                SigninFailure.last_failure_at < failed_at,
            )
            .values(last_failure_at=failed_at)
        )
        # Counts past the window count for nothing: sweep them, so guessed usernames do not pile up.
        await session.execute(
            delete(SigninFailure).where(SigninFailure.last_failure_at <= policy.forget_before(failed_at))
        )
        await session.commit()
        log.warning(
            "sign-in failed for username %r from %s (%d failure(s) in a row for the account, %d for the address)",
            self.username, self.address, self.account_failures, address_failures,
        )  # fmt: skip
        account_policy = self.settings.account_signin_policy
        if account_policy.locks(self.account_failures):
            log.warning(
                "sign-in locked for username %r for %s after %d failures (last from %s)",
                self.username, account_policy.lockout, self.account_failures, self.address,
            )  # fmt: skip
        if policy.locks(address_failures):
            log.warning(
                "sign-in locked for address %s for %s after %d failures", self.address, policy.lockout,
                address_failures,
            )  # fmt: skip

    async def succeeded(self, session: AsyncSession) -> None:
        """Forget the account's failures (the address keeps its own)."""
        await session.execute(
            delete(SigninFailure).where(SigninFailure.scope == ACCOUNT, SigninFailure.subject == self.account)
        )
        await session.commit()


async def begin(
    *, session: AsyncSession, username: str, address: str | None, settings: Settings, now: datetime
) -> Attempt:
    """Let a sign-in attempt go on, counted against its account, or refuse it with 429."""
    account, client = account_key(username), address_key(address)
    account_policy, address_policy = settings.account_signin_policy, settings.address_signin_policy
    known = await _read(session, account, client)
    account_state = known.get(ACCOUNT, Failures())
    verdicts = [
        (ACCOUNT, account_policy.check(account_state, now)),
        (ADDRESS, address_policy.check(known.get(ADDRESS, Failures()), now)),
    ]
    refused = [(scope, v) for scope, v in verdicts if not v.allowed]
    if refused:
        await session.rollback()
        scope, verdict = max(refused, key=lambda item: item[1].retry_after)
        log.info(
            "sign-in refused for username %r from %s: the %s must wait %ss%s",
            username, client, scope, verdict.retry_after_seconds, " (locked out)" if verdict.locked else "",
        )  # fmt: skip
        raise too_many(verdict, scope)

    expected = account_policy.counted(account_state, now) + 1
    count = await _count_failure(session, ACCOUNT, account, now, account_policy)
    if count != expected:
        # Another attempt on this account was counted since we looked: judge by the count it left.
        verdict = account_policy.check(Failures(count - 1, now), now)
        if not verdict.allowed:
            await session.commit()
            log.info("sign-in refused for username %r from %s: parallel attempts", username, client)
            raise too_many(verdict, ACCOUNT)
    await session.commit()
    return Attempt(username, account, client, count, settings)
