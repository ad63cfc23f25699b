"""Admin configuration: SLA targets, the business calendar, time slots, plans and user accounts.

Every function takes keyword-only arguments and a session, flushes but never commits:
the router commits once, after the whole operation succeeded.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.schemas import (
    BusinessCalendarRead,
    BusinessTimePreview,
    PlanCreate,
    PlanServiceIn,
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
    sub_category_error,
)
from api.auth.service import password_refusal, revoke_tokens
from api.errors import DependencyUnavailable, Problem
from api.pagination import Page, paginate
from api.reference.schemas import PlanRead
from api.temporal import TemporalGateway
from db.business_calendar import calendar_changed, capture_sla, load_calendar_settings, save_calendar_settings
from db.models import (
    Plan,
    PlanService,
    ServiceRequest,
    SlotBooking,
    SlotDay,
    SystemSetting,
    TimeSlot,
    User,
    UtilityService,
)
from db.models.request import open_condition
from db.system_settings import SLA_KEYS, load_sla_settings, save_sla_settings
from domain.business_calendar import CalendarSettings, closed_days, resolved_calendar
from domain.business_time import NoWorkingTime, add_business_time
from domain.consumers.types import Category, UtilityType
from domain.passwords import PasswordPolicy, hash_password
from domain.users import Role
from settings import Settings
from workflows.schemas import SLA_POLICY_CHANGED, SlaPolicyChanged, SlaSettings

NOT_FOUND = "/problems/not-found"
CONFLICT = "/problems/conflict"
VALIDATION = "/problems/validation"


def _not_found(what: str, ident: int) -> Problem:
    return Problem(404, f"{what} {ident} does not exist.", type_=NOT_FOUND)


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        f"Invalid input — {field}: {message}",
        type_=VALIDATION,
        errors=[{"field": field, "message": message}],
    )


async def _flush(session: AsyncSession, conflict: str, **extra: Any) -> None:
    """Flush; a unique constraint another writer won in the meantime becomes a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Problem(409, conflict, type_=CONFLICT, **extra) from exc


# ---- SLA ----------------------------------------------------------------------------------------


async def read_sla(*, session: AsyncSession) -> SlaSettingsRead:
    """The SLA policy in force (defaults where nothing is stored) and its last change."""
    settings = await load_sla_settings(session)
    last = (
        await session.execute(
            select(SystemSetting.updated_by, SystemSetting.updated_at)
            .where(SystemSetting.key.in_(SLA_KEYS))
            .order_by(SystemSetting.updated_at.desc())
            .limit(1)
        )
    ).first()
    return SlaSettingsRead(
        **settings.model_dump(),
        updated_by=last.updated_by if last else None,
        updated_at=last.updated_at if last else None,
    )


async def replace_sla(*, session: AsyncSession, settings: SlaSettingsUpdate, user: User) -> SlaSettingsRead:
    """Store the whole SLA policy, recording ``user`` as its author. Requests already open keep theirs."""
    await save_sla_settings(session, SlaSettings(**settings.model_dump()), by=user.username)
    return await read_sla(session=session)


async def apply_sla_to_open(
    *, session: AsyncSession, temporal: TemporalGateway, settings: Settings, user: User
) -> SlaApplied:
    """Give every open request the SLA policy in force (targets, per-target mode, the calendar).

    Each workflow recomputes its unmet clocks from its creation and every pause so far, so no paused
    second is lost; a regulated reconnection deadline keeps its resolution target. Safe to repeat:
    a workflow told the policy it already has changes nothing. 503 when no workflow could be told.
    """
    rows = (
        await session.execute(
            select(ServiceRequest.request_id, ServiceRequest.created_at, ServiceRequest.resolution_basis)
            .where(open_condition())
            .order_by(ServiceRequest.id)
        )
    ).all()
    if not rows:
        return SlaApplied(open_requests=0, told=0, not_reached=[])
    sla = await capture_sla(
        session, at=min(r.created_at for r in rows), latest=datetime.now(UTC),
        default_time_zone=settings.time_zone,
    )  # fmt: skip
    missed: list[str] = []
    for keep_resolution in (False, True):
        ids = [
            settings.workflow_id(r.request_id)
            for r in rows
            if (r.resolution_basis is not None) is keep_resolution
        ]
        change = SlaPolicyChanged(settings=sla, by=user.username, keep_resolution=keep_resolution)
        missed += await temporal.signal_each(ids, SLA_POLICY_CHANGED, change, what="the SLA policy changed")
    if len(missed) == len(rows):
        raise DependencyUnavailable(
            "temporal", "Temporal did not answer; no request was changed. Try again shortly."
        )
    request_of = {settings.workflow_id(r.request_id): r.request_id for r in rows}
    return SlaApplied(
        open_requests=len(rows), told=len(rows) - len(missed), not_reached=[request_of[w] for w in missed]
    )


# ---- business calendar --------------------------------------------------------------------------


async def read_business_calendar(
    *, session: AsyncSession, default_time_zone: str, today: date | None = None
) -> BusinessCalendarRead:
    """The business calendar in force (office hours in ``default_time_zone`` until an admin saves
    one), the days it is closed this year, and its last change."""
    settings = await load_calendar_settings(session, default_time_zone=default_time_zone)
    year = (today or datetime.now(ZoneInfo(settings.time_zone)).date()).year
    by, at = await calendar_changed(session)
    return BusinessCalendarRead(
        **settings.model_dump(), closed_this_year=closed_days(settings, year), updated_by=by, updated_at=at
    )


async def replace_business_calendar(
    *, session: AsyncSession, calendar: CalendarSettings, user: User, default_time_zone: str
) -> BusinessCalendarRead:
    """Store the whole business calendar, recording ``user`` as its author (the same calendar again
    changes nothing). Requests already open keep the calendar they were created with."""
    await save_calendar_settings(session, calendar, by=user.username)
    return await read_business_calendar(session=session, default_time_zone=default_time_zone)


async def preview_business_time(
    *, session: AsyncSession, start: datetime, hours: float, default_time_zone: str
) -> BusinessTimePreview:
    """When ``hours`` of business time after ``start`` end on the calendar in force (holidays of the
    start's year and the next two included); 422 when the calendar leaves no working time to count in."""
    settings = await load_calendar_settings(session, default_time_zone=default_time_zone)
    local = start.astimezone(ZoneInfo(settings.time_zone))
    calendar = resolved_calendar(settings, range(local.year, local.year + 3))
    try:
        due = add_business_time(calendar, start, timedelta(hours=hours))
    except NoWorkingTime as exc:
        raise _invalid("query.start", str(exc)) from None
    return BusinessTimePreview(
        start=start, hours=hours, due_at=due.astimezone(calendar.zone), time_zone=settings.time_zone
    )


# ---- time slots ---------------------------------------------------------------------------------


def _window(start: time, end: time) -> str:
    return f"{start:%H:%M}–{end:%H:%M}"


async def list_time_slots(
    *, session: AsyncSession, active: bool | None = None, page: int = 1, size: int = 50
) -> Page[TimeSlotRead]:
    """Time slots by start time, optionally only active or inactive ones."""
    stmt = select(TimeSlot)
    if active is not None:
        stmt = stmt.where(TimeSlot.active.is_(active))
    stmt = stmt.order_by(TimeSlot.start_time, TimeSlot.id)
    return await paginate(session, stmt, page=page, size=size, item=TimeSlotRead)


async def _get_time_slot(session: AsyncSession, slot_id: int) -> TimeSlot:
    slot = await session.get(TimeSlot, slot_id)
    if slot is None:
        raise _not_found("Time slot", slot_id)
    return slot


async def _refuse_clash(
    session: AsyncSession, *, start: time, end: time, active: bool, slot_id: int | None = None
) -> None:
    """409 when the window overlaps another active slot (if this one is active) or repeats any slot's window."""
    others = select(TimeSlot).where(TimeSlot.id != slot_id) if slot_id is not None else select(TimeSlot)
    same = await session.scalar(others.where(TimeSlot.start_time == start, TimeSlot.end_time == end))
    if same is not None:
        hint = "" if same.active else "; it is inactive, so reactivate it instead"
        raise Problem(
            409,
            f"Time slot {same.id} ('{same.label}') already covers {_window(start, end)}{hint}.",
            type_=CONFLICT,
            conflicting_slot_id=same.id,
        )
    if not active:
        return
    overlap = await session.scalar(
        others.where(
            TimeSlot.active.is_(True), TimeSlot.start_time < end, TimeSlot.end_time > start
        ).order_by(TimeSlot.start_time)
    )
    if overlap is not None:
        raise Problem(
            409,
            f"{_window(start, end)} overlaps the active time slot {overlap.id} "
            f"('{overlap.label}', {_window(overlap.start_time, overlap.end_time)}).",
            type_=CONFLICT,
            conflicting_slot_id=overlap.id,
        )


async def create_time_slot(*, session: AsyncSession, slot: TimeSlotCreate) -> TimeSlotRead:
    """Add a time slot; refuses one that overlaps an active slot or repeats a window (409)."""
    await _refuse_clash(session, start=slot.start_time, end=slot.end_time, active=slot.active)
    row = TimeSlot(**slot.model_dump())
    session.add(row)
    await _flush(session, f"A time slot already covers {_window(slot.start_time, slot.end_time)}.")
    return TimeSlotRead.model_validate(row)


async def update_time_slot(
    *, session: AsyncSession, slot_id: int, changes: TimeSlotUpdate, today: date | None = None
) -> TimeSlotRead:
    """Change a time slot. The result must end after it starts (422) and not clash (409).

    A new capacity also applies to days from ``today`` on that already have bookings, never
    below the seats those days have already given out.
    """
    slot = await _get_time_slot(session, slot_id)
    values = changes.changes()
    start = values.get("start_time", slot.start_time)
    end = values.get("end_time", slot.end_time)
    if end <= start:
        field = "end_time" if "end_time" in values else "start_time"
        raise _invalid(field, f"the slot must end after it starts ({_window(start, end)})")
    active = values.get("active", slot.active)
    if {"start_time", "end_time", "active"} & values.keys():
        await _refuse_clash(session, start=start, end=end, active=active, slot_id=slot.id)
    for name, value in values.items():
        setattr(slot, name, value)
    if "capacity_per_day" in values:
        capacity = values["capacity_per_day"]
        await session.execute(
            update(SlotDay)
            .where(SlotDay.slot_id == slot.id, SlotDay.day >= (today or datetime.now(UTC).date()))
            .values(capacity=case((SlotDay.booked > capacity, SlotDay.booked), else_=capacity))
        )
    await _flush(session, f"A time slot already covers {_window(start, end)}.")
    return TimeSlotRead.model_validate(slot)


async def delete_time_slot(*, session: AsyncSession, slot_id: int) -> None:
    """Delete a time slot nobody has booked; refuses one with bookings or requests (409: deactivate it)."""
    slot = await _get_time_slot(session, slot_id)
    bookings = await session.scalar(select(func.count()).where(SlotBooking.slot_id == slot_id)) or 0
    # A request keeps its slot after it is closed and its seat given back: it still needs the row.
    requests = await session.scalar(select(func.count()).where(ServiceRequest.slot_id == slot_id)) or 0
    if bookings or requests:
        held = f"{bookings} booking(s)" if bookings else f"{requests} request(s) scheduled in it"
        raise Problem(
            409,
            f"Time slot {slot_id} ('{slot.label}') has {held}; "
            "deactivate it instead (PATCH with active=false) so nothing already scheduled is lost.",
            type_=CONFLICT,
            bookings=bookings,
            requests=requests,
        )
    await session.execute(delete(SlotDay).where(SlotDay.slot_id == slot_id))
    await session.delete(slot)
    await session.flush()


# ---- plans --------------------------------------------------------------------------------------


async def list_plans(
    *,
    session: AsyncSession,
    search: str | None = None,
    category: Category | None = None,
    sub_category: str | None = None,
    active: bool | None = None,
    page: int = 1,
    size: int = 50,
) -> Page[PlanRead]:
    """Every plan (active or not), filtered, by category, sub-category and name."""
    stmt = select(Plan)
    if search and search.strip():
        term = search.strip()
        stmt = stmt.where(
            or_(Plan.name.icontains(term, autoescape=True), Plan.short_name.icontains(term, autoescape=True))
        )
    if category is not None:
        stmt = stmt.where(Plan.category == category)
    if sub_category is not None:
        stmt = stmt.where(Plan.sub_category == sub_category)
    if active is not None:
        stmt = stmt.where(Plan.active.is_(active))
    stmt = stmt.order_by(Plan.category, Plan.sub_category, Plan.name, Plan.id)
    return await paginate(session, stmt, page=page, size=size, item=PlanRead)


async def _refuse_duplicate_short_name(
    session: AsyncSession, short_name: str, plan_id: int | None = None
) -> None:
    stmt = select(Plan).where(func.lower(Plan.short_name) == short_name.lower())
    if plan_id is not None:
        stmt = stmt.where(Plan.id != plan_id)
    other = await session.scalar(stmt)
    if other is not None:
        raise Problem(
            409,
            f"Short name '{short_name}' is already used by plan {other.id} ('{other.name}').",
            type_=CONFLICT,
            conflicting_plan_id=other.id,
        )


async def _refuse_unconfigured_utilities(session: AsyncSession, services: list[PlanServiceIn]) -> None:
    configured = set(await session.scalars(select(UtilityService.code)))
    missing = sorted(s.utility.value for s in services if s.utility not in configured)
    if missing:
        raise _invalid("services", f"utility service(s) not configured: {', '.join(missing)}")


def _set_services(plan: Plan, services: list[PlanServiceIn]) -> None:
    """Make ``plan.services`` match ``services``, updating rows in place (the plan/utility pair is unique)."""
    wanted: dict[UtilityType, bool] = {s.utility: s.metered for s in services}
    for row in list(plan.services):
        if row.utility in wanted:
            row.metered = wanted.pop(row.utility)
        else:
            plan.services.remove(row)
    plan.services.extend(PlanService(utility=utility, metered=metered) for utility, metered in wanted.items())


async def _get_plan(session: AsyncSession, plan_id: int) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise _not_found("Plan", plan_id)
    return plan


async def create_plan(*, session: AsyncSession, plan: PlanCreate) -> PlanRead:
    """Add a plan; refuses a short name already in use (409) or an unconfigured utility (422)."""
    await _refuse_duplicate_short_name(session, plan.short_name)
    await _refuse_unconfigured_utilities(session, plan.services)
    row = Plan(**plan.model_dump(exclude={"services"}), services=[])
    _set_services(row, plan.services)
    session.add(row)
    await _flush(session, f"Short name '{plan.short_name}' is already in use.")
    return PlanRead.model_validate(row)


async def update_plan(*, session: AsyncSession, plan_id: int, changes: PlanUpdate) -> PlanRead:
    """Change a plan. The sub-category must belong to the (new) category (422); short names stay unique (409)."""
    plan = await _get_plan(session, plan_id)
    values = changes.changes()
    if {"category", "sub_category"} & values.keys():
        category = values.get("category", plan.category)
        error = sub_category_error(category, values.get("sub_category", plan.sub_category))
        if error:
            raise _invalid("sub_category", error)
    if "short_name" in values:
        await _refuse_duplicate_short_name(session, values["short_name"], plan.id)
    if changes.services is not None:
        await _refuse_unconfigured_utilities(session, changes.services)
        _set_services(plan, changes.services)
    for name, value in values.items():
        if name != "services":
            setattr(plan, name, value)
    await _flush(session, f"Short name '{plan.short_name}' is already in use.")
    return PlanRead.model_validate(plan)


# ---- users --------------------------------------------------------------------------------------


async def list_users(
    *,
    session: AsyncSession,
    search: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
    page: int = 1,
    size: int = 50,
) -> Page[StaffUserRead]:
    """Accounts by username, optionally matching a username, name or e-mail, a role, or active state."""
    stmt = select(User)
    if search and search.strip():
        term = search.strip()
        stmt = stmt.where(
            or_(
                User.username.icontains(term, autoescape=True),
                User.full_name.icontains(term, autoescape=True),
                User.email.icontains(term, autoescape=True),
            )
        )
    if role is not None:
        stmt = stmt.where(User.role == role)
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    return await paginate(session, stmt.order_by(User.username), page=page, size=size, item=StaffUserRead)


async def _refuse_duplicate_username(
    session: AsyncSession, username: str, user_id: int | None = None
) -> None:
    # Case-insensitive, so 'Alice' and 'alice' are never two people.
    stmt = select(User).where(func.lower(User.username) == username.lower())
    if user_id is not None:
        stmt = stmt.where(User.id != user_id)
    other = await session.scalar(stmt)
    if other is not None:
        raise Problem(
            409, f"Username '{username}' is already taken.", type_=CONFLICT, conflicting_user_id=other.id
        )


def _refuse_weak_password(policy: PasswordPolicy, password: str, username: str) -> None:
    """422 naming ``password`` when the password policy refuses it (too short, the username, breached)."""
    refusal = password_refusal(policy, password, username=username)
    if refusal is not None:
        raise refusal


async def create_user(
    *, session: AsyncSession, account: StaffUserCreate, password_policy: PasswordPolicy
) -> StaffUserRead:
    """Add an account with a hashed password; refuses a password the policy refuses (422) and a
    username already taken (409)."""
    _refuse_weak_password(password_policy, account.password.get_secret_value(), account.username)
    await _refuse_duplicate_username(session, account.username)
    password_hash = await asyncio.to_thread(hash_password, account.password.get_secret_value())
    row = User(**account.model_dump(exclude={"password"}), password_hash=password_hash)
    session.add(row)
    await _flush(session, f"Username '{account.username}' is already taken.")
    await session.refresh(row)  # created_at comes from the database
    return StaffUserRead.model_validate(row)


async def update_user(
    *,
    session: AsyncSession,
    user_id: int,
    changes: StaffUserUpdate,
    admin: User,
    password_policy: PasswordPolicy,
) -> StaffUserRead:
    """Change an account. Refuses a taken username (409), an admin deactivating or demoting
    themselves (409), and a new password the policy refuses (422).

    A new password, role or username, and deactivation, end every token and session the user
    holds (their token version goes up), so the change applies at once.
    """
    user = await session.get(User, user_id)
    if user is None:
        raise _not_found("User", user_id)
    values = changes.changes()
    if user.id == admin.id:
        if values.get("is_active") is False:
            raise Problem(409, "You cannot deactivate your own account; ask another admin.", type_=CONFLICT)
        if values.get("role", Role.ADMIN) != Role.ADMIN:
            raise Problem(409, "You cannot remove your own admin role; ask another admin.", type_=CONFLICT)
    if "username" in values:
        await _refuse_duplicate_username(session, values["username"], user.id)
    password = values.pop("password", None)
    if password is not None:
        new = password.get_secret_value()
        _refuse_weak_password(password_policy, new, values.get("username", user.username))
        user.password_hash = await asyncio.to_thread(hash_password, new)
    revoke = (
        password is not None
        or values.get("role", user.role) != user.role
        or values.get("username", user.username) != user.username
        or (user.is_active and values.get("is_active") is False)
    )
    for name, value in values.items():
        setattr(user, name, value)
    await _flush(session, f"Username '{user.username}' is already taken.")
    if revoke:
        await revoke_tokens(session=session, user_id=user.id, why="sessions_revoked")
    return StaffUserRead.model_validate(user)
