"""domain.disconnection.rules: service on / off decides the request type; the reason decides the kind."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.reference.service import REASONS
from domain.consumers.types import ConsumerStatus
from domain.disconnection.rules import (
    DisconnectionKind,
    DisconnectionReason,
    ReconnectionMeters,
    disconnection_kind_for,
    disconnection_outcome,
    kind_of_request,
    reconnection_meters,
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


# ---- kind_of_request: what the API and the UI show on a request --------------------------------


def test_kind_of_request_by_reason_and_none_for_a_reconnection() -> None:
    assert kind_of_request(RequestType.DISCONNECTION, "Non-payment") is DisconnectionKind.TEMPORARY
    assert kind_of_request(RequestType.DISCONNECTION, "Moving out") is DisconnectionKind.PERMANENT
    assert kind_of_request(RequestType.DISCONNECTION, "Other") is DisconnectionKind.PERMANENT
    assert kind_of_request(RequestType.RECONNECTION, "Non-payment") is None
    assert kind_of_request(RequestType.DISCONNECTION, "a reason no longer offered") is None


# ---- reconnection_meters: re-energise in place, assign, release ---------------------------------

_numbers = st.lists(st.sampled_from([f"M-{i}" for i in range(8)]), max_size=8)


@settings(deadline=None)  # pure and fast; a loaded CI host must not make it flaky
@given(chosen=_numbers, own=_numbers)
def test_reconnection_meters_partition_the_meters(chosen: list[str], own: list[str]) -> None:
    split = reconnection_meters(chosen, own)

    assert set(split.re_energise) | set(split.assign) == set(chosen)
    assert set(split.re_energise) | set(split.release) == set(own)
    assert not set(split.re_energise) & set(split.assign)
    assert not set(split.assign) & set(split.release)
    assert not set(split.re_energise) & set(split.release)
    assert all(len(set(part)) == len(part) for part in (split.re_energise, split.assign, split.release))


def test_reconnection_meters_in_place_needs_no_new_meter_unless_one_is_swapped() -> None:
    assert reconnection_meters(["E-1", "W-1"], ["E-1", "W-1"]) == ReconnectionMeters(
        re_energise=("E-1", "W-1"), assign=(), release=()
    )
    # the water meter swapped for a new one: the old one is released
    assert reconnection_meters(["E-1", "W-9"], ["E-1", "W-1"]) == ReconnectionMeters(
        re_energise=("E-1",), assign=("W-9",), release=("W-1",)
    )
