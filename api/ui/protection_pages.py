"""What the consumer profile's Protections tab and header show, and ``end_of_day`` for the date
fields of the protection and weather-emergency forms (the routes are in consumer_pages and
admin_pages; every write goes through ``api.disconnection.service``, as the JSON API's does)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.consumers import documents
from api.disconnection import schemas, service
from api.errors import Problem
from db import disconnection as stored
from db.models import Consumer
from domain.disconnection.profile import JurisdictionProfile
from domain.disconnection.protections import LABELS
from domain.disconnection.rules import DisconnectionReason
from domain.disconnection.window import at_local

KINDS = [(kind.value, LABELS[kind]) for kind in stored.CONSUMER_KINDS]


def end_of_day(profile: JurisdictionProfile, day: str | None) -> datetime | None:
    """The end of a form's date (``YYYY-MM-DD``) in the profile's time zone: midnight after it."""
    if not day:
        return None
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise Problem(422, f"{day!r} is not a date; use YYYY-MM-DD.", type_="/problems/validation") from None
    return at_local(profile, parsed + timedelta(days=1), time(0)).astimezone(UTC)


async def tab_context(session: AsyncSession, consumer: Consumer) -> dict[str, Any]:
    """What the Protections tab shows: every protection, the check for a non-payment cut now,
    the consumer's documents to pick evidence from."""
    profile = await stored.load_profile(session)
    return {
        "protections": await service.list_protections(session=session, consumer=consumer),
        "check": await service.disconnection_check(
            session=session, consumer=consumer, reason=DisconnectionReason.NON_PAYMENT
        ),
        "documents": await documents.list_documents(session=session, consumer=consumer),
        "kinds": KINDS,
        "certificate_days": profile.medical_certificate.days,
        "profile_name": profile.name,
        "now": datetime.now(UTC),
    }


async def in_force(session: AsyncSession, consumer: Consumer) -> list[schemas.ProtectionRead]:
    """The consumer's protections holding now (the profile header's badge)."""
    return [p for p in await service.list_protections(session=session, consumer=consumer) if p.in_force]
