"""(d) Rolling restarts: the worker SIGTERMed every few seconds, as a deployment replaces it, while
requests move through their lifecycles. Each stop is graceful (exit code 0, within the grace
period): no update is lost, nothing is written twice, every request ends where its script drove it."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import record
from tests.reliability.rig import SHUTDOWN_GRACE, Rig, Scale, roll_worker_every

pytestmark = [pytest.mark.xdist_group("reliability"), pytest.mark.dev_server]


async def test_worker_rolling_restarts_lose_nothing(rig: Rig, scale: Scale) -> None:
    result = await rig.run(
        "worker SIGTERMed (rolling restart)", roll_worker_every(scale, grace=SHUTDOWN_GRACE)
    )

    violations = record(result)
    # At least one graceful stop under load. The light pass's 20 requests can finish before a second
    # one: a restarted worker that exits by itself is started again by the supervisor and uses up
    # the window (seen in 2 of 6 clean runs; counted in worker_unplanned_exits, reported by record).
    assert result.worker_terms >= 1
    assert rig.worker.term_exit_codes == [0] * result.worker_terms  # every stop graceful, none killed
    assert result.worker_term_seconds_max <= SHUTDOWN_GRACE + 5
    assert not violations, "\n".join(violations)
