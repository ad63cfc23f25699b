"""Lawful disconnection: a consumer's protections and disconnection check (CSRs), the jurisdiction
profile and weather emergencies (admins). Every write is idempotent and commits once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.auth.deps import AdminUser, CsrUser
from api.consumers.deps import CurrentConsumer
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.disconnection import schemas, service
from api.idempotency import IdempotencyKey, IdempotentWrite
from api.openapi import problem_responses
from api.params import DB_INT_MAX
from domain.disconnection.profile import PRESETS, JurisdictionProfile
from domain.disconnection.rules import DisconnectionReason

consumer_router = APIRouter(prefix="/api/v1/consumers", tags=["protections"])
admin_router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

ProtectionId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
EmergencyId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
_REASONS = {
    401: "Not signed in",
    403: "Signed in without the role this needs",
    404: "No such consumer, protection or emergency",
    409: "Not possible in its current state (already ended, renewals used up…)",
    422: "Invalid input",
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return problem_responses(_REASONS, *codes)


# ---- a consumer's protections ------------------------------------------------------------------


@consumer_router.get("/{id_or_account_number}/protections", responses=_problems(404))
async def list_protections(session: SessionDep, consumer: CurrentConsumer) -> list[schemas.ProtectionRead]:
    """Every protection ever recorded on the consumer, newest first, with whether it holds now."""
    return await service.list_protections(session=session, consumer=consumer)


@consumer_router.post("/{id_or_account_number}/protections", status_code=201, responses=_problems(404, 422))
async def record_protection(
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    body: schemas.ProtectionCreate,
    key: IdempotencyKey = None,
) -> schemas.ProtectionRead:
    """Record a protection against a non-payment disconnection (recorded by you, with its evidence)."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"protections.record:{consumer.id}", payload=body
    )
    await once.check(session)
    result = await service.record_protection(session=session, consumer=consumer, body=body, by=user.username)
    await once.commit(session, result, status_code=201)
    await service.tell_waiting(
        session=session,
        temporal=temporal,
        settings=settings,
        consumer_id=consumer.id,
        what="protection recorded",
        by=user.username,
    )
    return result


@consumer_router.post(
    "/{id_or_account_number}/protections/{protection_id}/renew", responses=_problems(404, 409)
)
async def renew_protection(
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    protection_id: ProtectionId,
    key: IdempotencyKey = None,
) -> schemas.ProtectionRead:
    """Extend a medical certificate by the profile's period, as many times as the profile allows."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"protections.renew:{protection_id}", payload={}
    )
    await once.check(session)
    result = await service.renew_protection(session=session, consumer=consumer, protection_id=protection_id)
    await once.commit(session, result)
    await service.tell_waiting(
        session=session,
        temporal=temporal,
        settings=settings,
        consumer_id=consumer.id,
        what="medical certificate renewed",
        by=user.username,
    )
    return result


@consumer_router.post(
    "/{id_or_account_number}/protections/{protection_id}/end", responses=_problems(404, 409, 422)
)
async def end_protection(
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    user: CsrUser,
    consumer: CurrentConsumer,
    protection_id: ProtectionId,
    body: schemas.ProtectionEnd,
    key: IdempotencyKey = None,
) -> schemas.ProtectionRead:
    """End a protection now; the reason stays on the record."""
    once = IdempotentWrite.of(
        key, user_id=user.id, operation=f"protections.end:{protection_id}", payload=body
    )
    await once.check(session)
    result = await service.end_protection(
        session=session, consumer=consumer, protection_id=protection_id, reason=body.reason, by=user.username
    )
    await once.commit(session, result)
    await service.tell_waiting(
        session=session, temporal=temporal, settings=settings, consumer_id=consumer.id,
        what="protection ended", by=user.username,
    )  # fmt: skip
    return result


@consumer_router.get("/{id_or_account_number}/disconnection-check", responses=_problems(404, 422))
async def disconnection_check(
    session: SessionDep,
    consumer: CurrentConsumer,
    reason: Annotated[DisconnectionReason, Query()] = DisconnectionReason.NON_PAYMENT,
) -> schemas.DisconnectionCheck:
    """Could the consumer be disconnected for ``reason`` right now? The protections and moratoria
    that block it, every other problem (day, hour, missing notice), and the earliest lawful moment."""
    return await service.disconnection_check(session=session, consumer=consumer, reason=reason)


# ---- the jurisdiction profile (admins) ----------------------------------------------------------


@admin_router.get("/disconnection-profile", responses=_problems(403))
async def read_disconnection_profile(session: SessionDep, _admin: AdminUser) -> schemas.ProfileRead:
    """The jurisdiction profile in force: when, after which notices and for which reasons a cut is
    lawful, its holidays and moratoria, and the reconnection deadlines."""
    return await service.read_profile(session)


@admin_router.get("/disconnection-profile/presets", responses=_problems(403))
async def list_disconnection_presets(_admin: AdminUser) -> list[JurisdictionProfile]:
    """The built-in profiles (from the regulators' rules), to adopt as they are or to start from."""
    return list(PRESETS.values())


@admin_router.put("/disconnection-profile", responses=_problems(403, 422))
async def save_disconnection_profile(
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    admin: AdminUser,
    body: JurisdictionProfile,
    key: IdempotencyKey = None,
) -> schemas.ProfileRead:
    """Replace the profile in force (the whole profile; start from GET or a preset). New checks and
    waiting requests use it from now on."""
    once = IdempotentWrite.of(key, user_id=admin.id, operation="disconnection.save_profile", payload=body)
    await once.check(session)
    result = await service.save_profile(session, body, by=admin.username)
    await once.commit(session, result)
    await service.tell_waiting(
        session=session,
        temporal=temporal,
        settings=settings,
        what="disconnection profile changed",
        by=admin.username,
    )
    return result


@admin_router.post("/disconnection-profile/adopt-preset", responses=_problems(403, 422))
async def adopt_disconnection_preset(
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    admin: AdminUser,
    body: schemas.PresetChoice,
    key: IdempotencyKey = None,
) -> schemas.ProfileRead:
    """Make a preset the profile in force."""
    once = IdempotentWrite.of(key, user_id=admin.id, operation="disconnection.adopt_preset", payload=body)
    await once.check(session)
    result = await service.save_profile(session, service.preset(body.key), by=admin.username)
    await once.commit(session, result)
    await service.tell_waiting(
        session=session,
        temporal=temporal,
        settings=settings,
        what="disconnection profile changed",
        by=admin.username,
    )
    return result


# ---- weather emergencies (admins) ---------------------------------------------------------------


@admin_router.get("/weather-emergencies", responses=_problems(403))
async def list_weather_emergencies(
    session: SessionDep,
    _admin: AdminUser,
    current: Annotated[bool, Query(description="Only those not over yet")] = False,
) -> list[schemas.WeatherEmergencyRead]:
    """Declared cold and heat emergencies, newest first."""
    return await service.list_emergencies(session=session, current=current)


@admin_router.post("/weather-emergencies", status_code=201, responses=_problems(403, 422))
async def declare_weather_emergency(
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    admin: AdminUser,
    body: schemas.WeatherEmergencyCreate,
    key: IdempotencyKey = None,
) -> schemas.WeatherEmergencyRead:
    """Declare a cold or heat emergency, everywhere or in one service area: no non-payment
    disconnection there until it ends."""
    once = IdempotentWrite.of(
        key, user_id=admin.id, operation="disconnection.declare_emergency", payload=body
    )
    await once.check(session)
    result = await service.declare_emergency(session=session, body=body, by=admin.username)
    await once.commit(session, result, status_code=201)
    await service.tell_waiting(
        session=session,
        temporal=temporal,
        settings=settings,
        what="weather emergency declared",
        by=admin.username,
    )
    return result


@admin_router.post("/weather-emergencies/{emergency_id}/end", responses=_problems(403, 404, 409))
async def end_weather_emergency(
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    admin: AdminUser,
    emergency_id: EmergencyId,
    key: IdempotencyKey = None,
) -> schemas.WeatherEmergencyRead:
    """End an emergency now."""
    once = IdempotentWrite.of(
        key, user_id=admin.id, operation=f"disconnection.end_emergency:{emergency_id}", payload={}
    )
    await once.check(session)
    result = await service.end_emergency(session=session, emergency_id=emergency_id, by=admin.username)
    await once.commit(session, result)
    await service.tell_waiting(
        session=session,
        temporal=temporal,
        settings=settings,
        what="weather emergency ended",
        by=admin.username,
    )
    return result
