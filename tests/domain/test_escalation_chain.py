"""The escalation chain: who each level tells, with worked examples and invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.request.escalation import DEFAULT_CHAIN, EscalationChain, EscalationStep, Person, recipients
from domain.users import Role

CSR_ANN = Person(1, "ann", Role.CSR, "ann@utility.example")
CSR_BOB = Person(2, "bob", Role.CSR, "bob@utility.example")
SUP_CY = Person(3, "cy", Role.SUPERVISOR, "cy@utility.example")
SUP_DEE = Person(4, "dee", Role.SUPERVISOR, "DEE@utility.example")
ADM_EVE = Person(5, "eve", Role.ADMIN, "dee@utility.example")  # shares a mailbox with Dee
PEOPLE = (CSR_ANN, CSR_BOB, SUP_CY, SUP_DEE, ADM_EVE)


def test_level_1_tells_the_assignee_and_the_supervisors() -> None:
    told = recipients(DEFAULT_CHAIN, 1, people=PEOPLE, assignee_id=CSR_BOB.user_id)
    assert [p.username for p in told.users] == ["bob", "cy", "dee"]
    assert told.emails == ("bob@utility.example", "cy@utility.example", "DEE@utility.example")


def test_level_2_tells_the_duty_managers_and_later_levels_the_same() -> None:
    second = recipients(DEFAULT_CHAIN, 2, people=PEOPLE, assignee_id=CSR_BOB.user_id)
    assert [p.username for p in second.users] == ["cy", "dee", "eve"]
    assert second.emails == ("cy@utility.example", "DEE@utility.example")  # one mail per mailbox
    assert recipients(DEFAULT_CHAIN, 7, people=PEOPLE, assignee_id=None) == second


def test_named_users_and_extra_addresses() -> None:
    chain = EscalationChain(levels=(EscalationStep(users=("ann",), emails=("duty@utility.example",)),))
    told = recipients(chain, 1, people=PEOPLE, assignee_id=None)
    assert [p.username for p in told.users] == ["ann"]
    assert told.emails == ("ann@utility.example", "duty@utility.example")


def test_an_unassigned_request_tells_nobody_as_assignee_and_bad_input_is_refused() -> None:
    chain = EscalationChain(levels=(EscalationStep(notify_assignee=True),))
    assert recipients(chain, 1, people=PEOPLE, assignee_id=None).users == ()
    with pytest.raises(ValidationError):
        EscalationChain(levels=())
    with pytest.raises(ValidationError, match="not an e-mail address"):
        EscalationStep(emails=("duty desk",))
    with pytest.raises(ValueError, match="start at 1"):
        DEFAULT_CHAIN.step(0)


steps = st.builds(
    EscalationStep,
    notify_assignee=st.booleans(),
    roles=st.frozensets(st.sampled_from(list(Role))),
    users=st.lists(st.sampled_from([p.username for p in PEOPLE]), max_size=3).map(tuple),
)


@given(
    levels=st.lists(steps, min_size=1, max_size=4),
    level=st.integers(1, 8),
    assignee=st.sampled_from([None, 1, 2, 3]),
)
def test_each_person_is_told_once_and_every_mailbox_once(levels, level, assignee) -> None:  # type: ignore[no-untyped-def]
    told = recipients(EscalationChain(levels=tuple(levels)), level, people=PEOPLE, assignee_id=assignee)
    ids = [p.user_id for p in told.users]
    assert ids == sorted(set(ids))
    lowered = [e.lower() for e in told.emails]
    assert len(lowered) == len(set(lowered))
    assert {p.email.lower() for p in told.users} <= set(lowered)
