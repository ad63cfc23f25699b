"""Protections that block a non-payment cut: which one, until when, and what would lift it.

A protection is in force from ``starts_at`` (inclusive) to ``ends_at`` (exclusive); without
``ends_at`` it holds until a CSR ends it. The profile's seasonal moratoria hold like protections.
Only reasons in ``profile.rules_apply_to`` (non-payment by default) are blocked: a consumer's own
request to disconnect is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.disconnection.profile import JurisdictionProfile
from domain.disconnection.rules import DisconnectionReason, parse_reason
from domain.disconnection.window import at_local
from domain.request.rules import TransitionRefused

__all__ = [
    "DisputeUnderReview",
    "Hold",
    "LifeSupportEquipment",
    "MedicalCertificate",
    "PaymentArrangement",
    "Protection",
    "ProtectionKind",
    "VulnerableHousehold",
    "WeatherEmergency",
    "WeatherHazard",
    "holds_at",
    "issue_medical_certificate",
    "renew_medical_certificate",
]


class ProtectionKind(StrEnum):
    MEDICAL_CERTIFICATE = "medical_certificate"
    LIFE_SUPPORT = "life_support"
    VULNERABLE_HOUSEHOLD = "vulnerable_household"
    PAYMENT_ARRANGEMENT = "payment_arrangement"
    DISPUTE_UNDER_REVIEW = "dispute_under_review"
    WEATHER_EMERGENCY = "weather_emergency"
    SEASONAL_MORATORIUM = "seasonal_moratorium"


class WeatherHazard(StrEnum):
    COLD = "cold"
    HEAT = "heat"


class _Protection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    recorded_by: str | None = None
    evidence_document_id: int | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("a protection must end after it starts")
        return self

    def in_force(self, at: datetime) -> bool:
        return self.starts_at <= at and (self.ends_at is None or at < self.ends_at)


class MedicalCertificate(_Protection):
    """A physician's certificate postponing the cut; ``renewals`` already granted for these arrears."""

    kind: Literal[ProtectionKind.MEDICAL_CERTIFICATE] = ProtectionKind.MEDICAL_CERTIFICATE
    ends_at: AwareDatetime
    renewals: int = Field(default=0, ge=0)


class LifeSupportEquipment(_Protection):
    """Life-support equipment in the home (a critical-care customer): no end unless one is given."""

    kind: Literal[ProtectionKind.LIFE_SUPPORT] = ProtectionKind.LIFE_SUPPORT


class VulnerableHousehold(_Protection):
    kind: Literal[ProtectionKind.VULNERABLE_HOUSEHOLD] = ProtectionKind.VULNERABLE_HOUSEHOLD


class PaymentArrangement(_Protection):
    """An agreed payment arrangement kept up to date (a broken one is ended by the CSR)."""

    kind: Literal[ProtectionKind.PAYMENT_ARRANGEMENT] = ProtectionKind.PAYMENT_ARRANGEMENT


class DisputeUnderReview(_Protection):
    kind: Literal[ProtectionKind.DISPUTE_UNDER_REVIEW] = ProtectionKind.DISPUTE_UNDER_REVIEW


class WeatherEmergency(_Protection):
    """An admin-declared cold or heat emergency; ``service_area`` None covers every consumer."""

    kind: Literal[ProtectionKind.WEATHER_EMERGENCY] = ProtectionKind.WEATHER_EMERGENCY
    hazard: WeatherHazard
    service_area: str | None = None

    def covers(self, service_area: str | None) -> bool:
        """Whether it covers a consumer whose service address (or area) is ``service_area``: the
        emergency's area (a town, county or ZIP code) appears in it, case-insensitively. An
        emergency without an area covers everyone; an unknown address is covered: err safe."""
        if self.service_area is None or service_area is None:
            return True
        return self.service_area.strip().casefold() in service_area.casefold()


Protection = Annotated[
    MedicalCertificate
    | LifeSupportEquipment
    | VulnerableHousehold
    | PaymentArrangement
    | DisputeUnderReview
    | WeatherEmergency,
    Field(discriminator="kind"),
]

LABELS: dict[ProtectionKind, str] = {
    ProtectionKind.MEDICAL_CERTIFICATE: "Medical certificate",
    ProtectionKind.LIFE_SUPPORT: "Life-support equipment",
    ProtectionKind.VULNERABLE_HOUSEHOLD: "Vulnerable household",
    ProtectionKind.PAYMENT_ARRANGEMENT: "Payment arrangement",
    ProtectionKind.DISPUTE_UNDER_REVIEW: "Dispute under review",
    ProtectionKind.WEATHER_EMERGENCY: "Weather emergency",
    ProtectionKind.SEASONAL_MORATORIUM: "Seasonal moratorium",
}

_LIFTED_BY: dict[ProtectionKind, str] = {
    ProtectionKind.MEDICAL_CERTIFICATE: "the certificate expires without renewal",
    ProtectionKind.LIFE_SUPPORT: "a CSR ends it once the equipment is no longer in use",
    ProtectionKind.VULNERABLE_HOUSEHOLD: "a CSR ends it once the household no longer qualifies",
    ProtectionKind.PAYMENT_ARRANGEMENT: "the arrangement ends or a CSR records it as broken",
    ProtectionKind.DISPUTE_UNDER_REVIEW: "the dispute is resolved",
    ProtectionKind.WEATHER_EMERGENCY: "the emergency ends",
    ProtectionKind.SEASONAL_MORATORIUM: "the season ends",
}


@dataclass(frozen=True, slots=True)
class Hold:
    """One protection (or moratorium) blocking the cut now.

    ``until``: the moment it lifts by itself (None: only when someone ends it).
    """

    kind: ProtectionKind
    label: str
    since: datetime
    until: datetime | None
    lifted_by: str

    @property
    def message(self) -> str:
        """A sentence for the CSR: which protection, until when, and what lifts it."""
        until = "with no end date" if self.until is None else f"until {self.until:%Y-%m-%d %H:%M %Z}"
        return f"{self.label} blocks the disconnection {until}; it lifts when {self.lifted_by}."


def _local_midnight_after(profile: JurisdictionProfile, day: date) -> datetime:
    return at_local(profile, day + timedelta(days=1), datetime.min.time())


def _moratorium_holds(profile: JurisdictionProfile, at: datetime) -> list[Hold]:
    day = at.astimezone(profile.zone).date()
    holds: list[Hold] = []
    for period in profile.moratoria:
        occurrence = period.occurrence(day)
        if occurrence is None:
            continue
        first, last = occurrence
        holds.append(
            Hold(
                ProtectionKind.SEASONAL_MORATORIUM,
                str(period),
                at_local(profile, first, datetime.min.time()),
                _local_midnight_after(profile, last),
                _LIFTED_BY[ProtectionKind.SEASONAL_MORATORIUM],
            )
        )
    return holds


def _label(protection: Protection) -> str:
    label = LABELS[protection.kind]
    if isinstance(protection, WeatherEmergency):
        area = f" in {protection.service_area}" if protection.service_area else ""
        label = f"{protection.hazard.value.capitalize()} weather emergency{area}"
    elif isinstance(protection, MedicalCertificate) and protection.renewals:
        label = f"{label} (renewed {protection.renewals}×)"
    return label


def holds_at(
    profile: JurisdictionProfile,
    protections: Iterable[Protection],
    *,
    at: datetime,
    reason: DisconnectionReason | str = DisconnectionReason.NON_PAYMENT,
    service_area: str | None = None,
) -> tuple[Hold, ...]:
    """Every protection and moratorium blocking a cut for ``reason`` at ``at`` (none: not blocked).

    Recorded protections come first, in input order, then the profile's moratoria. A reason the
    profile's rules do not govern is never blocked.
    """
    if parse_reason(reason) not in profile.rules_apply_to:
        return ()
    holds: list[Hold] = []
    for p in protections:
        if not p.in_force(at):
            continue
        if isinstance(p, WeatherEmergency) and not p.covers(service_area):
            continue
        until = None if p.ends_at is None else p.ends_at.astimezone(profile.zone)
        since = p.starts_at.astimezone(profile.zone)
        holds.append(Hold(ProtectionKind(p.kind), _label(p), since, until, _LIFTED_BY[p.kind]))
    holds.extend(_moratorium_holds(profile, at))
    return tuple(holds)


def issue_medical_certificate(
    profile: JurisdictionProfile, *, starts_at: datetime, recorded_by: str | None = None
) -> MedicalCertificate:
    """A certificate starting at ``starts_at`` and lasting the profile's ``medical_certificate.days``."""
    return MedicalCertificate(
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=profile.medical_certificate.days),
        recorded_by=recorded_by,
    )


def renew_medical_certificate(
    profile: JurisdictionProfile, certificate: MedicalCertificate
) -> MedicalCertificate:
    """The certificate extended by another period; refuses once the profile's renewals are used up."""
    rule = profile.medical_certificate
    if certificate.renewals >= rule.max_renewals:
        raise TransitionRefused(
            f"This medical certificate has been renewed {certificate.renewals} times, the most "
            f"{profile.name} allows for the same arrears; it cannot be renewed again.",
            "medical_certificate_renewals_used",
        )
    return certificate.model_copy(
        update={
            "ends_at": certificate.ends_at + timedelta(days=rule.days),
            "renewals": certificate.renewals + 1,
        }
    )
