"""Sign in and sign out of the web UI: the same credentials check, throttling, session cookie and
sign-out (every session and token of the user ends) as the JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.auth import service
from api.auth.cookies import end_session, start_session
from api.auth.deps import client_address, cookie_scheme, sign_out_cookie
from api.deps import SessionDep, SettingsDep
from api.errors import Problem
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
    context = {"next": target, "values": {"username": username}}
    if not (username and password):
        return render(
            request, "login.html", context | {"error": "Enter your username and password."}, status_code=422
        )
    try:
        user = await service.sign_in(
            session=session,
            username=username,
            password=password,
            address=client_address(request),
            settings=settings,
        )
    except Problem as problem:  # 401 wrong credentials, 429 throttled (with Retry-After)
        error = "Incorrect username or password." if problem.status == 401 else problem.detail
        page = render(request, "login.html", context | {"error": error}, status_code=problem.status)
        if "Retry-After" in problem.headers:
            page.headers["Retry-After"] = problem.headers["Retry-After"]
        return page
    response = redirect(target)
    start_session(response, user, settings)
    return response


@router.post("/logout")
async def logout(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Response:
    await sign_out_cookie(request=request, session=session, settings=settings, cookie=cookie)
    response = redirect("/login", flash="You are signed out.")
    end_session(response, settings)
    return response
