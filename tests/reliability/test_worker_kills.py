"""(a) The worker SIGKILLed every few seconds while requests move through their lifecycles: every
request ends where the script drove it, nothing is written twice, no workflow fails."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import record
from tests.reliability.rig import Rig, Scale, kill_worker_every

pytestmark = [pytest.mark.xdist_group("reliability"), pytest.mark.dev_server]


async def test_worker_sigkilled_every_few_seconds(rig: Rig, scale: Scale) -> None:
    result = await rig.run("worker SIGKILLed", kill_worker_every(scale))

    violations = record(result)
    assert result.worker_kills >= min(scale.max_worker_kills, 2)
    assert result.traffic.retried > 0  # the kills were felt: the API answered 503 and the client retried
    assert not violations, "\n".join(violations)
