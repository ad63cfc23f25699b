"""The escalation chain: at each level of an SLA escalation, who is told.

Admin-configured (a system setting): level 1 the request's assignee and the team's supervisors,
level 2 the duty managers, and so on; a level past the last configured one tells the last one's
people again. Each person is told once per level, in the app (an inbox with a badge) and by
e-mail; extra e-mail addresses (a duty phone's mail gateway, a shared mailbox) can be added.

Pure: the caller passes the people (active users) and the assignee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.users import Role

__all__ = ["DEFAULT_CHAIN", "EscalationChain", "EscalationStep", "Person", "Recipients", "recipients"]


class EscalationStep(BaseModel):
    """Who is told at one level."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    notify_assignee: bool = Field(default=False, description="The request's assignee, if it has one")
    roles: frozenset[Role] = Field(
        default=frozenset(), description="Every active user with one of these roles"
    )
    users: tuple[str, ...] = Field(default=(), description="These users by username")
    emails: tuple[str, ...] = Field(default=(), description="Extra e-mail addresses (no in-app inbox)")

    @field_validator("emails")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            if "@" not in address.strip("@") or " " in address:
                raise ValueError(f"not an e-mail address: {address!r}")
        return value


class EscalationChain(BaseModel):
    """Level 1 is ``levels[0]``; a level past the last one tells the last one's people."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: tuple[EscalationStep, ...] = Field(min_length=1)

    def step(self, level: int) -> EscalationStep:
        if level < 1:
            raise ValueError("escalation levels start at 1")
        return self.levels[min(level, len(self.levels)) - 1]


DEFAULT_CHAIN = EscalationChain(
    levels=(
        EscalationStep(notify_assignee=True, roles=frozenset({Role.SUPERVISOR})),  # the team
        EscalationStep(roles=frozenset({Role.SUPERVISOR, Role.ADMIN})),  # the duty manager
    )
)


@dataclass(frozen=True, slots=True)
class Person:
    user_id: int
    username: str
    role: Role
    email: str


@dataclass(frozen=True, slots=True)
class Recipients:
    users: tuple[Person, ...]  # each told in the app and by e-mail
    emails: tuple[str, ...]  # every address, the users' and the extra ones, once each


def recipients(
    chain: EscalationChain, level: int, *, people: Sequence[Person], assignee_id: int | None
) -> Recipients:
    """Who level ``level`` tells: the step's assignee, roles and named users among ``people``
    (the active users), each once, in ID order; their e-mail addresses and the step's extra ones."""
    step = chain.step(level)
    named = set(step.users)
    chosen = {
        p.user_id: p
        for p in people
        if p.role in step.roles or p.username in named or (step.notify_assignee and p.user_id == assignee_id)
    }
    users = tuple(chosen[k] for k in sorted(chosen))
    emails: list[str] = []
    for address in [*(p.email for p in users), *step.emails]:
        if address and address.lower() not in {e.lower() for e in emails}:
            emails.append(address)
    return Recipients(users=users, emails=tuple(emails))
