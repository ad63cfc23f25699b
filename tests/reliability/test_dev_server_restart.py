"""(b) The Temporal dev server SIGKILLed and restarted on its persistent file under load."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import record
from tests.reliability.rig import Rig, Scale, restart_dev_server

pytestmark = [pytest.mark.xdist_group("reliability"), pytest.mark.dev_server]


async def test_dev_server_sigkilled_and_restarted(rig: Rig, scale: Scale) -> None:
    result = await rig.run("dev server restarted", restart_dev_server(scale))

    violations = record(result)
    assert result.dev_server_restarts == scale.dev_server_restarts
    assert result.traffic.retried_503["temporal"] > 0  # calls failed while it was down, and were retried
    assert not violations, "\n".join(violations)
