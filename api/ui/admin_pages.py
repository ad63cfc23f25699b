"""Administration pages (admins only): SLA targets, the business calendar, time slots, plans, user
accounts and the disconnection rules (the jurisdiction profile, weather emergencies).

Each form posts here and goes through the same admin service and pydantic models as the JSON API,
so the rules (targets that never shrink, slots that never overlap, one admin who cannot lock
themselves out) hold the same way. A refusal shows the tab again with the sentence on that form
and everything typed kept; nothing is written.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from api.admin import schemas, service
from api.auth.deps import require_roles
from api.deps import SessionDep, SettingsDep
from api.disconnection import schemas as disconnection_schemas
from api.disconnection import service as disconnection
from api.errors import Problem
from api.idempotency import Replayed
from api.ui.common import PageUser, UiRoute, form_dict, form_write, plain_words, redirect, render
from api.ui.protection_pages import end_of_day
from db.business_calendar import load_calendar_settings
from db.disconnection import load_profile as stored_profile
from db.models import User
from domain.business_calendar import (
    MAX_WINDOWS_PER_DAY,
    CalendarSettings,
    Closure,
    country_names,
    resolved_calendar,
    supported_countries,
)
from domain.business_time import NoWorkingTime, add_business_time
from domain.consumers.types import SUB_CATEGORIES, Category, UtilityType
from domain.disconnection.profile import PRESETS, Weekday
from domain.disconnection.protections import WeatherHazard
from domain.users import Role

router = APIRouter(route_class=UiRoute, include_in_schema=False)

TABS = [
    ("sla", "SLA targets"),
    ("calendar", "Business calendar"),
    ("slots", "Time slots"),
    ("plans", "Plans"),
    ("users", "Users"),
    ("disconnection", "Disconnection rules"),
]
LIST_SIZE = 200  # every slot, plan and account on one page: admin lists are short
_admin_check = require_roles(Role.ADMIN)


async def admin_page_user(user: PageUser) -> User:
    """The JSON API's admin check (403 naming the role needed), for pages."""
    return await _admin_check(user)


AdminPageUser = Annotated[User, Depends(admin_page_user)]


def _checked(values: dict[str, str], name: str) -> bool:
    return values.get(name) in ("on", "true", "1")


async def _admin_page(
    request: Request,
    user: User,
    session: SessionDep,
    tab: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    tab = tab if tab in dict(TABS) else "sla"
    context: dict[str, Any] = {"tab": tab, "tabs": TABS, "errors": errors or {}, "values": values or {}}
    if tab == "sla":
        context["sla"] = await service.read_sla(session=session)
    elif tab == "calendar":
        context |= await _calendar_context(request, session, (values or {}).get("calendar", {}))
    elif tab == "slots":
        context["slots"] = (await service.list_time_slots(session=session, size=LIST_SIZE)).items
        context["time_zone"] = request.app.state.settings.time_zone
    elif tab == "plans":
        context["plans"] = (await service.list_plans(session=session, size=LIST_SIZE)).items
        context["categories"] = list(Category)
        context["sub_categories"] = SUB_CATEGORIES
        context["utilities"] = list(UtilityType)
    elif tab == "disconnection":
        context["profile"] = await disconnection.read_profile(session)
        context["presets"] = list(PRESETS.values())
        context["emergencies"] = await disconnection.list_emergencies(session=session, current=False)
        context["hazards"] = list(WeatherHazard)
        context["now"] = datetime.now(UTC)
    else:
        context["accounts"] = (await service.list_users(session=session, size=LIST_SIZE)).items
        context["roles"] = list(Role)
        context["password_min_length"] = request.app.state.settings.password_min_length
    return render(request, "admin/index.html", context, user=user, active="admin", status_code=status_code)


@router.get("/admin")
async def admin_page(request: Request, user: AdminPageUser, session: SessionDep) -> Response:
    return await _admin_page(request, user, session, request.query_params.get("tab", "sla"))


Apply = Callable[[dict[str, str]], Awaitable[str]]


async def _submit(
    request: Request, user: User, session: SessionDep, tab: str, form: str, apply: Apply
) -> Response:
    """Run one form through the admin service; commit and redirect with its message, or show the
    refusal on the form with what was typed (the transaction rolled back: nothing half-written)."""
    values = form_dict(await request.form())
    once = form_write(values, user, f"admin.{form}")
    try:
        await once.check(session)
        message = await apply(values)
        await once.commit(session, message)
    except Replayed as done:  # the same rendering of the form, sent again: done already
        message = done.body
    except (ValidationError, Problem) as exc:
        await session.rollback()
        await session.refresh(user)
        detail, status = (
            (plain_words(exc), 422) if isinstance(exc, ValidationError) else (exc.detail, exc.status)
        )
        if status == 404:
            raise
        values.pop("password", None)  # never echoed back into the page
        return await _admin_page(
            request, user, session, tab, errors={form: detail}, values={form: values}, status_code=status
        )
    if tab == "disconnection":  # emergencies and the profile can hold or release waiting disconnections
        await disconnection.tell_waiting(
            session=session, temporal=request.app.state.temporal, settings=request.app.state.settings,
            what=str(message).rstrip(".").lower(), by=user.username,
        )  # fmt: skip
    return redirect(f"/admin?tab={tab}", flash=message)


# ---- SLA ----------------------------------------------------------------------------------------


@router.post("/admin/sla")
async def save_sla(request: Request, user: AdminPageUser, session: SessionDep) -> Response:
    async def apply(values: dict[str, str]) -> str:
        fields = (
            "ack_minutes",
            "response_minutes",
            "resolution_minutes",
            "at_risk_fraction",
            "re_escalate_minutes",
        )
        measured = {f"{t}_business_hours": values.get(f"{t}_measure") == "business" for t in SLA_TARGETS}
        body = schemas.SlaSettingsUpdate.model_validate(
            {k: values.get(k) for k in fields}
            | {"pause_resolution_on_hold": _checked(values, "pause_resolution_on_hold")}
            | measured,
        )
        await service.replace_sla(session=session, settings=body, user=user)
        return "SLA targets saved; requests created from now on use them."

    return await _submit(request, user, session, "sla", "sla", apply)


SLA_TARGETS = ("ack", "response", "resolution")


@router.post("/admin/sla/apply")
async def apply_sla(request: Request, user: AdminPageUser, session: SessionDep) -> Response:
    """Give the open requests the policy in force (safe to repeat: a request on it changes nothing)."""
    applied = await service.apply_sla_to_open(
        session=session, temporal=request.app.state.temporal, settings=request.app.state.settings, user=user
    )
    message = (
        f"The SLA targets in force now apply to {applied.told} of {applied.open_requests} open requests."
    )
    if applied.not_reached:
        message += f" Temporal did not answer for {len(applied.not_reached)}: apply again to reach them."
    return redirect("/admin?tab=sla", flash=message)


# ---- business calendar --------------------------------------------------------------------------

WEEKDAYS = [(day, day.name.title()) for day in Weekday]


def _window_rows(stored: CalendarSettings, typed: dict[str, str]) -> dict[Weekday, list[tuple[str, str]]]:
    """Each weekday's windows as (start, end) texts — as typed when the form comes back refused, else
    as stored — and one blank pair to add a window with."""
    rows: dict[Weekday, list[tuple[str, str]]] = {}
    for day in Weekday:
        if typed:
            pairs = [
                (typed.get(f"hours-{day.value}-{i}-start", ""), typed.get(f"hours-{day.value}-{i}-end", ""))
                for i in range(MAX_WINDOWS_PER_DAY + 1)
            ]
            pairs = [pair for pair in pairs if any(pair)]
        else:
            pairs = [(f"{w.start:%H:%M}", f"{w.end:%H:%M}") for w in stored.hours.get(day, ())]
        rows[day] = [*pairs, ("", "")] if len(pairs) < MAX_WINDOWS_PER_DAY else pairs
    return rows


def _hours_from_form(values: dict[str, str]) -> dict[int, list[dict[str, str]]]:
    """The windows typed per weekday; a pair left blank is no window (how one is removed), a pair
    half filled is refused (422)."""
    hours: dict[int, list[dict[str, str]]] = {}
    for day in Weekday:
        for i in range(MAX_WINDOWS_PER_DAY + 1):
            start, end = (
                values.get(f"hours-{day.value}-{i}-start", ""),
                values.get(f"hours-{day.value}-{i}-end", ""),
            )
            if bool(start) != bool(end):
                raise Problem(
                    422, f"{day.name.title()}: give both times of a window, or clear both to remove it.",
                    type_="/problems/validation",
                )  # fmt: skip
            if start:
                hours.setdefault(day.value, []).append({"start": start, "end": end})
    return hours


def _preview(request: Request, calendar: CalendarSettings) -> tuple[str | None, str | None]:
    """The page's own check of the calendar: when N business hours from a local moment end."""
    start, hours = request.query_params.get("preview_start"), request.query_params.get("preview_hours")
    if not start or not hours:
        return None, None
    try:
        began = datetime.fromisoformat(start)
        counted = float(hours)
    except ValueError:
        return None, "Give a start date and time and a number of hours."
    if not 0 < counted <= 720:
        return None, "Give between 0 and 720 business hours."
    zone = ZoneInfo(calendar.time_zone)
    began = began.replace(tzinfo=zone) if began.tzinfo is None else began
    resolved = resolved_calendar(calendar, range(began.year, began.year + 3))
    try:
        due = add_business_time(resolved, began, timedelta(hours=counted)).astimezone(zone)
    except NoWorkingTime as exc:
        return None, str(exc)
    return f"{counted:g} business hours from {began:%a %d %b %Y %H:%M} end {due:%a %d %b %Y %H:%M %Z}.", None


async def _calendar_context(request: Request, session: SessionDep, typed: dict[str, str]) -> dict[str, Any]:
    calendar = await service.read_business_calendar(
        session=session, default_time_zone=request.app.state.settings.time_zone
    )
    stored = CalendarSettings.model_validate(calendar.model_dump(include=set(CalendarSettings.model_fields)))
    preview, preview_error = _preview(request, stored)
    country = typed.get("holidays_country", calendar.holidays_country or "")
    return {
        "calendar": calendar,
        "weekdays": WEEKDAYS,
        "window_rows": _window_rows(stored, typed),
        "zones": sorted(zoneinfo.available_timezones()),
        "countries": country_names(),
        "subdivisions": supported_countries().get(country.upper(), ()),
        "preview": preview,
        "preview_error": preview_error,
        "preview_values": dict(request.query_params),
    }


async def _stored_calendar(request: Request, session: SessionDep) -> CalendarSettings:
    return await load_calendar_settings(session, default_time_zone=request.app.state.settings.time_zone)


async def _save_calendar(session: SessionDep, user: User, calendar: CalendarSettings) -> None:
    await service.replace_business_calendar(
        session=session, calendar=calendar, user=user, default_time_zone=calendar.time_zone
    )


@router.post("/admin/business-calendar")
async def save_business_calendar(request: Request, user: AdminPageUser, session: SessionDep) -> Response:
    async def apply(values: dict[str, str]) -> str:
        stored = await _stored_calendar(request, session)
        calendar = CalendarSettings.model_validate(
            {
                "time_zone": values.get("time_zone", ""),
                "hours": _hours_from_form(values),
                "holidays_country": values.get("holidays_country") or None,
                "holidays_subdivision": values.get("holidays_subdivision") or None,
                "closures": [closure.model_dump() for closure in stored.closures],
            }
        )
        await _save_calendar(session, user, calendar)
        return "Business calendar saved; requests created from now on count business hours on it."

    return await _submit(request, user, session, "calendar", "calendar", apply)


@router.post("/admin/business-calendar/closures")
async def add_closure(request: Request, user: AdminPageUser, session: SessionDep) -> Response:
    async def apply(values: dict[str, str]) -> str:
        stored = await _stored_calendar(request, session)
        closure = Closure.model_validate({"date": values.get("date"), "label": values.get("label", "")})
        calendar = CalendarSettings.model_validate(
            stored.model_dump()
            | {"closures": [*(c.model_dump() for c in stored.closures), closure.model_dump()]}
        )
        await _save_calendar(session, user, calendar)
        return f"Closure on {closure.date:%d %b %Y} ({closure.label}) added."

    return await _submit(request, user, session, "calendar", "closure-new", apply)


@router.post("/admin/business-calendar/closures/{day}/delete")
async def remove_closure(request: Request, day: date, user: AdminPageUser, session: SessionDep) -> Response:
    async def apply(values: dict[str, str]) -> str:
        stored = await _stored_calendar(request, session)
        kept = [c.model_dump() for c in stored.closures if c.date != day]
        await _save_calendar(
            session, user, CalendarSettings.model_validate(stored.model_dump() | {"closures": kept})
        )
        return f"Closure on {day:%d %b %Y} removed."

    return await _submit(request, user, session, "calendar", f"closure-{day.isoformat()}", apply)


# ---- time slots ---------------------------------------------------------------------------------

SLOT_FIELDS = ("label", "start_time", "end_time", "capacity_per_day")


@router.post("/admin/time-slots")
async def add_time_slot(request: Request, user: AdminPageUser, session: SessionDep) -> Response:
    async def apply(values: dict[str, str]) -> str:
        body = schemas.TimeSlotCreate.model_validate({k: values.get(k) for k in SLOT_FIELDS})
        slot = await service.create_time_slot(session=session, slot=body)
        return f"Time slot {slot.label} added."

    return await _submit(request, user, session, "slots", "slot-new", apply)


@router.post("/admin/time-slots/{slot_id}")
async def change_time_slot(
    request: Request, slot_id: int, user: AdminPageUser, session: SessionDep
) -> Response:
    async def apply(values: dict[str, str]) -> str:
        sent = {k: values[k] for k in SLOT_FIELDS if values.get(k)}
        body = schemas.TimeSlotUpdate.model_validate(sent | {"active": _checked(values, "active")})
        slot = await service.update_time_slot(session=session, slot_id=slot_id, changes=body)
        return f"Time slot {slot.label} saved."

    return await _submit(request, user, session, "slots", f"slot-{slot_id}", apply)


@router.post("/admin/time-slots/{slot_id}/delete")
async def delete_time_slot(
    request: Request, slot_id: int, user: AdminPageUser, session: SessionDep
) -> Response:
    async def apply(values: dict[str, str]) -> str:
        await service.delete_time_slot(session=session, slot_id=slot_id)
        return "Time slot deleted."

    return await _submit(request, user, session, "slots", f"slot-{slot_id}", apply)


# ---- plans --------------------------------------------------------------------------------------


def _services(values: dict[str, str]) -> list[dict[str, Any]]:
    """One service per ticked utility; metered unless its 'unmetered' box is ticked."""
    return [
        {"utility": u.value, "metered": not _checked(values, f"unmetered-{u.value}")}
        for u in UtilityType
        if _checked(values, f"service-{u.value}")
    ]


def _features(values: dict[str, str]) -> list[str]:
    return [line.strip() for line in values.get("features", "").splitlines() if line.strip()]


@router.post("/admin/plans")
async def add_plan(request: Request, user: AdminPageUser, session: SessionDep) -> Response:
    async def apply(values: dict[str, str]) -> str:
        fields = ("name", "short_name", "category", "sub_category", "monthly_fee")
        body = schemas.PlanCreate.model_validate(
            {k: values.get(k) for k in fields}
            | {"services": _services(values), "features": _features(values)},
        )
        plan = await service.create_plan(session=session, plan=body)
        return f"Plan {plan.short_name} added."

    return await _submit(request, user, session, "plans", "plan-new", apply)


@router.post("/admin/plans/{plan_id}")
async def change_plan(request: Request, plan_id: int, user: AdminPageUser, session: SessionDep) -> Response:
    async def apply(values: dict[str, str]) -> str:
        sent = {k: values[k] for k in ("name", "monthly_fee") if values.get(k)}
        body = schemas.PlanUpdate.model_validate(sent | {"active": _checked(values, "active")})
        plan = await service.update_plan(session=session, plan_id=plan_id, changes=body)
        return f"Plan {plan.short_name} saved{'' if plan.active else '; it is no longer offered'}."

    return await _submit(request, user, session, "plans", f"plan-{plan_id}", apply)


# ---- users --------------------------------------------------------------------------------------


@router.post("/admin/users")
async def add_user(
    request: Request, user: AdminPageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    async def apply(values: dict[str, str]) -> str:
        fields = ("username", "full_name", "email", "role", "password")
        account = await service.create_user(
            session=session,
            account=schemas.StaffUserCreate.model_validate({k: values.get(k) for k in fields}),
            password_policy=settings.password_policy,
        )
        return f"Account {account.username} added."

    return await _submit(request, user, session, "users", "user-new", apply)


@router.post("/admin/users/{user_id}")
async def change_user(
    request: Request, user_id: int, user: AdminPageUser, session: SessionDep, settings: SettingsDep
) -> Response:
    async def apply(values: dict[str, str]) -> str:
        sent = {k: values[k] for k in ("full_name", "email", "role", "password") if values.get(k)}
        body = schemas.StaffUserUpdate.model_validate(sent | {"is_active": _checked(values, "is_active")})
        account = await service.update_user(
            session=session,
            user_id=user_id,
            changes=body,
            admin=user,
            password_policy=settings.password_policy,
        )
        return f"Account {account.username} saved{'' if account.is_active else '; it is signed out and cannot sign in'}."

    return await _submit(request, user, session, "users", f"user-{user_id}", apply)


# ---- disconnection rules: the jurisdiction profile and weather emergencies ---------------------


@router.post("/admin/disconnection-profile/adopt-preset")
async def adopt_disconnection_preset(request: Request, user: AdminPageUser, session: SessionDep) -> Response:
    async def apply(values: dict[str, str]) -> str:
        choice = disconnection_schemas.PresetChoice.model_validate({"key": values.get("key", "")})
        saved = await disconnection.save_profile(session, disconnection.preset(choice.key), by=user.username)
        return f"{saved.profile.name} is now the jurisdiction profile; disconnections are checked against it."

    return await _submit(request, user, session, "disconnection", "profile", apply)


@router.post("/admin/weather-emergencies")
async def declare_weather_emergency(request: Request, user: AdminPageUser, session: SessionDep) -> Response:
    async def apply(values: dict[str, str]) -> str:
        profile = await stored_profile(session)
        body = disconnection_schemas.WeatherEmergencyCreate.model_validate(
            {
                "hazard": values.get("hazard"),
                "ends_at": end_of_day(profile, values.get("ends_on")),
                "service_area": values.get("service_area") or None,
                "note": values.get("note", ""),
            }
        )
        declared = await disconnection.declare_emergency(session=session, body=body, by=user.username)
        where = f" in {declared.service_area}" if declared.service_area else ""
        return f"{declared.hazard.value.capitalize()} emergency declared{where}: no non-payment disconnection there until it ends."

    return await _submit(request, user, session, "disconnection", "emergency", apply)


@router.post("/admin/weather-emergencies/{emergency_id}/end")
async def end_weather_emergency(
    request: Request, emergency_id: int, user: AdminPageUser, session: SessionDep
) -> Response:
    async def apply(values: dict[str, str]) -> str:
        await disconnection.end_emergency(session=session, emergency_id=emergency_id, by=user.username)
        return "Weather emergency ended."

    return await _submit(request, user, session, "disconnection", f"emergency-{emergency_id}", apply)
