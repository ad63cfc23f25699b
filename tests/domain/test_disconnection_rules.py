"""domain.disconnection.rules: service on / off decides the request type; the reason decides the kind."""

from __future__ import annotations

import pytest

from api.reference.service import REASONS
from domain.consumers.types import ConsumerStatus
from domain.disconnection.rules import (
    DisconnectionKind,
    DisconnectionReason,
    disconnection_kind_for,
    disconnection_outcome,
    request_type_for_service,
    service_is_on,
)
from domain.request.rules import TransitionRefused
from domain.request.types import RequestType


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ConsumerStatus.ACTIVE, RequestType.DISCONNECTION),
        (ConsumerStatus.COLLECTION, RequestType.DISCONNECTION),
        (ConsumerStatus.INACTIVE, RequestType.RECONNECTION),  # the FAQ's wording stays true
        (ConsumerStatus.DISCONNECTED, RequestType.RECONNECTION),
        (ConsumerStatus.TEMPORARILY_DISCONNECTED, RequestType.RECONNECTION),
    ],
)
def test_service_off_reconnects_service_on_disconnects(status: ConsumerStatus, expected: RequestType) -> None:
    assert request_type_for_service(status) is expected
    assert service_is_on(status) is (expected is RequestType.DISCONNECTION)


def test_a_pending_account_gets_neither() -> None:
    with pytest.raises(TransitionRefused) as refused:
        request_type_for_service(ConsumerStatus.PENDING)
    assert refused.value.code == "consumer_pending"
    assert "Pending" in refused.value.message
    assert "Complete the account set-up first" in refused.value.message


@pytest.mark.parametrize(
    ("reason", "kind", "status_after", "meters_stay"),
    [
        ("Non-payment", DisconnectionKind.TEMPORARY, ConsumerStatus.TEMPORARILY_DISCONNECTED, True),
        ("Seasonal closure", DisconnectionKind.TEMPORARY, ConsumerStatus.TEMPORARILY_DISCONNECTED, True),
        ("Safety hazard", DisconnectionKind.TEMPORARY, ConsumerStatus.TEMPORARILY_DISCONNECTED, True),
        ("Moving out", DisconnectionKind.PERMANENT, ConsumerStatus.INACTIVE, False),
        ("Consumer request", DisconnectionKind.PERMANENT, ConsumerStatus.INACTIVE, False),
        ("Other", DisconnectionKind.PERMANENT, ConsumerStatus.INACTIVE, False),
    ],
)
def test_the_reason_decides_the_kind(
    reason: str, kind: DisconnectionKind, status_after: ConsumerStatus, meters_stay: bool
) -> None:
    outcome = disconnection_outcome(reason)
    assert (outcome.kind, outcome.status_after, outcome.meters_stay_assigned) == (
        kind,
        status_after,
        meters_stay,
    )
    assert outcome.summary.startswith(kind.value.capitalize())


def test_other_may_be_declared_temporary() -> None:
    assert (
        disconnection_kind_for("Other", other_kind=DisconnectionKind.TEMPORARY) is DisconnectionKind.TEMPORARY
    )
    # the override applies to "Other" only
    assert (
        disconnection_kind_for("Moving out", other_kind=DisconnectionKind.TEMPORARY)
        is DisconnectionKind.PERMANENT
    )


def test_an_unknown_reason_is_refused() -> None:
    with pytest.raises(TransitionRefused) as refused:
        disconnection_kind_for("Meter tampering")
    assert refused.value.code == "unknown_disconnection_reason"
    assert "'Meter tampering' is not a disconnection reason" in refused.value.message


def test_reasons_match_the_create_form() -> None:
    assert [r.value for r in DisconnectionReason] == REASONS[RequestType.DISCONNECTION]
