"""Admin endpoints: SLA targets, the business calendar, time slots, plans, users. Admins only; each write commits once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import AwareDatetime

from api.admin import service
from api.admin.schemas import (
    BusinessCalendarRead,
    BusinessTimePreview,
    PlanCreate,
    PlanUpdate,
    SlaApplied,
    SlaSettingsRead,
    SlaSettingsUpdate,
    StaffUserCreate,
    StaffUserRead,
    StaffUserUpdate,
    TimeSlotCreate,
    TimeSlotRead,
    TimeSlotUpdate,
)
from api.auth.deps import AdminUser
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.idempotency import IdempotencyKey, IdempotentWrite
from api.pagination import Page, PageNumber, PageSize
from api.params import DB_INT_MAX
from api.reference.schemas import PlanRead
from domain.business_calendar import CalendarSettings
from domain.consumers.types import Category
from domain.users import Role

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

ADMIN_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (problem+json)"},
    403: {"description": "Signed in without the admin role (problem+json)"},
    422: {"description": "Invalid input (problem+json with field errors)"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such id (problem+json)"}}


def _conflict(description: str) -> dict[int | str, dict[str, Any]]:
    return {409: {"description": f"{description} (problem+json)"}}


Search = Annotated[str | None, Query(max_length=120, description="Partial, case-insensitive match")]
SlotId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
PlanId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
UserId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]


# ---- SLA ----------------------------------------------------------------------------------------


@router.get(
    "/sla",
    summary="The SLA targets in force",
    description="Acknowledgement, response and resolution targets, the at-risk threshold and the hold "
    "and re-escalation policy; `updated_by` is null while the built-in defaults apply.",
    responses=ADMIN_ONLY,
)
async def read_sla(user: AdminUser, session: SessionDep) -> SlaSettingsRead:
    return await service.read_sla(session=session)


@router.put(
    "/sla",
    summary="Replace the SLA targets",
    description="Stores the whole policy and records who changed it. Requests created afterwards use "
    "the new targets; open requests keep the ones they started with until it is applied to them "
    "(`POST /sla/apply-to-open`).",
    responses=ADMIN_ONLY,
)
async def replace_sla(
    body: SlaSettingsUpdate, user: AdminUser, session: SessionDep, key: IdempotencyKey = None
) -> SlaSettingsRead:
    once = IdempotentWrite.of(key, user_id=user.id, operation="admin.replace_sla", payload=body)
    await once.check(session)
    result = await service.replace_sla(session=session, settings=body, user=user)
    await once.commit(session, result)
    return result


@router.post(
    "/sla/apply-to-open",
    summary="Apply the SLA policy in force to the open requests",
    description="Every open request takes the targets, per-target mode and business calendar in force. "
    "Each recomputes its unmet due times from its creation and every pause so far (nothing already "
    "paused is lost; met targets stay met); a reconnection's regulated deadline keeps its resolution "
    "target. Safe to repeat: a request already on this policy changes nothing. `not_reached` lists the "
    "requests Temporal did not answer for (apply again); 503 when it answered for none.",
    responses={
        **ADMIN_ONLY,
        503: {"description": "Temporal answered for no request; retry after `Retry-After` (problem+json)"},
    },
)
async def apply_sla_to_open(
    user: AdminUser, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> SlaApplied:
    return await service.apply_sla_to_open(session=session, temporal=temporal, settings=settings, user=user)


# ---- business calendar --------------------------------------------------------------------------


@router.get(
    "/business-calendar",
    summary="The business calendar in force",
    description="The time zone, the working windows per weekday (0 = Monday), the country / region whose "
    "public holidays close the office and the closures added by hand; `closed_this_year` lists the days "
    "closed this year. SLA targets measured in business hours count only working time on it. "
    "`updated_by` is null while the defaults apply (Monday to Friday 08:00–17:00 in CONNECTDESK_TIME_ZONE).",
    responses=ADMIN_ONLY,
)
async def read_business_calendar(
    user: AdminUser, session: SessionDep, settings: SettingsDep
) -> BusinessCalendarRead:
    return await service.read_business_calendar(session=session, default_time_zone=settings.time_zone)


@router.put(
    "/business-calendar",
    summary="Replace the business calendar",
    description="Stores the whole calendar and records who changed it; the same body again changes "
    "nothing. Refused (422, naming the field): an unknown time zone, overlapping windows on a day, a week "
    "without a working window, a country or subdivision the `holidays` library does not know, two "
    "closures on one date. Requests created afterwards count business hours on it; open requests keep "
    "the calendar they were created with.",
    responses=ADMIN_ONLY,
)
async def replace_business_calendar(
    body: CalendarSettings,
    user: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> BusinessCalendarRead:
    once = IdempotentWrite.of(key, user_id=user.id, operation="admin.replace_business_calendar", payload=body)
    await once.check(session)
    result = await service.replace_business_calendar(
        session=session, calendar=body, user=user, default_time_zone=settings.time_zone
    )
    await once.commit(session, result)
    return result


@router.get(
    "/business-calendar/preview",
    summary="When a number of business hours ends",
    description="The moment `hours` of business time after `start` end on the calendar in force, in its "
    "time zone (ISO 8601 with offset): check the calendar before relying on it.",
    responses=ADMIN_ONLY,
)
async def preview_business_time(
    user: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[
        AwareDatetime, Query(description="ISO 8601 with an offset, e.g. 2026-12-04T15:30:00-05:00")
    ],
    hours: Annotated[float, Query(gt=0, le=720, description="Business hours to count (at most 720)")],
) -> BusinessTimePreview:
    return await service.preview_business_time(
        session=session, start=start, hours=hours, default_time_zone=settings.time_zone
    )


# ---- time slots ---------------------------------------------------------------------------------


@router.get(
    "/time-slots",
    summary="List time slots",
    description="Every time slot, active or not, by start time.",
    responses=ADMIN_ONLY,
)
async def list_time_slots(
    user: AdminUser,
    session: SessionDep,
    active: Annotated[bool | None, Query(description="Only active (true) or inactive (false) slots")] = None,
    page: PageNumber = 1,
    size: PageSize = 50,
) -> Page[TimeSlotRead]:
    return await service.list_time_slots(session=session, active=active, page=page, size=size)


@router.post(
    "/time-slots",
    status_code=status.HTTP_201_CREATED,
    summary="Add a time slot",
    description="A visit window with a daily capacity, its times wall-clock times in the utility's time zone "
    "(CONNECTDESK_TIME_ZONE). It must end after it starts (422) and must not "
    "overlap an active slot or repeat an existing window (409).",
    responses={**ADMIN_ONLY, **_conflict("Overlaps an active slot or repeats a window")},
)
async def create_time_slot(
    body: TimeSlotCreate, user: AdminUser, session: SessionDep, key: IdempotencyKey = None
) -> TimeSlotRead:
    once = IdempotentWrite.of(key, user_id=user.id, operation="admin.create_time_slot", payload=body)
    await once.check(session)
    result = await service.create_time_slot(session=session, slot=body)
    await once.commit(session, result, status_code=201)
    return result


@router.patch(
    "/time-slots/{slot_id}",
    summary="Change a time slot",
    description="Send only the fields to change. The slot must still end after it starts (422) and not "
    "overlap another active slot (409). A new capacity applies to today and later days too, never "
    "below the seats a day has already given out.",
    responses={**ADMIN_ONLY, **NOT_FOUND, **_conflict("Overlaps an active slot or repeats a window")},
)
async def update_time_slot(
    slot_id: SlotId, body: TimeSlotUpdate, user: AdminUser, session: SessionDep, key: IdempotencyKey = None
) -> TimeSlotRead:
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"admin.update_time_slot:{slot_id}", payload=body
    )
    await once.check(session)
    result = await service.update_time_slot(session=session, slot_id=slot_id, changes=body)
    await once.commit(session, result)
    return result


@router.delete(
    "/time-slots/{slot_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a time slot nobody has booked",
    description="A slot with bookings (or requests scheduled in it) is refused with 409: deactivate it instead.",
    responses={**ADMIN_ONLY, **NOT_FOUND, **_conflict("The slot has bookings")},
)
async def delete_time_slot(
    slot_id: SlotId, user: AdminUser, session: SessionDep, key: IdempotencyKey = None
) -> Response:
    once = IdempotentWrite.of(key, user_id=user.id, operation=f"admin.delete_time_slot:{slot_id}")
    await once.check(session)
    await service.delete_time_slot(session=session, slot_id=slot_id)
    await once.commit(session, status_code=status.HTTP_204_NO_CONTENT)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- plans --------------------------------------------------------------------------------------


@router.get(
    "/plans",
    summary="List plans",
    description="Every plan, active or not, by category, sub-category and name, with optional filters.",
    responses=ADMIN_ONLY,
)
async def list_plans(
    user: AdminUser,
    session: SessionDep,
    search: Search = None,
    category: Category | None = None,
    sub_category: Annotated[str | None, Query(max_length=40)] = None,
    active: bool | None = None,
    page: PageNumber = 1,
    size: PageSize = 50,
) -> Page[PlanRead]:
    return await service.list_plans(
        session=session,
        search=search,
        category=category,
        sub_category=sub_category,
        active=active,
        page=page,
        size=size,
    )


@router.post(
    "/plans",
    status_code=status.HTTP_201_CREATED,
    summary="Add a plan",
    description="The sub-category must be one of the category's (422); the short name must be unique (409).",
    responses={**ADMIN_ONLY, **_conflict("Short name already in use")},
)
async def create_plan(
    body: PlanCreate, user: AdminUser, session: SessionDep, key: IdempotencyKey = None
) -> PlanRead:
    once = IdempotentWrite.of(key, user_id=user.id, operation="admin.create_plan", payload=body)
    await once.check(session)
    result = await service.create_plan(session=session, plan=body)
    await once.commit(session, result, status_code=201)
    return result


@router.patch(
    "/plans/{plan_id}",
    summary="Change a plan",
    description="Send only the fields to change; `services` replaces the plan's whole list. "
    "Deactivate a plan (`active: false`) to stop offering it.",
    responses={**ADMIN_ONLY, **NOT_FOUND, **_conflict("Short name already in use")},
)
async def update_plan(
    plan_id: PlanId, body: PlanUpdate, user: AdminUser, session: SessionDep, key: IdempotencyKey = None
) -> PlanRead:
    once = IdempotentWrite.of(key, user_id=user.id, operation=f"admin.update_plan:{plan_id}", payload=body)
    await once.check(session)
    result = await service.update_plan(session=session, plan_id=plan_id, changes=body)
    await once.commit(session, result)
    return result


# ---- users --------------------------------------------------------------------------------------


@router.get(
    "/users",
    summary="List user accounts",
    description="Accounts by username; `search` matches username, full name or e-mail.",
    responses=ADMIN_ONLY,
)
async def list_users(
    user: AdminUser,
    session: SessionDep,
    search: Search = None,
    role: Role | None = None,
    is_active: bool | None = None,
    page: PageNumber = 1,
    size: PageSize = 50,
) -> Page[StaffUserRead]:
    return await service.list_users(
        session=session, search=search, role=role, is_active=is_active, page=page, size=size
    )


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Add a user account",
    description="The password must follow the password policy (12 characters or more by default, not the "
    "username, not a commonly breached password: 422 naming `password`); it is stored as an Argon2 hash "
    "and never returned; "
    "the username must be unique, regardless of case (409).",
    responses={**ADMIN_ONLY, **_conflict("Username already taken")},
)
async def create_user(
    body: StaffUserCreate,
    user: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> StaffUserRead:
    once = IdempotentWrite.of(key, user_id=user.id, operation="admin.create_user", payload=body)
    await once.check(session)
    result = await service.create_user(
        session=session, account=body, password_policy=settings.password_policy
    )
    await once.commit(session, result, status_code=201)
    return result


@router.patch(
    "/users/{user_id}",
    summary="Change a user account",
    description="Send only the fields to change. An admin cannot deactivate or demote themselves (409). "
    "Deactivating an account, or changing its password, role or username, ends every token and session "
    "it holds at once. A new password must follow the password policy (422 naming `password`).",
    responses={
        **ADMIN_ONLY,
        **NOT_FOUND,
        **_conflict("Username taken, or an admin changing their own access"),
    },
)
async def update_user(
    user_id: UserId,
    body: StaffUserUpdate,
    user: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    key: IdempotencyKey = None,
) -> StaffUserRead:
    once = IdempotentWrite.of(key, user_id=user.id, operation=f"admin.update_user:{user_id}", payload=body)
    await once.check(session)
    result = await service.update_user(
        session=session, user_id=user_id, changes=body, admin=user, password_policy=settings.password_policy
    )
    await once.commit(session, result)
    return result
