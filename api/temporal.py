"""The API's door to Temporal: a lazily connected client with an RPC timeout on every call, and the
one translation of Temporal's errors into the API's problems (``translated``).

A Temporal outage becomes ``DependencyUnavailable`` (503 + Retry-After), never a hang or a 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

from temporalio.client import (
    Client,
    Interceptor,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import DependencyUnavailable, Problem
from domain.request.types import RequestStatus
from workflows.converter import data_converter

log = logging.getLogger(__name__)
UNAVAILABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}


async def connect(address: str, namespace: str, interceptors: Sequence[Interceptor] = ()) -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=data_converter, interceptors=interceptors
    )


class TemporalGateway:
    def __init__(
        self, address: str, namespace: str, rpc_timeout: float, interceptors: Sequence[Interceptor] = ()
    ) -> None:
        self.address = address
        self.namespace = namespace
        self.rpc_timeout = timedelta(seconds=rpc_timeout)
        self.interceptors = interceptors  # tracing, when on
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
                        connect(self.address, self.namespace, self.interceptors),
                        self.rpc_timeout.total_seconds(),
                    )
                except (RuntimeError, OSError, TimeoutError) as exc:
                    raise DependencyUnavailable(
                        "temporal",
                        f"Temporal at {self.address} is unreachable; nothing was changed. Try again shortly.",
                    ) from exc
        return self._client

    async def signal_each(
        self, workflow_ids: Iterable[str], name: str, arg: object, *, what: str, at_once: int = 16
    ) -> list[str]:
        """Signal each workflow after a committed change, best effort (``at_once`` in flight): the
        change stands either way, and the workflows re-read the facts at their next timer and before
        they act on them. Returns the workflows that could not be told (one that has finished meanwhile
        needs nothing)."""
        gate = asyncio.Semaphore(at_once)

        async def tell(workflow_id: str) -> str | None:
            async with gate:
                try:
                    client = await self.client()
                    await client.get_workflow_handle(workflow_id).signal(
                        name, arg, rpc_timeout=self.rpc_timeout
                    )
                except (DependencyUnavailable, RPCError) as exc:
                    if isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND:
                        return None  # finished meanwhile: nothing left to tell
                    log.warning("could not tell %s that %s: %s", workflow_id, what, exc)
                    return workflow_id
                return None

        missed = await asyncio.gather(*(tell(w) for w in workflow_ids))
        return [w for w in missed if w is not None]

    async def check(self) -> None:
        """Raise DependencyUnavailable unless the Temporal frontend answers a health check in time."""
        client = await self.client()
        try:
            ok = await client.service_client.check_health(timeout=self.rpc_timeout)
        except RPCError as exc:
            raise DependencyUnavailable("temporal", f"Temporal health check failed: {exc.message}") from exc
        if not ok:
            raise DependencyUnavailable("temporal", "Temporal reports it is not serving")


FieldErrors = Callable[[BaseException | None], list[dict[str, str]]]


@contextmanager
def translated(
    request_id: str, *, finished: RequestStatus | None = None, field_errors: FieldErrors | None = None
) -> Iterator[None]:
    """Temporal's errors on a call to the request ``request_id``'s workflow, as the API's problems.

    A start (no ``finished``): the ID still held by an abandoned start's workflow, or any other
    refusal, is 503. An update (``finished``: the request's status as last read): a refusal by the
    workflow is 409 with its reason, or 422 when ``field_errors`` finds the data sent at fault; a
    workflow that has finished is 409; not answered in time, or Temporal not ready, is 503.
    """
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        kind = cause.type if isinstance(cause, ApplicationError) and cause.type else "TransitionRefused"
        message = cause.message if isinstance(cause, ApplicationError) else str(cause)
        if field_errors is not None and (errors := field_errors(cause)):
            raise Problem(422, message, type_="/problems/validation", reason=kind, errors=errors) from None
        raise Problem(409, message, type_="/problems/action-refused", reason=kind) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        # Temporal took the update but no worker ran it in time: it may still run later. A retry
        # under the same Idempotency-Key (the same update ID) gets that run's outcome, never a second.
        raise DependencyUnavailable(
            "temporal", "The request's workflow did not answer in time; try again shortly."
        ) from None
    except RPCError as exc:
        if finished is None:
            if exc.status is RPCStatusCode.ALREADY_EXISTS:  # an abandoned start of this number, winding down
                raise DependencyUnavailable(
                    "temporal", f"An earlier workflow for {request_id} is still closing; try again shortly."
                ) from exc
            raise DependencyUnavailable(
                "temporal", f"Could not start the request workflow: {exc.message}"
            ) from exc
        if exc.status is RPCStatusCode.NOT_FOUND or "already completed" in exc.message:
            raise Problem(
                409, f"Request {request_id} is {finished.value}; no further actions are possible.",
                type_="/problems/action-refused", reason="RequestFinished",
            ) from None  # fmt: skip
        # Anything else is Temporal not ready for the update: unreachable or slow, or a transient
        # state such as the workflow task failing while a killed worker's task times out
        # (FAILED_PRECONDITION "Workflow Task in failed state"). A retry gets through later.
        what = "did not answer in time" if exc.status in UNAVAILABLE else "could not take the action now"
        raise DependencyUnavailable("temporal", f"Temporal {what}: {exc.message}") from None
