"""Sign-in endpoints: an OAuth2 token for API clients, an HttpOnly session cookie for the web UI."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import ValidationError

from api.auth import service
from api.auth.deps import CurrentUser
from api.auth.schemas import SessionCreate, Token, UserRead
from api.deps import SessionDep, SettingsDep
from api.errors import Problem
from db.models import User
from settings import Settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"description": "Not signed in (problem+json)"}}


def _bad_credentials() -> Problem:
    return Problem(
        401,
        "Incorrect username or password",
        type_="/problems/not-authenticated",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _sign_in(*, session: SessionDep, username: str, password: str) -> User:
    user = await service.authenticate(session=session, username=username, password=password)
    if user is None:
        raise _bad_credentials()
    return user


@router.post(
    "/token",
    summary="Exchange a username and password for a Bearer token (OAuth2 password flow)",
    responses=UNAUTHORIZED,
)
async def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> Token:
    user = await _sign_in(session=session, username=form.username, password=form.password)
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
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "Body is not valid JSON", "type": "json_invalid"}]
        ) from exc
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False, include_url=False)) from exc


_CREDENTIALS_SCHEMA = SessionCreate.model_json_schema()


def _cookie_is_secure(settings: Settings) -> bool:
    return settings.public.startswith("https://")


@router.post(
    "/session",
    summary="Sign in to the web UI: sets the HttpOnly session cookie",
    responses=UNAUTHORIZED,
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
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> UserRead:
    user = await _sign_in(
        session=session, username=credentials.username, password=credentials.password.get_secret_value()
    )
    response.set_cookie(
        service.SESSION_COOKIE,
        service.issue_token(user, settings),
        max_age=int(service.token_ttl(settings).total_seconds()),
        path="/",
        secure=_cookie_is_secure(settings),
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return UserRead.model_validate(user)


@router.delete(
    "/session",
    summary="Sign out of the web UI: clears the session cookie",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_session(settings: SettingsDep) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        service.SESSION_COOKIE, path="/", secure=_cookie_is_secure(settings), httponly=True, samesite="lax"
    )
    return response
