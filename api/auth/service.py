"""Sign-in and tokens: the only place that checks passwords or signs and reads JWTs."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from functools import cache

import jwt
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.schemas import TokenClaims
from api.errors import Problem
from db.models import User
from domain.passwords import hash_password, verify_password
from settings import Settings

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
SESSION_COOKIE = "connectdesk_session"
REQUIRED_CLAIMS = ["sub", "uid", "role", "iat", "exp"]


@cache
def _dummy_hash() -> str:
    # Verified when the username is unknown, so a wrong username costs as long as a wrong password.
    return hash_password("connectdesk-dummy-password")


async def authenticate(*, session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (unknown user, wrong password, or inactive).

    The password is always checked against some Argon2 hash, off the event loop, so the time taken
    does not reveal whether the username exists or is inactive.
    """
    user = await session.scalar(select(User).where(User.username == username))
    password_hash = user.password_hash if user is not None else _dummy_hash()
    matches = await asyncio.to_thread(verify_password, password, password_hash)
    if user is None or not matches or not user.is_active:
        log.info("sign-in refused for username %r", username)
        return None
    return user


def token_ttl(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.jwt_ttl_minutes)


def issue_token(user: User, settings: Settings) -> str:
    """A signed HS256 JWT for ``user`` (claims sub, uid, role, iat, exp), valid for ``jwt_ttl_minutes``."""
    now = datetime.now(UTC)
    claims = {
        "sub": user.username,
        "uid": user.id,
        "role": user.role.value,
        "iat": int(now.timestamp()),
        "exp": int((now + token_ttl(settings)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def _invalid_token(detail: str) -> Problem:
    return Problem(
        401,
        detail,
        type_="/problems/not-authenticated",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def decode_token(token: str, settings: Settings) -> TokenClaims:
    """The claims of a token this service signed; Problem(401) when it is expired, tampered or malformed."""
    try:
        raw = jwt.decode(
            token, settings.jwt_secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
        )
        return TokenClaims.model_validate(raw)
    except jwt.ExpiredSignatureError as exc:
        raise _invalid_token("Your session has expired; sign in again.") from exc
    except (jwt.InvalidTokenError, ValidationError) as exc:
        raise _invalid_token("The access token is invalid; sign in again.") from exc
