from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.main import create_app
from settings import Settings

ApiFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def api_client_for() -> ApiFactory:
    """Build the real app with the given settings, run its lifespan, and talk to it over ASGI."""

    @asynccontextmanager
    async def factory(**overrides: object) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(Settings(**overrides))  # type: ignore[arg-type]
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                yield client

    return factory


_HASH = None


def _demo_hash() -> str:
    global _HASH
    if _HASH is None:
        from domain.passwords import hash_password

        _HASH = hash_password("pass-word")
    return _HASH


@pytest.fixture
async def staff(sessionmaker: Any) -> dict[str, Any]:
    """One active user per role (password 'pass-word'), keyed by role value: csr, supervisor, admin."""
    from db.models import User
    from domain.users import Role

    users = {}
    async with sessionmaker() as session:
        for role in Role:
            user = User(username=role.value, full_name=f"{role.value.title()} User", email=f"{role.value}@utility.example",
                        role=role, password_hash=_demo_hash())  # fmt: skip
            session.add(user)
            users[role.value] = user
        await session.commit()
    return users


def auth(user: Any) -> dict[str, str]:
    """Bearer headers for ``user`` (a token issued with the default settings' secret)."""
    from api.auth.service import issue_token

    return {"Authorization": f"Bearer {issue_token(user, Settings())}"}


def worker_activities(sessionmaker: Any) -> Any:
    """The worker's activities over ``sessionmaker``, sending no e-mail (no SMTP host)."""
    from activities.mail import Mailer
    from activities.request import RequestActivities

    return RequestActivities(sessionmaker, Mailer("", 25, "desk@utility.example"), "sup@utility.example")


@dataclass
class Stack:
    """The real app over a real database, a real Temporal dev server and a worker."""

    client: httpx.AsyncClient
    sessionmaker: Any
    staff: dict[str, Any]
    inactive: Any  # a consumer who gets a Reconnection
    active: Any  # a consumer with a meter in service, who gets a Disconnection
    plan: Any
    meters: dict[str, Any]
    slot: Any

    def as_(self, role: str) -> dict[str, str]:
        return auth(self.staff[role])


@pytest.fixture
async def stack(
    api_client_for: ApiFactory,
    db_url: str,
    sessionmaker: Any,
    staff: dict[str, Any],
    dev_env: Any,
    task_queue: str,
) -> AsyncIterator[Stack]:
    from datetime import date
    from decimal import Decimal

    from db.models import MeterAssignment, Plan, PlanService
    from domain.consumers.types import Category, ConsumerStatus, MeterStatus, UtilityType
    from tests import factories
    from worker import build_worker

    async with sessionmaker() as session:
        await factories.utilities(session)
        inactive = await factories.consumer(session, status=ConsumerStatus.INACTIVE)
        active = await factories.consumer(session, status=ConsumerStatus.ACTIVE)
        plan = Plan(
            name="Standard Residential", short_name="RES-STD", category=Category.RESIDENTIAL, sub_category="Standard",
            monthly_fee=Decimal("25.00"), rates={}, features=[],
            services=[PlanService(utility=UtilityType.ELECTRICITY, metered=True)],
        )  # fmt: skip
        session.add(plan)
        meters = {
            "elec": await factories.meter(session, UtilityType.ELECTRICITY),
            "in_service": await factories.meter(
                session, UtilityType.ELECTRICITY, status=MeterStatus.ASSIGNED, last_reading=Decimal("500.00")
            ),
        }
        session.add(
            MeterAssignment(
                meter_id=meters["in_service"].id, consumer_id=active.id, assigned_on=date(2025, 1, 1)
            )
        )
        slot = await factories.time_slot(session, capacity=3)
        await session.commit()

    address = dev_env.client.service_client.config.target_host
    activities = worker_activities(sessionmaker)
    async with (
        build_worker(dev_env.client, Settings(), activities, task_queue=task_queue),
        api_client_for(
            database_url=db_url,
            temporal_address=address,
            temporal_task_queue=task_queue,
            workflow_id_prefix=f"{task_queue}/",  # one dev server serves every test: keep IDs apart
        ) as client,
    ):
        yield Stack(client, sessionmaker, staff, inactive, active, plan, meters, slot)
