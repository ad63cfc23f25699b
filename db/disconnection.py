"""The stored facts the lawful-disconnection rules (domain/disconnection) read: the jurisdiction
profile in force, a consumer's protections and the weather emergencies declared.

The profile is an admin-editable system setting (the whole ``JurisdictionProfile`` as JSON); until
an admin saves one, ``DEFAULT_PROFILE`` applies. Rows become the domain's immutable models here,
so the rules never see the database.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Consumer, ConsumerProtection, Payment, WeatherEmergencyDeclaration
from db.system_settings import get_setting, put_setting
from domain.consumers.types import PaymentStatus
from domain.disconnection.payments import arrears_due_on
from domain.disconnection.profile import DEFAULT_PROFILE, JurisdictionProfile
from domain.disconnection.protections import (
    DisputeUnderReview,
    LifeSupportEquipment,
    MedicalCertificate,
    PaymentArrangement,
    Protection,
    ProtectionKind,
    VulnerableHousehold,
    WeatherEmergency,
)

PROFILE_KEY = "disconnection_profile"

_CONSUMER_KINDS: dict[ProtectionKind, type[Protection]] = {
    ProtectionKind.MEDICAL_CERTIFICATE: MedicalCertificate,
    ProtectionKind.LIFE_SUPPORT: LifeSupportEquipment,
    ProtectionKind.VULNERABLE_HOUSEHOLD: VulnerableHousehold,
    ProtectionKind.PAYMENT_ARRANGEMENT: PaymentArrangement,
    ProtectionKind.DISPUTE_UNDER_REVIEW: DisputeUnderReview,
}
CONSUMER_KINDS = tuple(_CONSUMER_KINDS)
"""The protections recorded on a consumer (weather emergencies are declared; moratoria are in the profile)."""


async def load_profile(session: AsyncSession) -> JurisdictionProfile:
    """The jurisdiction profile in force: the admin's, else the default preset."""
    stored = await get_setting(session, PROFILE_KEY)
    return DEFAULT_PROFILE if stored is None else JurisdictionProfile.model_validate(stored)


async def save_profile(session: AsyncSession, profile: JurisdictionProfile, *, by: str) -> None:
    """Make ``profile`` the one in force (audited). Does not commit."""
    await put_setting(session, PROFILE_KEY, profile.model_dump(mode="json"), by=by)


def effective_end(row: ConsumerProtection | WeatherEmergencyDeclaration) -> datetime | None:
    """When it stops holding: its planned end or the moment someone ended it, whichever is first."""
    ends = [moment for moment in (row.ends_at, row.ended_at) if moment is not None]
    return min(ends) if ends else None


def as_protection(row: ConsumerProtection) -> Protection | None:
    """The domain's view of a recorded protection (ended early: it ends then; ended before it
    began: None, it never held)."""
    end = effective_end(row)
    if end is not None and end <= row.starts_at:
        return None
    values = {
        "starts_at": row.starts_at,
        "ends_at": end,
        "recorded_by": row.recorded_by,
        "evidence_document_id": row.evidence_document_id,
    }
    if row.kind is ProtectionKind.MEDICAL_CERTIFICATE:
        values["renewals"] = row.renewals
    return _CONSUMER_KINDS[row.kind].model_validate(values)


def as_emergency(row: WeatherEmergencyDeclaration) -> WeatherEmergency | None:
    """The domain's view of a declaration (ended before it began: None)."""
    end = effective_end(row)
    if end is None or end <= row.starts_at:
        return None
    return WeatherEmergency(
        starts_at=row.starts_at,
        ends_at=end,
        recorded_by=row.declared_by,
        hazard=row.hazard,
        service_area=row.service_area,
    )


async def emergencies(session: AsyncSession, *, ending_after: datetime) -> list[WeatherEmergency]:
    """The weather emergencies still holding (or yet to start) at ``ending_after``."""
    rows = await session.scalars(
        select(WeatherEmergencyDeclaration)
        .where(WeatherEmergencyDeclaration.ends_at > ending_after)
        .where(
            or_(
                WeatherEmergencyDeclaration.ended_at.is_(None),
                WeatherEmergencyDeclaration.ended_at > ending_after,
            )
        )
        .order_by(WeatherEmergencyDeclaration.starts_at, WeatherEmergencyDeclaration.id)
    )
    return [e for e in map(as_emergency, rows) if e is not None]


async def protection_rows(session: AsyncSession, consumer_id: int) -> list[ConsumerProtection]:
    """Every protection ever recorded on the consumer, newest first."""
    rows = await session.scalars(
        select(ConsumerProtection)
        .where(ConsumerProtection.consumer_id == consumer_id)
        .order_by(ConsumerProtection.starts_at.desc(), ConsumerProtection.id.desc())
    )
    return list(rows)


async def protections_of(session: AsyncSession, consumer: Consumer, *, now: datetime) -> list[Protection]:
    """What may block a cut for ``consumer`` from ``now`` on: its protections not yet over and the
    weather emergencies not yet over (the rules decide which cover its service address)."""
    recorded = [
        p
        for p in map(as_protection, await protection_rows(session, consumer.id))
        if p is not None and (p.ends_at is None or p.ends_at > now)
    ]
    return [*recorded, *await emergencies(session, ending_after=now)]


async def payment_due_on(session: AsyncSession, consumer: Consumer, *, today: date) -> date | None:
    """The due date the consumer's arrears count from (``domain.disconnection.payments.arrears_due_on``)."""
    unpaid = await session.scalars(
        select(Payment.due_date).where(
            Payment.consumer_id == consumer.id,
            Payment.status.in_([PaymentStatus.PENDING, PaymentStatus.FAILED]),
            Payment.due_date <= today,
        )
    )
    return arrears_due_on(consumer.balance, unpaid.all(), today=today)
