"""Who is calling: ``CurrentUser`` from a Bearer JWT or the UI's session cookie, and role checks.

401 when nobody (or an inactive or deleted user) is signed in; 403 when the role is wrong.
The role checked is the one in the database now, not the one the token was issued with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer

from api.auth.service import SESSION_COOKIE, decode_token
from api.deps import SessionDep, SettingsDep
from api.errors import Problem
from db.models import User
from domain.users import Role

# auto_error=False: a missing credential is our own problem+json 401, not FastAPI's plain one.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The web UI's HttpOnly session (same JWT)"
)


def _not_authenticated(detail: str) -> Problem:
    return Problem(401, detail, type_="/problems/not-authenticated", headers={"WWW-Authenticate": "Bearer"})


async def get_current_user(
    session: SessionDep,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> User:
    """The active user named by the ``Authorization: Bearer`` token, else by the session cookie.

    A bad Bearer token is refused outright, never replaced by the cookie.
    """
    token = bearer or cookie
    if not token:
        raise _not_authenticated("Sign in to use ConnectDesk: send a Bearer token or the session cookie.")
    claims = decode_token(token, settings)
    user = await session.get(User, claims.uid)
    if user is None or user.username != claims.sub or not user.is_active:
        raise _not_authenticated("This account no longer exists or is deactivated; sign in again.")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


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
