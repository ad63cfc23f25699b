"""What every UI page shares: templates and their filters, the signed-in user, flash messages,
refusals rendered as HTML in plain words, and form helpers.

Pages call the same service functions and permission checks as the JSON API; only the way an
answer or a refusal is shown differs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.auth.deps import cookie_scheme, get_current_user, require_roles
from api.clock import local_now, local_zone
from api.deps import SessionDep, SettingsDep
from api.errors import Problem
from api.idempotency import IdempotentWrite
from api.pagination import Page
from db.models import User
from domain.users import Role

HERE = Path(__file__).resolve().parent
FLASH_COOKIE = "connectdesk_flash"

templates = Jinja2Templates(directory=HERE / "templates")


# ---- template filters --------------------------------------------------------------------------


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Every date and time a page shows is in the utility's time zone (api.clock, set by create_app);
# the API keeps ISO 8601 with offsets.


def fmt_datetime(value: datetime | None) -> str:
    """'01 Dec 2026 09:30 EST': the moment in the utility's time zone, with its abbreviation."""
    return "—" if value is None else _as_utc(value).astimezone(local_zone()).strftime("%d %b %Y %H:%M %Z")


def fmt_date(value: date | datetime | None) -> str:
    if isinstance(value, datetime):
        value = _as_utc(value).astimezone(local_zone()).date()
    return "—" if value is None else value.strftime("%d %b %Y")


def fmt_iso(value: datetime | None) -> str:
    return "" if value is None else _as_utc(value).isoformat()


def fmt_money(value: Decimal | float | int | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


def fmt_number(value: Decimal | float | int | None) -> str:
    if value is None:
        return "—"
    number = Decimal(value)
    return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.2f}"


def slug(value: object) -> str:
    """'In Progress' → 'in-progress': a CSS class for a status or SLA state."""
    text = value.value if isinstance(value, Enum) else str(value)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def label(value: object) -> str:
    """'in_person' → 'In person', 'put_on_hold' → 'Put on hold': enum values in words."""
    text = value.value if isinstance(value, Enum) else str(value)
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def initials(name: str) -> str:
    return "".join(part[0] for part in name.split()[:2]).upper()


def at_risk(due: datetime, created: datetime, fraction: float) -> datetime:
    """When a clock turns At Risk: ``fraction`` of its window after creation (as the workflow reckons)."""
    due, created = _as_utc(due), _as_utc(created)
    return created + (due - created) * fraction


def remaining(due: datetime | None) -> str:
    """'2h 05m left' or 'overdue by 1h 10m' (the countdown script keeps it ticking)."""
    if due is None:
        return ""
    seconds = int((_as_utc(due) - datetime.now(UTC)).total_seconds())
    left = abs(seconds)
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{days}d {hours}h {minutes:02d}m" if days else f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{text} left" if seconds >= 0 else f"overdue by {text}"


templates.env.filters.update(
    dt=fmt_datetime, day=fmt_date, iso=fmt_iso, money=fmt_money, num=fmt_number, slug=slug, label=label,
    initials=initials, at_risk=at_risk, remaining=remaining,
)  # fmt: skip


# ---- every form submits once --------------------------------------------------------------------

IDEMPOTENCY_FIELD = "idempotency_key"


def idempotency_field() -> Markup:
    """A hidden field with a fresh Idempotency-Key for each rendering of a form: a double submit or a
    browser's retry of the same rendering does its write once (``api.idempotency``)."""
    return Markup(f'<input type="hidden" name="{IDEMPOTENCY_FIELD}" value="{uuid.uuid4().hex}">')


templates.env.globals["idempotency_field"] = idempotency_field


def form_write(values: dict[str, str], user: User, operation: str) -> IdempotentWrite:
    """The write a form asks for, under the form's key (taken out of ``values``), fingerprinted by
    what was typed."""
    key = values.pop(IDEMPOTENCY_FIELD, "") or None
    return IdempotentWrite.of(key, user_id=user.id, operation=f"ui.{operation}", payload=values)


# ---- who is signed in ---------------------------------------------------------------------------


class LoginRequired(Exception):
    """Nobody (valid) is signed in: pages redirect to /login, htmx fragments ask for a full redirect."""


async def optional_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> User | None:
    """The user of the session cookie, or None — the JSON API's own check, with its 401 turned into None."""
    if not cookie:
        return None
    try:
        return await get_current_user(request, session, settings, None, cookie)
    except Problem:
        return None


async def page_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise LoginRequired
    request.state.ui_user = user  # so a refusal page still shows this user's navigation
    return user


PageUser = Annotated[User, Depends(page_user)]
_supervisor_check = require_roles(Role.SUPERVISOR, Role.ADMIN)


async def supervisor_page_user(user: PageUser) -> User:
    """The JSON API's supervisor check (403 with the roles needed), for pages."""
    return await _supervisor_check(user)


SupervisorPageUser = Annotated[User, Depends(supervisor_page_user)]


def is_supervisor(user: User | None) -> bool:
    return user is not None and user.role in (Role.SUPERVISOR, Role.ADMIN)


def nav_for(user: User | None) -> list[tuple[str, str, str]]:
    """(key, label, href) of the navigation this role sees."""
    if user is None:
        return []
    items = [
        ("dashboard", "Dashboard", "/"),
        ("requests", "Requests", "/requests"),
        ("new", "New request", "/requests/new"),
        ("history", "History", "/requests/history"),
        ("consumers", "Consumers", "/consumers"),
    ]
    if is_supervisor(user):
        items.append(("escalations", "Escalations", "/escalations"))
        items.append(("audit", "Audit log", "/audit"))
        items.append(("dunning", "Dunning", "/dunning"))
    if user.role is Role.ADMIN:
        items.append(("admin", "Administration", "/admin"))
        items.append(("api", "API docs", "/docs"))
    return items


# ---- rendering ----------------------------------------------------------------------------------


def is_fragment(request: Request) -> bool:
    """An htmx request that swaps part of the page (not a history restore, which needs it whole)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
        and request.headers.get("HX-Boosted") != "true"
    )


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: User | None = None,
    status_code: int = 200,
    active: str = "",
) -> HTMLResponse:
    flash = request.cookies.get(FLASH_COOKIE)
    ctx = {
        "user": user,
        "nav": nav_for(user),
        "active": active,
        "flash": unquote(flash) if flash else None,
        "is_supervisor": is_supervisor(user),
        "today": local_now().date(),  # date pickers start at the utility's today
        "time_zone": str(local_zone()),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str, *, flash: str | None = None) -> RedirectResponse:
    """303 See Other (post → redirect → get), with an optional one-time message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), max_age=60, path="/", httponly=True, samesite="lax")
    return response


def url_with(request: Request, **changes: object) -> str:
    """The current URL with some query parameters replaced (None or '' drops one)."""
    params = {k: v for k, v in request.query_params.multi_items()}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def pager_links(request: Request, found: Page[Any], size: int) -> dict[str, Any]:
    """A page of results' pager: ``pages`` (None when only a lower bound of the total is known:
    a broad search on PostgreSQL) and the previous and next pages' URLs."""
    pages = max(1, -(-found.total // size))
    more = found.page < pages if found.total_exact else len(found.items) == size
    return {
        "pages": pages if found.total_exact else None,
        "prev_url": url_with(request, page=found.page - 1) if found.page > 1 else None,
        "next_url": url_with(request, page=found.page + 1) if more else None,
    }


# ---- refusals in plain words ----------------------------------------------------------------------

FIELD_LABELS = {
    "reading_date": "Reading date",
    "meter_number": "Meter",
    "preferred_date": "Preferred date",
    "slot_id": "Time slot",
    "service_type": "Service type",
    "scheduled_date": "Scheduled date",
    "text": "Note",
    "plan_id": "Plan",
    "consumer_id": "Consumer",
}


def _field(loc: tuple[Any, ...]) -> str:
    name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    return FIELD_LABELS.get(name, label(name) if name else "A value")


def _message(error: Mapping[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "missing" or (kind in ("string_too_short", "too_short") and ctx.get("min_length", 1) <= 1):
        return "is required"
    if kind in ("string_too_short", "too_short"):  # too_short: a SecretStr, or a list
        unit = "characters" if isinstance(error.get("input"), str) else "entries"
        return f"must be at least {ctx['min_length']} {unit}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be {ctx.get('ge', ctx.get('gt'))} or more"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind in ("decimal_parsing", "float_parsing", "int_parsing", "decimal_type", "int_type"):
        return "must be a number"
    if kind.startswith("date"):
        return "must be a date (YYYY-MM-DD)"
    if kind == "enum":
        return f"must be one of: {ctx.get('expected', '').replace(chr(39), '')}"
    if kind == "string_pattern_mismatch":
        return "is not in a valid format"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    msg = str(error["msg"])
    return msg[:1].lower() + msg[1:]


def plain_words(exc: ValidationError | RequestValidationError) -> str:
    """A validation error as sentences a CSR can act on: 'Reading must be 0 or more.'"""
    sentences: list[str] = []
    for error in exc.errors():
        if error["type"] == "value_error" and not any(isinstance(p, str) for p in error["loc"]):
            sentence = _message(error)
            sentence = sentence[:1].upper() + sentence[1:]
        else:
            sentence = f"{_field(tuple(error['loc']))} {_message(error)}"
        sentence = sentence.rstrip(".") + "."
        if sentence not in sentences:
            sentences.append(sentence)
    return " ".join(sentences)


def form_dict(form: FormData) -> dict[str, str]:
    """Single-valued form fields, stripped; uploads are left out."""
    return {key: value.strip() for key, value in form.multi_items() if isinstance(value, str)}


def blank_to_none(values: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: (None if k in keys and v in ("", None) else v) for k, v in values.items()}


def error_page(request: Request, user: User | None, status: int, detail: str) -> HTMLResponse:
    titles = {403: "Not allowed", 404: "Not found", 409: "Not possible", 503: "Try again shortly"}
    if is_fragment(request):
        return templates.TemplateResponse(
            request, "partials/error.html", {"message": detail}, status_code=status
        )
    return render(
        request,
        "error.html",
        {"title": titles.get(status, "Something went wrong"), "message": detail, "status": status},
        user=user,
        status_code=status,
    )


class UiRoute(APIRoute):
    """Routes whose refusals are pages: a Problem (from a service or a dependency) becomes an HTML
    page in plain words, a missing sign-in a redirect to /login."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def ui_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                login = f"/login?next={quote(target, safe='')}"
                if request.headers.get("HX-Request") == "true":
                    return Response(status_code=204, headers={"HX-Redirect": login})
                return RedirectResponse(login, status_code=303)
            except Problem as problem:
                user = getattr(request.state, "ui_user", None)
                return error_page(request, user, problem.status, problem.detail)
            except RequestValidationError as exc:
                return error_page(request, getattr(request.state, "ui_user", None), 422, plain_words(exc))

        return ui_handler
