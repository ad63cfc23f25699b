from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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
