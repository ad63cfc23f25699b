"""Sign-in and tokens: the only place that checks passwords or signs and reads JWTs.

A token is an HS256 JWT whose header names its key (``kid``, one of ``Settings.jwt_keyring``) and
whose claims carry the user's ``token_version``: raising that version (sign-out, a password or role
change, deactivation) ends every token issued before. UI sessions are tokens of kind ``session``,
which also end after ``session_idle_minutes`` without use and are re-issued as they are used.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Literal

import jwt
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import throttle
from api.auth.schemas import TokenClaims
from api.errors import Problem
from db import audit
from db.models import User
from domain.passwords import PasswordPolicy, hash_password, verify_password
from settings import JwtKey, Settings

log = logging.getLogger("connectdesk.auth")

ALGORITHM = "HS256"
SESSION_COOKIE = "connectdesk_session"
REQUIRED_CLAIMS = ["sub", "uid", "role", "ver", "kind", "iat", "exp", "auth_time"]
VALIDATION = "/problems/validation"

TokenKind = Literal["api", "session"]


@cache
def dummy_hash() -> str:
    """A hash of a random password, verified when the username is unknown so that a wrong username
    costs as long as a wrong password. Made once per process (the app warms it up at start)."""
    return hash_password(secrets.token_urlsafe(24))


async def authenticate(*, session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (unknown user, wrong password, or inactive).

    The password is always checked against some Argon2 hash, off the event loop, so the time taken
    does not reveal whether the username exists or is inactive.
    """
    user = await session.scalar(select(User).where(User.username == username))
    password_hash = user.password_hash if user is not None else dummy_hash()
    matches = await asyncio.to_thread(verify_password, password, password_hash)
    if user is None or not matches or not user.is_active:
        return None
    return user


def _bad_credentials() -> Problem:
    return Problem(
        401,
        "Incorrect username or password",
        type_="/problems/not-authenticated",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def sign_in(
    *,
    session: AsyncSession,
    username: str,
    password: str,
    address: str,
    settings: Settings,
    now: datetime | None = None,
) -> User:
    """The user these credentials name, under sign-in throttling; commits the throttle's counters.

    Refuses with 429 (Retry-After) while the account or the client address must wait or is locked
    out, and with 401 for wrong credentials, an unknown user or an inactive one alike. A success
    clears the account's failures. Never logs the password.
    """

    def clock() -> datetime:  # the caller's fixed time (tests), else the real one
        return now or datetime.now(UTC)

    attempt = await throttle.begin(
        session=session, username=username, address=address, settings=settings, now=clock()
    )
    user = await authenticate(session=session, username=username, password=password)
    if user is None:
        await attempt.failed(session, failed_at=clock())
        raise _bad_credentials()
    await attempt.succeeded(session)
    return user


def token_ttl(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.jwt_ttl_minutes)


def _signing_key(settings: Settings) -> JwtKey:
    return settings.jwt_keyring[0]


def issue_token(
    user: User,
    settings: Settings,
    *,
    kind: TokenKind = "api",
    now: datetime | None = None,
    auth_time: int | None = None,
    expires: int | None = None,
) -> str:
    """A JWT for ``user`` signed with the first key of ``settings.jwt_keyring`` (its id in ``kid``).

    Claims: sub, uid, role, ver (the user's token version), kind, iat, exp, auth_time (when the
    password was checked). A re-issued session keeps its ``auth_time`` and ``expires``.
    """
    now = now or datetime.now(UTC)
    issued = int(now.timestamp())
    claims = {
        "sub": user.username,
        "uid": user.id,
        "role": user.role.value,
        "ver": user.token_version,
        "kind": kind,
        "iat": issued,
        "exp": expires if expires is not None else int((now + token_ttl(settings)).timestamp()),
        "auth_time": auth_time if auth_time is not None else issued,
    }
    key = _signing_key(settings)
    return jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})


def _invalid_token(detail: str) -> Problem:
    return Problem(
        401,
        detail,
        type_="/problems/not-authenticated",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def decode_token(token: str, settings: Settings) -> TokenClaims:
    """The claims of a token signed with one of the accepted keys; Problem(401) when it is expired,
    tampered, malformed, or names a key (``kid``) that is not, or no longer, accepted."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in settings.jwt_keyring if k.kid == kid), None)
        if key is None:
            raise _invalid_token(
                "The access token is invalid: its signing key (kid) is not accepted here; sign in again."
            )
        raw = jwt.decode(token, key.secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS})
        return TokenClaims.model_validate(raw)
    except jwt.ExpiredSignatureError as exc:
        raise _invalid_token("Your session has expired; sign in again.") from exc
    except (jwt.InvalidTokenError, ValidationError) as exc:
        raise _invalid_token("The access token is invalid; sign in again.") from exc


def session_idle_expired(claims: TokenClaims, settings: Settings, now: datetime) -> bool:
    """A UI session unused for longer than ``session_idle_minutes`` (each use re-issues it)."""
    return claims.kind == "session" and now.timestamp() - claims.iat > settings.session_idle.total_seconds()


def refreshed_session(
    claims: TokenClaims, user: User, settings: Settings, now: datetime
) -> tuple[str, int] | None:
    """A new session token and its cookie max-age when ``claims`` is a session issued more than a
    sixth of the idle timeout ago (so the idle clock restarts); None when it is fresh enough.
    The sign-in time and the absolute expiry stay those of the original sign-in."""
    if claims.kind != "session" or now.timestamp() - claims.iat < settings.session_idle.total_seconds() / 6:
        return None
    token = issue_token(
        user, settings, kind="session", now=now, auth_time=claims.auth_time, expires=claims.exp
    )
    return token, max(0, claims.exp - int(now.timestamp()))


async def revoke_tokens(*, session: AsyncSession, user_id: int, why: str = "sign_out") -> None:
    """End every token and session ``user_id`` holds, in one atomic UPDATE (flushed, not committed);
    audited as ``why``."""
    await session.execute(update(User).where(User.id == user_id).values(token_version=User.token_version + 1))
    await audit.record(
        session, object_type="user", object_id=user_id, action=why, changes={"sessions": ["active", "ended"]}
    )
    log.info("tokens revoked for user id %s", user_id)


def password_refusal(policy: PasswordPolicy, password: str, *, username: str | None) -> Problem | None:
    """A 422 problem naming the ``password`` field when ``policy`` refuses it, else None."""
    problems = policy.problems(password, username=username)
    if not problems:
        return None
    return Problem(
        422,
        "The password is not accepted. " + " ".join(problems),
        type_=VALIDATION,
        errors=[{"field": "password", "message": message} for message in problems],
    )
