"""The API's door to Temporal: a lazily connected client with an RPC timeout on every call.

A Temporal outage becomes ``DependencyUnavailable`` (503 + Retry-After), never a hang or a 500.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from api.errors import DependencyUnavailable

UNAVAILABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}


async def connect(address: str, namespace: str) -> Client:
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)


class TemporalGateway:
    def __init__(self, address: str, namespace: str, rpc_timeout: float) -> None:
        self.address = address
        self.namespace = namespace
        self.rpc_timeout = timedelta(seconds=rpc_timeout)
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The connected client; connects on first use so the API starts even while Temporal is down."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(
                        connect(self.address, self.namespace), self.rpc_timeout.total_seconds()
                    )
                except (RuntimeError, OSError, TimeoutError) as exc:
                    raise DependencyUnavailable(
                        "temporal",
                        f"Temporal at {self.address} is unreachable; nothing was changed. Try again shortly.",
                    ) from exc
        return self._client

    async def check(self) -> None:
        """Raise DependencyUnavailable unless the Temporal frontend answers a health check in time."""
        client = await self.client()
        try:
            ok = await client.service_client.check_health(timeout=self.rpc_timeout)
        except RPCError as exc:
            raise DependencyUnavailable("temporal", f"Temporal health check failed: {exc.message}") from exc
        if not ok:
            raise DependencyUnavailable("temporal", "Temporal reports it is not serving")
