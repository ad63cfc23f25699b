"""Helpers of the lawful-disconnection workflow tests: the profile in force, the state, waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from db import disconnection as stored
from domain.disconnection.profile import JurisdictionProfile
from tests.workflows.conftest import World
from workflows.request import RequestWorkflow
from workflows.schemas import RequestState


async def use_profile(world: World, profile: JurisdictionProfile) -> None:
    async with world.sessionmaker() as session:
        await stored.save_profile(session, profile, by="admin")
        await session.commit()


async def state_of(handle: Any) -> RequestState:
    state: RequestState = await handle.query(RequestWorkflow.state)
    return state


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Until ``check()`` holds (up to 15 s of real time): for effects of signals and timers."""
    for _ in range(300):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")
