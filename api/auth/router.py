"""Sign-in endpoints: an OAuth2 token for API clients, an HttpOnly session cookie for the web UI;
sign-out (which ends every token and session of the user) and a user's own password change."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import ValidationError

from api.auth import service
from api.auth.cookies import end_session, start_session
from api.auth.deps import CurrentUser, client_address, cookie_scheme, sign_out_cookie
from api.auth.schemas import PasswordChange, SessionCreate, Token, UserRead
from api.deps import SessionDep, SettingsDep
from api.errors import Problem
from db.models import User
from domain.passwords import hash_password
from settings import Settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"description": "Not signed in (problem+json)"}}
THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many failed sign-ins for this account or address: wait `Retry-After` "
        "seconds (problem+json with `retry_after` and `locked`)"
    }
}


async def _sign_in(
    *, request: Request, session: SessionDep, settings: Settings, username: str, password: str
) -> User:
    return await service.sign_in(
        session=session,
        username=username,
        password=password,
        address=client_address(request),
        settings=settings,
    )


@router.post(
    "/token",
    summary="Exchange a username and password for a Bearer token (OAuth2 password flow)",
    responses={**UNAUTHORIZED, **THROTTLED},
)
async def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> Token:
    user = await _sign_in(
        request=request, session=session, settings=settings, username=form.username, password=form.password
    )
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1: tokens are never cached
    return Token(
        access_token=service.issue_token(user, settings),
        expires_in=int(service.token_ttl(settings).total_seconds()),
    )


@router.get("/me", summary="The signed-in user", responses=UNAUTHORIZED)
async def read_me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


async def _session_credentials(request: Request) -> SessionCreate:
    """Credentials from a JSON body or an HTML form; bad input is a 422 like any other."""
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            data: Any = await request.json()
        else:
            data = dict(await request.form())
        return SessionCreate.model_validate(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # not JSON, or not even UTF-8
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "Body is not valid JSON", "type": "json_invalid"}]
        ) from exc
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from exc


_CREDENTIALS_SCHEMA = SessionCreate.model_json_schema()


@router.post(
    "/session",
    summary="Sign in to the web UI: sets the HttpOnly session cookie",
    responses={
        **UNAUTHORIZED,
        422: {"description": "Missing or invalid credentials (problem+json)"},
        **THROTTLED,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _CREDENTIALS_SCHEMA},
                "application/x-www-form-urlencoded": {"schema": _CREDENTIALS_SCHEMA},
            },
        }
    },
)
async def create_session(
    credentials: Annotated[SessionCreate, Depends(_session_credentials)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> UserRead:
    user = await _sign_in(
        request=request,
        session=session,
        settings=settings,
        username=credentials.username,
        password=credentials.password.get_secret_value(),
    )
    start_session(response, user, settings)
    response.headers["Cache-Control"] = "no-store"
    return UserRead.model_validate(user)


@router.delete(
    "/session",
    summary="Sign out of the web UI: clears the session cookie",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_session(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Response:
    """Clears the cookie; a still-valid session also ends every token and session of its user."""
    await sign_out_cookie(request=request, session=session, settings=settings, cookie=cookie)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    end_session(response, settings)
    return response


@router.post(
    "/logout",
    summary="Sign out: ends every token and session of the signed-in user",
    description="The Bearer token (or session cookie) sent, and every other token and UI session of "
    "the same user, answer 401 from now on. Clears the session cookie too.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=UNAUTHORIZED,
)
async def logout(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> Response:
    await service.revoke_tokens(session=session, user_id=user.id)
    await session.commit()
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    end_session(response, settings)
    return response


@router.post(
    "/password",
    summary="Change your own password: ends every other token and session",
    description="Send the current password and the new one. The new password must follow the password "
    "policy (422 naming `new_password`); a wrong current password is a 422 naming `current_password` "
    "and counts as a failed sign-in (429 when throttled). Every token and session issued before "
    "ends; the answer carries a new token (and a new session cookie when one was sent).",
    responses={
        **UNAUTHORIZED,
        422: {"description": "Wrong current password or a refused new one (problem+json)"},
        **THROTTLED,
    },
)
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Token:
    new_password = body.new_password.get_secret_value()
    refusal = service.password_refusal(settings.password_policy, new_password, username=user.username)
    if refusal is not None:
        refusal.extra["errors"] = [{**e, "field": "new_password"} for e in refusal.extra["errors"]]
        raise refusal
    try:
        await _sign_in(
            request=request,
            session=session,
            settings=settings,
            username=user.username,
            password=body.current_password.get_secret_value(),
        )
    except Problem as problem:
        if problem.status != 401:
            raise
        message = "is not your current password"
        raise Problem(
            422,
            "The current password is wrong; the password was not changed.",
            type_=service.VALIDATION,
            errors=[{"field": "current_password", "message": message}],
        ) from None
    user.password_hash = await asyncio.to_thread(hash_password, new_password)
    await service.revoke_tokens(session=session, user_id=user.id, why="password_changed")
    await session.commit()
    if cookie:
        start_session(response, user, settings)
    response.headers["Cache-Control"] = "no-store"
    return Token(
        access_token=service.issue_token(user, settings),
        expires_in=int(service.token_ttl(settings).total_seconds()),
    )
