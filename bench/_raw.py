"""The raw limit: a workflow with one update that returns at once, and a worker for it.

A second update, ``act``, is the raw limit of what every ConnectDesk action does by design and
temporalio charges for whoever writes it: one local activity (ConnectDesk's projection; here it
does nothing) and one search-attribute upsert (the request's status, which supervisors filter on
in the Temporal UI). api_bench prints ConnectDesk's actions against both.

api_bench starts and updates it on the same dev server as ConnectDesk, through a worker with the
settings ``worker.build_worker`` gives the request worker (temporalio's defaults, ConnectDesk's data
converter, and the same workflow runner: unsandboxed unless ``CONNECTDESK_WORKER_SANDBOXED``), in its
own process:

    python bench/_raw.py ADDRESS TASK_QUEUE [sandboxed]     # runs until SIGTERM / SIGINT
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from workflows.converter import data_converter
from workflows.search_attributes import REQUEST_STATUS


class Touch(BaseModel):
    actor: str


class Touched(BaseModel):
    count: int


class Finish(BaseModel):
    reason: str = "done"


@activity.defn(name="BenchRawProject")
async def project(touch: Touch) -> Touched:
    """The stand-in for a projection: answers at once, writes nothing."""
    return Touched(count=len(touch.actor))


@workflow.defn(name="BenchRaw")
class RawWorkflow:
    """Waits until finished; each ``touch`` update counts and answers, with no activity."""

    def __init__(self) -> None:
        self.count = 0
        self.finished = False

    @workflow.run
    async def run(self, finish: Finish) -> Touched:
        await workflow.wait_condition(lambda: self.finished)
        return Touched(count=self.count)

    @workflow.update
    def touch(self, touch: Touch) -> Touched:
        self.count += 1
        return Touched(count=self.count)

    @workflow.update
    async def act(self, touch: Touch) -> Touched:
        """An action's Temporal share: a local activity and a search-attribute upsert."""
        self.count += 1
        await workflow.execute_local_activity(project, touch, start_to_close_timeout=timedelta(seconds=10))
        workflow.upsert_search_attributes([REQUEST_STATUS.value_set(f"touched {self.count}")])
        return Touched(count=self.count)

    @workflow.signal
    def finish(self, finish: Finish) -> None:
        self.finished = True


async def main(address: str, task_queue: str, sandboxed: bool) -> int:
    client = await Client.connect(address, data_converter=data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The class as module _raw, not __main__: the workflow sandbox re-imports it by its module's name.
    from _raw import RawWorkflow as Registered
    from _raw import project as registered_project

    runner = SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner()
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[Registered],
        activities=[registered_project],
        workflow_runner=runner,
    ):
        await stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:] == ["sandboxed"])))
