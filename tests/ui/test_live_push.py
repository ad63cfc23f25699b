"""Live push in a real browser (issue 17, point 5): a change another user makes through the API
appears on a CSR's open request page, the request list and the dashboard within a second, without
a reload.

The goal is a second from the other user's answer to the change on screen; the test prints the
figure it saw. It waits up to ``PUSHED`` for each change, so a loaded CI machine (a 1.4 s stall of
every request, seen once on PostgreSQL) does not fail it, yet nothing but the push can bring a change
in: the pages do not poll and the test fails on any reload."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.async_api import Page, expect

from api.auth.service import issue_token
from tests.ui.conftest import Site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PUSHED = 10_000  # ms: the longest wait for a pushed change to show (the goal is 1,000, printed)
STILL = 1_000  # ms: how long a list under a CSR's selection is watched for holding still


async def _live(page: Page) -> None:
    await expect(page.locator("main")).to_have_attribute("data-live", "open")


async def test_another_users_change_appears_without_a_reload(page: Page, site: Site) -> None:
    supervisor = {"Authorization": f"Bearer {issue_token(site.users['supervisor'], site.settings)}"}
    async with httpx.AsyncClient(base_url=site.base_url, timeout=30) as api:
        created = await api.post(
            "/api/v1/requests",
            json={"consumer_id": site.reconnectable.id, "reason": "Seasonal return"},
            headers=supervisor,
        )
        assert created.status_code == 201, created.text
        rid = created.json()["request_id"]

        await sign_in(page)
        dashboard = await page.context.new_page()
        await dashboard.goto("/")
        await _live(dashboard)
        pending = dashboard.locator('[data-counter="pending_connection"]')
        before = int(await pending.inner_text())
        listing = await page.context.new_page()
        await listing.goto("/requests?status=open")
        await _live(listing)
        row = listing.locator("tr", has_text=rid)
        await expect(row).to_contain_text("Pending")
        refreshes: list[str] = []  # named by htmx (HX-Trigger), so the search tests can tell them apart
        listing.on(
            "request",
            lambda r: refreshes.append(r.url) if r.headers.get("hx-trigger") == "live-refresh" else None,
        )
        await page.goto(f"/requests/{rid}")
        await _live(page)
        await expect(page.locator("#request-status")).to_have_text("Pending")
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))

        acknowledged = await api.post(f"/api/v1/requests/{rid}/acknowledge", headers=supervisor)
        assert acknowledged.status_code == 200, acknowledged.text
        answered = time.monotonic()
        await expect(page.locator("#request-status")).to_have_text("In Progress", timeout=PUSHED)
        shown = time.monotonic() - answered
        await expect(row).to_contain_text("In Progress", timeout=PUSHED)
        assert refreshes and all("/requests?" in url for url in refreshes), refreshes
        await row.locator("input[type=checkbox]").check()  # ticked for bulk work: the list holds still

        closed = await api.post(
            f"/api/v1/requests/{rid}/close", json={"reason": "Issue resolved"}, headers=supervisor
        )
        assert closed.status_code == 200, closed.text
        await expect(pending).to_have_text(str(before - 1), timeout=PUSHED)
        await expect(page.locator("#request-status")).to_have_text("Closed", timeout=PUSHED)
        await listing.wait_for_timeout(STILL)
        await expect(row.locator("input[type=checkbox]")).to_be_checked()
        await expect(row).to_contain_text("In Progress")  # not refreshed under the CSR's selection

    assert navigations == []  # changed in place: no reload
    print(f"live push: the status changed on screen {shown * 1000:.0f} ms after the API answered")
