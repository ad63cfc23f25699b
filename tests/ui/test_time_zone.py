"""The web UI shows dates and times in the utility's time zone (issue 17, point 1): a request
created at 09:00 UTC on the day New York leaves daylight saving time reads 04:00 EST there, and
the API keeps ISO 8601 with its offset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from api.clock import use_time_zone
from api.main import create_app
from db.models import User
from settings import Settings
from tests import factories
from tests.ui.conftest import signed_in


async def _page(db_url: str, zone: str, path: str, user: User) -> str:
    app = create_app(Settings(database_url=db_url, time_zone=zone))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(path, headers=signed_in(user))
    assert response.status_code == 200, response.text[:300]
    return response.text


async def test_pages_show_the_utilitys_time_zone(
    db_url: str, sessionmaker: Any, users: dict[str, User]
) -> None:
    async with sessionmaker() as session:
        consumer = await factories.consumer(session)
        row = await factories.request_row(session, consumer.id)  # created 2026-11-01 09:00 UTC
        await session.commit()
    try:
        local = await _page(db_url, "America/New_York", f"/requests/{row.request_id}", users["csr"])
        assert "created 01 Nov 2026 04:00 EST" in local  # DST ended at 06:00 UTC that morning
        utc = await _page(db_url, "UTC", f"/requests/{row.request_id}", users["csr"])
        assert "created 01 Nov 2026 09:00 UTC" in utc
    finally:
        use_time_zone("UTC")


def test_a_forms_wall_clock_time_is_read_in_the_utilitys_zone() -> None:
    """A ``datetime-local`` field has no offset: 09:30 typed in New York is 14:30 UTC (EST); a value
    with its own offset is kept as given."""
    from starlette.datastructures import FormData

    from api.ui.request_pages import _body
    from workflows.actions import FollowUpBody

    use_time_zone("America/New_York")
    try:
        typed = _body(FollowUpBody, {"at": "2026-12-03T09:30", "note": ""}, FormData())
        offset = _body(FollowUpBody, {"at": "2026-12-03T09:30+01:00", "note": ""}, FormData())
    finally:
        use_time_zone("UTC")
    assert isinstance(typed, FollowUpBody) and isinstance(offset, FollowUpBody)
    assert typed.at is not None and typed.at.astimezone(UTC) == datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    assert offset.at is not None and offset.at.astimezone(UTC) == datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
