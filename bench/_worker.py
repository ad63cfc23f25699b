"""``worker.py`` with an explicit workflow cache size, for scale_bench:

    python bench/_worker.py MAX_CACHED_WORKFLOWS     # settings from CONNECTDESK_* as worker.py

worker.py builds its Worker with temporalio's default cache (1,000 workflows) and has no setting
for it yet; this runs worker.main unchanged with the one argument added to its Worker.
"""

from __future__ import annotations

import asyncio
import functools
import sys

from temporalio.worker import Worker

import worker

worker.Worker = functools.partial(Worker, max_cached_workflows=int(sys.argv[1]))  # type: ignore[misc]

if __name__ == "__main__":
    raise SystemExit(asyncio.run(worker.main()))
