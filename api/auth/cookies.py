"""The web UI's session cookie: set, cleared, and slid forward as the session is used.

The cookie holds a session token (``kind: session``). ``api.auth.deps`` asks for a fresh one when
the token in use is more than a few minutes old; :class:`SlidingSession` adds it to whatever
response the route returns (a JSON answer, a page or a redirect), unless the route itself set
or cleared the cookie (sign-in, sign-out).
"""

from __future__ import annotations

from fastapi import Response
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.service import SESSION_COOKIE, issue_token, token_ttl
from db.models import User
from settings import Settings

REFRESH_STATE = "session_refresh"  # request.state key: (token, max_age) to send back


def _secure(settings: Settings) -> bool:
    return settings.public.startswith("https://")


def set_session_cookie(response: Response, token: str, max_age: int, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=_secure(settings),
        httponly=True,
        samesite="lax",
    )


def start_session(response: Response, user: User, settings: Settings) -> None:
    """Sign ``user`` in to the UI: a new session token in the HttpOnly cookie."""
    token = issue_token(user, settings, kind="session")
    set_session_cookie(response, token, int(token_ttl(settings).total_seconds()), settings)


def end_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(settings), httponly=True, samesite="lax")


class SlidingSession:
    """Pure ASGI middleware: send back the re-issued session cookie that a request earned."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            refresh = scope.get("state", {}).get(REFRESH_STATE)
            if message["type"] == "http.response.start" and refresh is not None:
                headers = MutableHeaders(scope=message)
                already = any(
                    value.startswith(f"{SESSION_COOKIE}=") for value in headers.getlist("set-cookie")
                )
                if not already:
                    carrier = Response()
                    set_session_cookie(carrier, refresh[0], refresh[1], self.settings)
                    headers.append("set-cookie", carrier.headers["set-cookie"])
            await send(message)

        await self.app(scope, receive, send_with_cookie)
