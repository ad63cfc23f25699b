"""Complaints in a real browser (issue 18, point 2): a CSR opens a complaint on the consumer's
Complaints tab, it is listed there and costs the health score its 5 points until it is resolved
with notes; resolved, it offers to reopen."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.ui.conftest import Site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


async def _health(site: Site, consumer_id: int) -> dict[str, Any]:
    overview = await site.api("GET", f"/api/v1/consumers/{consumer_id}/overview")
    health: dict[str, Any] = overview.json()["health"]
    return health


async def test_open_then_resolve_a_complaint_on_its_tab(page: Page, site: Site) -> None:
    consumer = site.spare[-2]
    before = await _health(site, consumer.id)

    await sign_in(page)
    await page.goto(f"/consumers/{consumer.id}?tab=complaints")
    await expect(page.locator("#complaints")).to_contain_text("No complaints.")
    await page.get_by_label("Category").select_option("Billing")
    await page.get_by_label("Complaint", exact=True).fill("Estimated bill far too high")
    await page.get_by_role("button", name="Open complaint").click()

    row = page.locator("#complaints tbody tr", has_text="Estimated bill far too high")
    await expect(row).to_contain_text("Billing")
    await expect(row).to_contain_text("Open")
    opened = await _health(site, consumer.id)
    assert opened["total_penalty"] == before["total_penalty"] + 5  # the open complaint's penalty

    await row.get_by_placeholder("How it was resolved").fill("Actual reading taken; rebilled")
    await row.get_by_role("button", name="Resolve").click()
    row = page.locator("#complaints tbody tr", has_text="Estimated bill far too high")
    await expect(row).to_contain_text("Resolution: Actual reading taken; rebilled")
    await expect(row.get_by_role("button", name="Reopen")).to_be_visible()
    resolved = await _health(site, consumer.id)
    assert resolved["total_penalty"] == before["total_penalty"]
    assert resolved["components"]["complaint_resolution"] != opened["components"]["complaint_resolution"]
