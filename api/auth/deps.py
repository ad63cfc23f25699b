"""Who is calling: ``CurrentUser`` from a Bearer JWT or the UI's session cookie, and role checks.

401 when nobody (or an inactive or deleted user) is signed in, when the token's version is no
longer the user's (signed out, password or role changed, deactivated), or when a UI session sat
idle too long; 403 when the role is wrong. The role checked is the one in the database now, not
the one the token was issued with. One query: the user's row, by primary key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.cookies import REFRESH_STATE
from api.auth.service import (
    SESSION_COOKIE,
    decode_token,
    refreshed_session,
    revoke_tokens,
    session_idle_expired,
)
from api.deps import SessionDep, SettingsDep
from api.errors import Problem
from db import audit
from db.models import User
from domain.users import Role
from settings import Settings

# auto_error=False: a missing credential is our own problem+json 401, not FastAPI's plain one.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The web UI's HttpOnly session (same JWT)"
)


def _not_authenticated(detail: str) -> Problem:
    return Problem(401, detail, type_="/problems/not-authenticated", headers={"WWW-Authenticate": "Bearer"})


async def get_current_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> User:
    """The active user named by the ``Authorization: Bearer`` token, else by the session cookie.

    A bad Bearer token is refused outright, never replaced by the cookie. A session cookie in use
    is re-issued (``api.auth.cookies.SlidingSession`` sends it) so its idle clock starts again.
    """
    token = bearer or cookie
    if not token:
        raise _not_authenticated("Sign in to use ConnectDesk: send a Bearer token or the session cookie.")
    claims = decode_token(token, settings)
    now = datetime.now(UTC)
    if session_idle_expired(claims, settings, now):
        raise _not_authenticated(
            f"Your session ended after {settings.session_idle_minutes:g} minutes without activity; sign in again."
        )
    user = await session.get(User, claims.uid)
    if user is None or user.username != claims.sub or not user.is_active:
        raise _not_authenticated("This account no longer exists or is deactivated; sign in again.")
    if user.token_version != claims.ver:
        raise _not_authenticated(
            "This sign-in has ended (signed out, or the password or role changed); sign in again."
        )
    if not bearer and (refreshed := refreshed_session(claims, user, settings, now)):
        setattr(request.state, REFRESH_STATE, refreshed)
    audit.actor.set(user.username)  # this request's writes are theirs in the audit log
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (uvicorn's --proxy-headers sets it behind a proxy)."""
    return request.client.host if request.client else "unknown"


async def sign_out_cookie(
    *, request: Request, session: AsyncSession, settings: Settings, cookie: str | None
) -> None:
    """End the sessions of the cookie's user, if the cookie still names one (else nothing to end)."""
    if not cookie:
        return
    try:
        user = await get_current_user(request, session, settings, None, cookie)
    except Problem:
        return
    await revoke_tokens(session=session, user_id=user.id)
    await session.commit()


def _role_list(roles: tuple[Role, ...]) -> str:
    names = [role.value for role in roles]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that returns the current user when their role is one of ``roles``, else 403."""
    if not roles:
        raise ValueError("require_roles needs at least one role")

    async def check_role(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Problem(
                403,
                f"This action needs the {_role_list(roles)} role; you are {user.role.value}.",
                type_="/problems/forbidden",
                required_roles=[role.value for role in roles],
                role=user.role.value,
            )
        return user

    return check_role


CsrUser = Annotated[User, Depends(require_roles(Role.CSR, Role.SUPERVISOR, Role.ADMIN))]
SupervisorUser = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
