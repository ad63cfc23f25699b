"""Administration pages (admins only): SLA targets, time slots, plans, user accounts and the
disconnection rules (the jurisdiction profile, weather emergencies).

Each form posts here and goes through the same admin service and pydantic models as the JSON API,
so the rules (targets that never shrink, slots that never overlap, one admin who cannot lock
themselves out) hold the same way. A refusal shows the tab again with the sentence on that form
and everything typed kept; nothing is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

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
from db.disconnection import load_profile as stored_profile
from db.models import User
from domain.consumers.types import SUB_CATEGORIES, Category, UtilityType
from domain.disconnection.profile import PRESETS
from domain.disconnection.protections import WeatherHazard
from domain.users import Role

router = APIRouter(route_class=UiRoute, include_in_schema=False)

TABS = [
    ("sla", "SLA targets"),
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
    elif tab == "slots":
        context["slots"] = (await service.list_time_slots(session=session, size=LIST_SIZE)).items
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
        body = schemas.SlaSettingsUpdate.model_validate(
            {k: values.get(k) for k in fields}
            | {"pause_resolution_on_hold": _checked(values, "pause_resolution_on_hold")},
        )
        await service.replace_sla(session=session, settings=body, user=user)
        return "SLA targets saved; requests created from now on use them."

    return await _submit(request, user, session, "sla", "sla", apply)


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
