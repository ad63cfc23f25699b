"""(c) The database unavailable during actions: PostgreSQL refusing connections (its proxy cut),
or the SQLite file locked by another connection. The API answers 503 + Retry-After meanwhile, and
everything converges once the database is back."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import FULL, record
from tests.reliability.rig import Rig, Scale, database_outage

pytestmark = [pytest.mark.xdist_group("reliability"), pytest.mark.dev_server]

# SQLite writers wait out a 30 s busy timeout (db.session) before they fail: hold the lock longer.
SQLITE_LOCK_SECONDS = 35.0


async def test_database_unavailable_during_actions(rig: Rig, scale: Scale) -> None:
    sqlite = rig.proxy is None
    if sqlite and not FULL:
        pytest.skip(
            "a SQLite outage outlasts the 30 s busy timeout: too long for the light pass (make prove)"
        )
    outage = database_outage(
        scale,
        times=1 if sqlite or not FULL else 2,
        seconds=SQLITE_LOCK_SECONDS if sqlite else scale.outage_seconds,
    )
    result = await rig.run("database unavailable", outage)

    violations = record(result)
    assert result.database_outages >= 1
    assert result.traffic.retried_503["database"] > 0  # the API said so, with Retry-After
    assert not violations, "\n".join(violations)
