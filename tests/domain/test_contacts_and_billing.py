"""What a logged contact must say, which contacts meet the response target, how a response goes,
and the billing an activation may choose."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.consumers.types import PaymentMode, UtilityType
from domain.request.rules import (
    MeterChoice,
    TransitionRefused,
    check_activation,
    check_contact,
    check_response_channel,
    contact_meets_response,
)
from domain.request.types import Channel, ContactOutcome, Direction

C, D, OC = Channel, Direction, ContactOutcome


@pytest.mark.parametrize(
    ("channel", "direction", "outcome", "duration", "notes"),
    [
        (C.PHONE, D.TO_CUSTOMER, OC.REACHED, 300, ""),
        (C.PHONE, D.FROM_CUSTOMER, OC.REACHED, None, "Asked about the date"),
        (C.PHONE, D.TO_CUSTOMER, OC.NO_ANSWER, None, ""),
        (C.IN_PERSON, D.FROM_CUSTOMER, OC.REACHED, 600, "Came to the office"),
        (C.IN_PERSON, D.TO_CUSTOMER, OC.NOBODY_HOME, None, ""),
        (C.SMS, D.FROM_CUSTOMER, None, None, "Is my power back on Friday?"),
        (C.EMAIL, D.FROM_CUSTOMER, None, None, "Please call me after 5"),
    ],
)
def test_contacts_that_describe_one_are_accepted(
    channel: Channel, direction: Direction, outcome: ContactOutcome | None, duration: int | None, notes: str
) -> None:
    check_contact(channel, direction, outcome, duration, notes)


@pytest.mark.parametrize(
    ("channel", "direction", "outcome", "duration", "notes", "fields"),
    [
        (C.PHONE, D.TO_CUSTOMER, None, None, "", ["outcome"]),
        (C.IN_PERSON, D.FROM_CUSTOMER, None, None, "", ["outcome"]),
        (C.SMS, D.TO_CUSTOMER, None, None, "hi", ["direction"]),
        (C.EMAIL, D.FROM_CUSTOMER, OC.REACHED, 60, "", ["outcome", "duration_minutes", "notes"]),
        (C.NOTE, D.FROM_CUSTOMER, None, None, "x", ["channel"]),
        (C.PHONE, D.INTERNAL, OC.REACHED, None, "", ["direction"]),
    ],
)
def test_a_contact_log_that_does_not_describe_one_is_refused_field_by_field(
    channel: Channel,
    direction: Direction,
    outcome: ContactOutcome | None,
    duration: int | None,
    notes: str,
    fields: list[str],
) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_contact(channel, direction, outcome, duration, notes)
    assert [p.field for p in refused.value.problems] == fields


def test_only_a_call_or_visit_that_reached_the_consumer_meets_the_response_target() -> None:
    assert contact_meets_response(C.PHONE, OC.REACHED)
    assert contact_meets_response(C.IN_PERSON, OC.REACHED)
    assert not contact_meets_response(C.PHONE, OC.NO_ANSWER)
    assert not contact_meets_response(C.PHONE, OC.LEFT_VOICEMAIL)
    assert not contact_meets_response(C.IN_PERSON, OC.NOBODY_HOME)
    assert not contact_meets_response(C.SMS, None)  # the consumer wrote to us: not our response
    assert not contact_meets_response(C.NOTE, None)


def test_a_response_is_delivered_by_email_or_sms_and_a_call_is_logged_instead() -> None:
    check_response_channel(C.EMAIL)
    check_response_channel(C.SMS)
    with pytest.raises(TransitionRefused, match="use Log contact") as refused:
        check_response_channel(C.PHONE)
    assert refused.value.code == "invalid_channel"
    with pytest.raises(TransitionRefused, match="A visit is logged"):
        check_response_channel(C.IN_PERSON)
    with pytest.raises(TransitionRefused, match="not 'note'"):
        check_response_channel(C.NOTE)


METERS = [MeterChoice(UtilityType.ELECTRICITY, "E-1", Decimal(10), date(2026, 1, 1))]
SERVICES = [(UtilityType.ELECTRICITY, True)]


def test_auto_pay_needs_a_payment_method_reference() -> None:
    with pytest.raises(TransitionRefused, match="Auto-pay needs a payment method reference") as refused:
        check_activation(SERVICES, METERS, today=date(2026, 1, 2), payment_mode=PaymentMode.AUTO_PAY)
    assert [(p.code, p.field) for p in refused.value.problems] == [
        ("payment_reference_required", "payment_reference")
    ]
    with pytest.raises(TransitionRefused, match="looks like a card"):
        check_activation(SERVICES, METERS, today=date(2026, 1, 2), payment_mode=PaymentMode.AUTO_PAY,
                         payment_reference="4111 1111 1111 1111")  # fmt: skip
    check_activation(SERVICES, METERS, today=date(2026, 1, 2), payment_mode=PaymentMode.AUTO_PAY,
                     payment_reference="MANDATE-2026-0042")  # fmt: skip
    check_activation(SERVICES, METERS, today=date(2026, 1, 2))  # Manual: nothing more needed
