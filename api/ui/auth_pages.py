"""Sign in and sign out of the web UI: the same credentials check and session cookie as the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.auth import service
from api.deps import SessionDep, SettingsDep
from api.ui.common import UiRoute, form_dict, optional_user, redirect, render
from db.models import User

router = APIRouter(route_class=UiRoute, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //elsewhere or a full URL) may follow a sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
async def login_page(
    request: Request, user: Annotated[User | None, Depends(optional_user)], next: str = "/"
) -> Response:
    if user is not None:
        return redirect(_safe_next(next))
    return render(request, "login.html", {"next": _safe_next(next), "values": {}})


@router.post("/login")
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    values = form_dict(await request.form())
    target = _safe_next(values.get("next"))
    username, password = values.get("username", ""), values.get("password", "")
    user = None
    if username and password:
        user = await service.authenticate(session=session, username=username, password=password)
    if user is None:
        error = (
            "Enter your username and password."
            if not (username and password)
            else "Incorrect username or password."
        )
        return render(
            request,
            "login.html",
            {"next": target, "values": {"username": username}, "error": error},
            status_code=401 if username and password else 422,
        )
    response = redirect(target)
    response.set_cookie(
        service.SESSION_COOKIE,
        service.issue_token(user, settings),
        max_age=int(service.token_ttl(settings).total_seconds()),
        path="/",
        secure=settings.public.startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/logout")
async def logout(settings: SettingsDep) -> Response:
    response = redirect("/login", flash="You are signed out.")
    response.delete_cookie(
        service.SESSION_COOKIE,
        path="/",
        secure=settings.public.startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response
