"""Cross-site request forgery: a browser's cross-site write is refused before any route runs.

The UI signs in with a cookie, and a browser attaches cookies to a form another site posts here.
SameSite=Lax already keeps the session cookie off cross-site POSTs in current browsers; this is
the second line, for older browsers and sibling subdomains ("same-site" is not "same-origin").

A write (POST, PUT, PATCH, DELETE) without an ``Authorization`` header is refused with a 403
problem when the browser says it came from elsewhere:

- ``Sec-Fetch-Site`` (sent by every current browser) is ``cross-site`` or ``same-site``; else
- ``Origin`` is present and names another host than this request's (or the public URL's).

Requests with neither header (curl, httpx, other services) are not browsers and cannot be forged
this way; Bearer-token callers never carry ambient credentials, so they are not checked.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import Problem, problem_response

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})  # "none": typed in the address bar


def _netloc(url: str) -> str:
    return urlsplit(url).netloc.lower()


class CrossSiteWriteGuard:
    """Pure ASGI middleware (no per-request task, unlike ``BaseHTTPMiddleware``)."""

    def __init__(self, app: ASGIApp, public_url: str | None = None) -> None:
        self.app = app
        self.public_host = _netloc(public_url) if public_url else None

    def refusal(self, headers: Headers) -> str | None:
        """Why this write looks forged, or None when it may go on."""
        if "authorization" in headers:
            return None
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site is not None:
            if fetch_site.lower() in TRUSTED_FETCH_SITES:
                return None
            return f"This change was sent from another site ({fetch_site}); it was refused."
        origin = headers.get("origin")
        if origin is None:
            return None
        allowed = {headers.get("host", "").lower(), self.public_host}
        if origin == "null" or _netloc(origin) not in allowed:
            return f"This change was sent from another site ({origin}); it was refused."
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        reason = self.refusal(Headers(scope=scope))
        if reason is None:
            await self.app(scope, receive, send)
            return
        problem = Problem(
            403,
            f"{reason} Sign-in cookies only act for pages of this site; use a Bearer token from elsewhere.",
            type_="/problems/cross-site-request",
        )
        await problem_response(problem, Request(scope))(scope, receive, send)
