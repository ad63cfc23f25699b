"""domain.disconnection.protections: which protection blocks a non-payment cut, until when, what lifts it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter, ValidationError

from domain.disconnection.profile import NEW_YORK, PENNSYLVANIA, TEXAS_ELECTRIC
from domain.disconnection.protections import (
    DisputeUnderReview,
    LifeSupportEquipment,
    MedicalCertificate,
    PaymentArrangement,
    Protection,
    ProtectionKind,
    VulnerableHousehold,
    WeatherEmergency,
    WeatherHazard,
    holds_at,
    issue_medical_certificate,
    renew_medical_certificate,
)
from domain.request.rules import TransitionRefused

ET = ZoneInfo("America/New_York")
CT = ZoneInfo("America/Chicago")
MAY_4 = datetime(2026, 5, 4, 10, tzinfo=ET)


def test_a_medical_certificate_blocks_until_it_expires() -> None:
    certificate = issue_medical_certificate(PENNSYLVANIA, starts_at=MAY_4, recorded_by="csr1")
    assert certificate.ends_at == MAY_4 + timedelta(days=30)
    [hold] = holds_at(PENNSYLVANIA, [certificate], at=MAY_4 + timedelta(days=29))
    assert hold.kind is ProtectionKind.MEDICAL_CERTIFICATE
    assert hold.until == certificate.ends_at
    assert hold.message == (
        "Medical certificate blocks the disconnection until 2026-06-03 10:00 EDT; "
        "it lifts when the certificate expires without renewal."
    )
    assert holds_at(PENNSYLVANIA, [certificate], at=certificate.ends_at) == ()  # expiry releases


def test_renewals_are_limited_by_the_profile() -> None:
    certificate = issue_medical_certificate(PENNSYLVANIA, starts_at=MAY_4)
    twice = renew_medical_certificate(PENNSYLVANIA, renew_medical_certificate(PENNSYLVANIA, certificate))
    assert (twice.renewals, twice.ends_at) == (2, MAY_4 + timedelta(days=90))
    with pytest.raises(TransitionRefused) as refused:
        renew_medical_certificate(PENNSYLVANIA, twice)
    assert refused.value.code == "medical_certificate_renewals_used"
    assert "renewed 2 times" in refused.value.message


@pytest.mark.parametrize(
    ("protection", "label", "lifted_by"),
    [
        (LifeSupportEquipment(starts_at=MAY_4), "Life-support equipment", "no longer in use"),
        (VulnerableHousehold(starts_at=MAY_4), "Vulnerable household", "no longer qualifies"),
        (PaymentArrangement(starts_at=MAY_4), "Payment arrangement", "records it as broken"),
        (DisputeUnderReview(starts_at=MAY_4), "Dispute under review", "the dispute is resolved"),
    ],
)
def test_an_open_ended_protection_blocks_with_no_end(
    protection: Protection, label: str, lifted_by: str
) -> None:
    [hold] = holds_at(NEW_YORK, [protection], at=MAY_4 + timedelta(days=400))
    assert (hold.label, hold.until) == (label, None)
    assert "with no end date" in hold.message and lifted_by in hold.message


def test_a_protection_not_yet_started_does_not_block() -> None:
    dispute = DisputeUnderReview(starts_at=MAY_4, ends_at=MAY_4 + timedelta(days=10))
    assert holds_at(NEW_YORK, [dispute], at=MAY_4 - timedelta(seconds=1)) == ()


def test_only_non_payment_is_blocked() -> None:
    household = VulnerableHousehold(starts_at=MAY_4)
    assert holds_at(NEW_YORK, [household], at=MAY_4, reason="Moving out") == ()
    assert len(holds_at(NEW_YORK, [household], at=MAY_4, reason="Non-payment")) == 1


def test_a_weather_emergency_covers_its_service_area() -> None:
    heat = WeatherEmergency(
        starts_at=datetime(2026, 7, 20, tzinfo=CT),
        ends_at=datetime(2026, 7, 23, tzinfo=CT),
        hazard=WeatherHazard.HEAT,
        service_area="Harris County",
    )
    noon = datetime(2026, 7, 21, 12, tzinfo=CT)
    [hold] = holds_at(TEXAS_ELECTRIC, [heat], at=noon, service_area="harris county")
    assert hold.label == "Heat weather emergency in Harris County"
    assert holds_at(TEXAS_ELECTRIC, [heat], at=noon, service_area="Travis County") == ()
    assert len(holds_at(TEXAS_ELECTRIC, [heat], at=noon, service_area=None)) == 1  # unknown area: err safe


def test_the_winter_moratorium_holds_like_a_protection() -> None:
    [hold] = holds_at(PENNSYLVANIA, [], at=datetime(2026, 12, 2, 9, tzinfo=ET))
    assert hold.kind is ProtectionKind.SEASONAL_MORATORIUM
    assert hold.until == datetime(2027, 4, 1, tzinfo=ET)
    assert hold.message == (
        "Winter moratorium (Dec 1 – Mar 31) blocks the disconnection until 2027-04-01 00:00 EDT; "
        "it lifts when the season ends."
    )


def test_protections_parse_by_kind() -> None:
    adapter: TypeAdapter[Protection] = TypeAdapter(Protection)
    parsed = adapter.validate_python(
        {
            "kind": "medical_certificate",
            "starts_at": "2026-05-04T10:00:00-04:00",
            "ends_at": "2026-06-03T10:00:00-04:00",
        }
    )
    assert isinstance(parsed, MedicalCertificate)
    with pytest.raises(ValidationError, match="must end after it starts"):
        DisputeUnderReview(starts_at=MAY_4, ends_at=MAY_4)
    with pytest.raises(ValidationError, match="timezone"):
        DisputeUnderReview(starts_at=datetime(2026, 5, 4))
