"""Protections, the disconnection check, the jurisdiction profile and weather emergencies.

The rules are domain/disconnection's pure functions; this module reads and writes the rows they
are fed from. Every write leaves the commit to the caller (the router commits once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.disconnection import schemas
from api.errors import Problem
from api.temporal import TemporalGateway
from db import disconnection as stored
from db.models import (
    Consumer,
    ConsumerProtection,
    Document,
    ServiceRequest,
    SystemSetting,
    WeatherEmergencyDeclaration,
)
from domain.disconnection.lawful import CutBlocked, cut_verdict
from domain.disconnection.profile import PRESETS, JurisdictionProfile
from domain.disconnection.protections import (
    LABELS,
    MedicalCertificate,
    ProtectionKind,
    holds_at,
    renew_medical_certificate,
)
from domain.disconnection.rules import DisconnectionReason
from domain.disconnection.window import holiday_calendar
from domain.request.rules import TransitionRefused
from domain.request.types import OPEN_STATUSES, RequestType
from settings import Settings
from workflows.schemas import PROTECTIONS_CHANGED, ProtectionsChanged

log = logging.getLogger(__name__)

NOT_FOUND = "/problems/not-found"
CONFLICT = "/problems/conflict"
VALIDATION = "/problems/validation"


def _now() -> datetime:
    return datetime.now(UTC)


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        f"Invalid input — {field}: {message}",
        type_=VALIDATION,
        errors=[{"field": field, "message": message}],
    )


# ---- a consumer's protections ------------------------------------------------------------------


def protection_read(
    row: ConsumerProtection, profile: JurisdictionProfile, now: datetime
) -> schemas.ProtectionRead:
    end = stored.effective_end(row)
    renewable = (
        row.kind is ProtectionKind.MEDICAL_CERTIFICATE
        and row.ended_at is None
        and row.renewals < profile.medical_certificate.max_renewals
    )
    return schemas.ProtectionRead(
        id=row.id,
        kind=row.kind,
        label=LABELS[row.kind],
        starts_at=row.starts_at,
        ends_at=end,
        renewals=row.renewals,
        renewable=renewable,
        in_force=row.starts_at <= now and (end is None or now < end),
        evidence_document_id=row.evidence_document_id,
        note=row.note,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
        end_reason=row.end_reason,
    )


async def list_protections(*, session: AsyncSession, consumer: Consumer) -> list[schemas.ProtectionRead]:
    profile, now = await stored.load_profile(session), _now()
    return [protection_read(row, profile, now) for row in await stored.protection_rows(session, consumer.id)]


async def record_protection(
    *, session: AsyncSession, consumer: Consumer, body: schemas.ProtectionCreate, by: str
) -> schemas.ProtectionRead:
    """Record a protection. The evidence must be one of the consumer's documents (422)."""
    profile, now = await stored.load_profile(session), _now()
    if body.evidence_document_id is not None:
        owner = await session.scalar(
            select(Document.consumer_id).where(Document.id == body.evidence_document_id)
        )
        if owner != consumer.id:
            raise _invalid("evidence_document_id", "is not a document of this consumer")
    starts_at = body.starts_at or now
    ends_at = body.ends_at
    if ends_at is None and body.kind is ProtectionKind.MEDICAL_CERTIFICATE:
        ends_at = starts_at + timedelta(days=profile.medical_certificate.days)
    if ends_at is not None and ends_at <= starts_at:
        raise _invalid("ends_at", "must be after starts_at")
    row = ConsumerProtection(
        consumer_id=consumer.id,
        kind=body.kind,
        starts_at=starts_at,
        ends_at=ends_at,
        renewals=0,
        evidence_document_id=body.evidence_document_id,
        note=body.note,
        recorded_by=by,
        recorded_at=now,
    )
    session.add(row)
    await session.flush()
    return protection_read(row, profile, now)


async def _protection(session: AsyncSession, consumer: Consumer, protection_id: int) -> ConsumerProtection:
    row = await session.get(ConsumerProtection, protection_id, with_for_update=True)
    if row is None or row.consumer_id != consumer.id:
        raise Problem(404, f"Protection {protection_id} not found for this consumer.", type_=NOT_FOUND)
    return row


async def renew_protection(
    *, session: AsyncSession, consumer: Consumer, protection_id: int
) -> schemas.ProtectionRead:
    """Extend a medical certificate by the profile's period; refuses (409) another kind, an ended
    one, or one whose renewals are used up."""
    profile, now = await stored.load_profile(session), _now()
    row = await _protection(session, consumer, protection_id)
    if row.kind is not ProtectionKind.MEDICAL_CERTIFICATE:
        raise Problem(409, f"Only a medical certificate is renewed; end this {LABELS[row.kind].lower()} "
                      "and record a new one instead.", type_=CONFLICT)  # fmt: skip
    if row.ended_at is not None:
        raise Problem(409, "This certificate was ended; record a new one.", type_=CONFLICT)
    certificate = stored.as_protection(row)
    assert isinstance(certificate, MedicalCertificate)
    try:
        renewed = renew_medical_certificate(profile, certificate)
    except TransitionRefused as refused:
        raise Problem(409, str(refused), type_=CONFLICT) from None
    row.ends_at, row.renewals = renewed.ends_at, renewed.renewals
    await session.flush()
    return protection_read(row, profile, now)


async def end_protection(
    *, session: AsyncSession, consumer: Consumer, protection_id: int, reason: str, by: str
) -> schemas.ProtectionRead:
    """End a protection now (409 when it has already ended)."""
    profile, now = await stored.load_profile(session), _now()
    row = await _protection(session, consumer, protection_id)
    end = stored.effective_end(row)
    if end is not None and end <= now:
        raise Problem(409, f"This protection already ended on {end:%Y-%m-%d %H:%M} UTC.", type_=CONFLICT)
    row.ended_at, row.ended_by, row.end_reason = now, by, reason
    await session.flush()
    return protection_read(row, profile, now)


# ---- the disconnection check -------------------------------------------------------------------


async def disconnection_check(
    *, session: AsyncSession, consumer: Consumer, reason: DisconnectionReason
) -> schemas.DisconnectionCheck:
    """Whether a cut for ``reason`` would be lawful now (no notice steps taken yet), and if not,
    every reason and the earliest lawful moment."""
    profile, now = await stored.load_profile(session), _now()
    protections = await stored.protections_of(session, consumer, now=now)
    calendar = holiday_calendar(profile, now.year, now.year + 2)
    area = consumer.service_address
    verdict = cut_verdict(
        profile, at=now, reason=reason, protections=protections, service_area=area, calendar=calendar
    )
    holds = holds_at(profile, protections, at=now, reason=reason, service_area=area)
    earliest = verdict.earliest
    return schemas.DisconnectionCheck(
        profile=profile.name,
        reason=reason,
        checked_at=now,
        lawful_now=verdict.lawful,
        holds=[schemas.HoldRead(**asdict(h), message=h.message) for h in holds],
        problems=[schemas.Blocked(code=str(p.code), message=p.message) for p in verdict.problems],
        earliest_lawful_moment=None if isinstance(earliest, CutBlocked) else earliest.at,
        blocked=schemas.Blocked(code=earliest.code, message=earliest.message)
        if isinstance(earliest, CutBlocked)
        else None,
    )


# ---- the jurisdiction profile -------------------------------------------------------------------


async def read_profile(session: AsyncSession) -> schemas.ProfileRead:
    row = await session.get(SystemSetting, stored.PROFILE_KEY)
    return schemas.ProfileRead(
        profile=await stored.load_profile(session),
        is_default=row is None,
        updated_by=None if row is None else row.updated_by,
    )


async def save_profile(
    session: AsyncSession, profile: JurisdictionProfile, *, by: str
) -> schemas.ProfileRead:
    await stored.save_profile(session, profile, by=by)
    await session.flush()
    return await read_profile(session)


def preset(key: str) -> JurisdictionProfile:
    try:
        return PRESETS[key]
    except KeyError:
        raise _invalid("key", f"is not a preset; choose one of {', '.join(sorted(PRESETS))}") from None


# ---- weather emergencies ------------------------------------------------------------------------


def emergency_read(row: WeatherEmergencyDeclaration, now: datetime) -> schemas.WeatherEmergencyRead:
    end = stored.effective_end(row)
    return schemas.WeatherEmergencyRead.model_validate(
        {
            **{c: getattr(row, c) for c in schemas.WeatherEmergencyRead.model_fields if c != "in_force"},
            "in_force": row.starts_at <= now and end is not None and now < end,
        }
    )


async def list_emergencies(*, session: AsyncSession, current: bool) -> list[schemas.WeatherEmergencyRead]:
    """Declared emergencies, newest first; ``current``: only those not yet over."""
    now = _now()
    query = select(WeatherEmergencyDeclaration).order_by(
        WeatherEmergencyDeclaration.starts_at.desc(), WeatherEmergencyDeclaration.id.desc()
    )
    rows = [
        row for row in await session.scalars(query) if not current or (stored.effective_end(row) or now) > now
    ]
    return [emergency_read(row, now) for row in rows]


async def declare_emergency(
    *, session: AsyncSession, body: schemas.WeatherEmergencyCreate, by: str
) -> schemas.WeatherEmergencyRead:
    now = _now()
    starts_at = body.starts_at or now
    if body.ends_at <= starts_at:
        raise _invalid("ends_at", "must be after starts_at")
    row = WeatherEmergencyDeclaration(
        hazard=body.hazard,
        starts_at=starts_at,
        ends_at=body.ends_at,
        service_area=body.service_area.strip() if body.service_area else None,
        note=body.note,
        declared_by=by,
        declared_at=now,
    )
    session.add(row)
    await session.flush()
    return emergency_read(row, now)


async def end_emergency(*, session: AsyncSession, emergency_id: int, by: str) -> schemas.WeatherEmergencyRead:
    now = _now()
    row = await session.get(WeatherEmergencyDeclaration, emergency_id, with_for_update=True)
    if row is None:
        raise Problem(404, f"Weather emergency {emergency_id} not found.", type_=NOT_FOUND)
    end = stored.effective_end(row)
    if end is not None and end <= now:
        raise Problem(409, f"This emergency already ended on {end:%Y-%m-%d %H:%M} UTC.", type_=CONFLICT)
    row.ended_at, row.ended_by = now, by
    await session.flush()
    return emergency_read(row, now)


# ---- waiting disconnections: told when their facts change ---------------------------------------


async def waiting_requests(*, session: AsyncSession, consumer_id: int | None = None) -> list[str]:
    """The open disconnections the profile's rules govern (non-payment): all, or one consumer's."""
    profile = await stored.load_profile(session)
    query = (
        select(ServiceRequest.request_id)
        .where(ServiceRequest.request_type == RequestType.DISCONNECTION)
        .where(ServiceRequest.status.in_(OPEN_STATUSES))
        .where(ServiceRequest.reason.in_([r.value for r in profile.rules_apply_to]))
        .order_by(ServiceRequest.id)
    )
    if consumer_id is not None:
        query = query.where(ServiceRequest.consumer_id == consumer_id)
    return list(await session.scalars(query))


async def tell_waiting(
    *, session: AsyncSession, temporal: TemporalGateway, settings: Settings, what: str, by: str,
    consumer_id: int | None = None,
) -> None:  # fmt: skip
    """After a committed change to protections (of ``consumer_id``, or everyone's: emergencies, the
    profile), signal the waiting disconnections it may hold or release."""
    waiting = await waiting_requests(session=session, consumer_id=consumer_id)
    await notify_waiting(temporal=temporal, settings=settings, request_ids=waiting, what=what, by=by)


async def notify_waiting(
    *, temporal: TemporalGateway, settings: Settings, request_ids: Iterable[str], what: str, by: str
) -> None:
    """Signal each waiting request to re-read its protections (after the commit), so it holds or
    resumes now; it re-checks them at its next timer and at the cut itself in any case."""
    await temporal.signal_each(
        (settings.workflow_id(r) for r in request_ids), PROTECTIONS_CHANGED, ProtectionsChanged(what=what, by=by),
        what=what,
    )  # fmt: skip
