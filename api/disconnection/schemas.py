"""Bodies and answers of the lawful-disconnection endpoints: protections, the disconnection check,
the jurisdiction profile and weather emergencies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.params import DB_INT_MAX
from domain.disconnection.profile import JurisdictionProfile
from domain.disconnection.protections import ProtectionKind, WeatherHazard
from domain.disconnection.rules import DisconnectionReason

ConsumerProtectionKind = Literal[
    ProtectionKind.MEDICAL_CERTIFICATE,
    ProtectionKind.LIFE_SUPPORT,
    ProtectionKind.VULNERABLE_HOUSEHOLD,
    ProtectionKind.PAYMENT_ARRANGEMENT,
    ProtectionKind.DISPUTE_UNDER_REVIEW,
]
Note = Field(default="", max_length=500, description="Free text for colleagues (what the evidence says)")


class _Period(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: AwareDatetime | None = Field(default=None, description="Default: now")
    ends_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> _Period:
        if self.starts_at is not None and self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class ProtectionCreate(_Period):
    """A protection on the consumer. A medical certificate lasts the profile's period unless
    ``ends_at`` says otherwise; the others hold until ``ends_at`` or until someone ends them."""

    kind: ConsumerProtectionKind
    ends_at: AwareDatetime | None = Field(
        default=None, description="Default: a medical certificate's period from the profile; others: none"
    )
    evidence_document_id: int | None = Field(
        default=None, ge=1, le=DB_INT_MAX, description="A document of this consumer (the certificate)"
    )
    note: str = Note


class ProtectionEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=300, description="Why it ends now (kept on the record)")


class ProtectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: ProtectionKind
    label: str
    starts_at: datetime
    ends_at: datetime | None = Field(description="When it stops holding: planned end or when it was ended")
    renewals: int
    renewable: bool = Field(description="A medical certificate the profile still lets you renew")
    in_force: bool
    evidence_document_id: int | None
    note: str
    recorded_by: str
    recorded_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    end_reason: str | None


class HoldRead(BaseModel):
    kind: ProtectionKind
    label: str
    since: datetime
    until: datetime | None = Field(description="When it lifts by itself (null: only when someone ends it)")
    lifted_by: str
    message: str


class Blocked(BaseModel):
    code: str
    message: str


class DisconnectionCheck(BaseModel):
    """Whether a disconnection for ``reason`` could be carried out now, and if not, why and when."""

    profile: str
    reason: DisconnectionReason
    checked_at: datetime
    lawful_now: bool
    holds: list[HoldRead] = Field(description="Protections and moratoria blocking the cut now")
    problems: list[Blocked] = Field(description="Every reason a cut now would be unlawful")
    earliest_lawful_moment: datetime | None = Field(description="Null when no moment can be computed")
    blocked: Blocked | None = Field(description="Why no lawful moment can be computed (a missing notice…)")


class ProfileRead(BaseModel):
    profile: JurisdictionProfile
    is_default: bool = Field(description="True while no admin has saved a profile: the default preset")
    updated_by: str | None


class PresetChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=40, description="A preset's key (GET …/presets)")


class WeatherEmergencyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hazard: WeatherHazard
    starts_at: AwareDatetime | None = Field(default=None, description="Default: now")
    ends_at: AwareDatetime
    service_area: str | None = Field(
        default=None,
        min_length=1,
        max_length=120,
        description="A town, county or ZIP code found in the service addresses covered; null: everyone",
    )
    note: str = Note

    @model_validator(mode="after")
    def _ends_after_start(self) -> WeatherEmergencyCreate:
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class WeatherEmergencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    hazard: WeatherHazard
    starts_at: datetime
    ends_at: datetime
    service_area: str | None
    note: str
    declared_by: str
    declared_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    in_force: bool
