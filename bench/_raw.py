"""The raw limit: a workflow with one update that returns at once, and a worker for it.

api_bench starts and updates it on the same dev server as ConnectDesk, through a worker with the
settings ``worker.build_worker`` gives the request worker (temporalio's defaults, the pydantic
converter), in its own process:

    python bench/_raw.py ADDRESS TASK_QUEUE     # runs until SIGTERM / SIGINT
"""

from __future__ import annotations

import asyncio
import signal
import sys

from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker


class Touch(BaseModel):
    actor: str


class Touched(BaseModel):
    count: int


class Finish(BaseModel):
    reason: str = "done"


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

    @workflow.signal
    def finish(self, finish: Finish) -> None:
        self.finished = True


async def main(address: str, task_queue: str) -> int:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The class as module _raw, not __main__: the workflow sandbox re-imports it by its module's name.
    from _raw import RawWorkflow as Registered

    async with Worker(client, task_queue=task_queue, workflows=[Registered]):
        await stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1], sys.argv[2])))
