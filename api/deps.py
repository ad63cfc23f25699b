"""Annotated dependencies shared by the routers.

Every dependency is ``async def``, even one that only reads app state: FastAPI runs a plain
``def`` dependency (or a class) in its thread pool, a thread hop on every request for nothing
(tests/api/test_dependencies.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.temporal import TemporalGateway
from settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.sessionmaker  # type: ignore[no-any-return]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_temporal(request: Request) -> TemporalGateway:
    return request.app.state.temporal  # type: ignore[no-any-return]


_MINIMAL = re.compile(r"(?:^|[,;\s])return\s*=\s*minimal(?:$|[,;\s])", re.IGNORECASE)


async def prefers_minimal(
    response: Response,
    prefer: Annotated[
        str | None,
        Header(
            description="RFC 7240. `return=minimal`: answer a write without the request's whole "
            "detail (GET it when needed); saves the reads that build it."
        ),
    ] = None,
) -> bool:
    """Whether the client asked for ``Prefer: return=minimal`` (and say that it was applied)."""
    minimal = bool(prefer and _MINIMAL.search(prefer))
    if minimal:
        response.headers["Preference-Applied"] = "return=minimal"
    return minimal


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
TemporalDep = Annotated[TemporalGateway, Depends(get_temporal)]
MinimalDep = Annotated[bool, Depends(prefers_minimal)]
