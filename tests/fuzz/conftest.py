"""The fuzzer's target: the real app on the ``stack`` of tests/api (a fresh migrated database, the
Temporal dev server and a worker), served over HTTP by uvicorn inside the test's event loop, so the
app and the worker keep running while schemathesis, a separate process, sends its cases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import uvicorn

from api.main import create_app
from tests.api.conftest import Stack, api_client_for, auth, stack, staff  # noqa: F401 (fixtures)
from tests.fuzz.hooks import FUZZ_ADMIN_ID

FUZZ_ADMIN = ("fuzz-admin", "pass-word")
UNTHROTTLED = {
    "signin_free_failures": 10**9,
    "signin_max_failures": 10**9,
    "signin_address_max_failures": 10**9,
}
"""The fuzzer tries thousands of wrong passwords from one address, some for its own username (it
reads it from /auth/me): throttled, its own sign-in, needed again each time it signs itself out
(sign-out ends every token of the user), would be refused with 429."""


@dataclass
class Served:
    stack: Stack
    base_url: str
    token: str


@pytest.fixture
async def served(stack: Stack) -> AsyncIterator[Served]:  # noqa: F811 (the fixture imported above)
    from db.models import User
    from domain.consumers.types import ConsumerStatus
    from domain.users import Role
    from tests import factories
    from tests.api.conftest import _demo_hash

    async with stack.sessionmaker() as session:
        # the account number of the create example in the document, and one of each status
        await factories.consumer(session, account_number="WU-10001", status=ConsumerStatus.INACTIVE)
        for status in ConsumerStatus:
            await factories.consumer(session, status=status)
        admin = User(id=FUZZ_ADMIN_ID, username=FUZZ_ADMIN[0], full_name="Fuzz Admin", role=Role.ADMIN,
                     email="fuzz-admin@utility.example", password_hash=_demo_hash())  # fmt: skip
        session.add(admin)
        await session.commit()
    headers = auth(admin)
    created = await stack.client.post(
        "/api/v1/requests", json={"consumer_id": stack.inactive.id, "reason": "Other"}, headers=headers
    )
    assert created.status_code == 201, created.text

    settings = stack.client._transport.app.state.settings  # type: ignore[attr-defined]
    app = create_app(settings.model_copy(update=UNTHROTTLED))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(stack, f"http://127.0.0.1:{port}", headers["Authorization"].removeprefix("Bearer "))
    finally:
        server.should_exit = True
        await task
