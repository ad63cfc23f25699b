"""The escalation chain in force (a system setting) and the in-app notices it sends.

``notify_escalation`` runs inside the escalation's own transaction (the escalate activity): one
inbox line per person the chain's level names, keyed by the escalation's timeline event, so a
retried activity writes none twice. It returns every address the level's e-mail goes to. Who the
level names (``escalation_recipients``: three reads) may be read before that transaction, so
that a SQLite writer holds the lock for the writes alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Notification, ServiceRequest, User
from db.system_settings import get_setting, put_setting
from db.upsert import insert_for
from domain.request.escalation import DEFAULT_CHAIN, EscalationChain, Person, Recipients, recipients

CHAIN_KEY = "escalation_chain"
ESCALATION = "escalation"


async def load_chain(session: AsyncSession) -> EscalationChain:
    stored = await get_setting(session, CHAIN_KEY)
    return DEFAULT_CHAIN if stored is None else EscalationChain.model_validate(stored)


async def save_chain(session: AsyncSession, chain: EscalationChain, *, by: str) -> None:
    """Store the chain (validated by its model). Does not commit."""
    await put_setting(session, CHAIN_KEY, chain.model_dump(mode="json"), by=by)


async def escalation_recipients(session: AsyncSession, *, request_id: str, level: int) -> Recipients:
    """Who escalation ``level`` of ``request_id`` reaches in the app and by e-mail."""
    assignee = await session.scalar(
        select(ServiceRequest.assigned_to).where(ServiceRequest.request_id == request_id)
    )
    active = select(User.id, User.username, User.role, User.email).where(User.is_active).order_by(User.id)
    people = [Person(*u) for u in (await session.execute(active)).all()]
    return recipients(await load_chain(session), level, people=people, assignee_id=assignee)


async def escalation_emails(session: AsyncSession, *, request_id: str, level: int) -> tuple[str, ...]:
    """Every address escalation ``level`` of ``request_id`` is e-mailed to."""
    return (await escalation_recipients(session, request_id=request_id, level=level)).emails


async def notify_escalation(
    session: AsyncSession, *, request_id: str, level: int, title: str, body: str, key: str, at: datetime,
    told: Recipients | None = None,
) -> tuple[str, ...]:  # fmt: skip
    """Write the inbox lines of escalation ``level`` of ``request_id`` (once per person: ``key`` is
    the escalation's event key) and return the addresses its e-mail goes to. ``told``: its
    recipients as read already (else read here)."""
    if told is None:
        told = await escalation_recipients(session, request_id=request_id, level=level)
    if told.users:  # one statement for everyone told
        await session.execute(
            insert_for(session, Notification)
            .values([
                dict(
                    key=f"{key}:{person.user_id}", user_id=person.user_id, kind=ESCALATION,
                    request_id=request_id, level=level, title=title, body=body, created_at=at,
                )
                for person in told.users
            ])
            .on_conflict_do_nothing(index_elements=["key"])
        )  # fmt: skip
    return told.emails


async def unread_count(session: AsyncSession, user_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )
