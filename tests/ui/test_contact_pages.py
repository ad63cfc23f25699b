"""Logging a call on a request in a real browser: it shows in the Communication tab with its
direction and outcome, and a call that reached the consumer meets the response target."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.ui.conftest import Site, sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


async def test_log_a_call_on_a_request_and_see_it_in_the_communication_tab(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[0], "Moving out")
    await sign_in(page)
    await page.goto(f"/requests/{request_id}?tab=communication")

    form = page.locator("form[action$='/actions/contacts']")
    await form.get_by_label("Contact").select_option("phone")
    await form.get_by_label("Outbound (to the consumer)").check()
    await form.get_by_label("Outcome").select_option("Reached")
    await form.get_by_label("Duration in minutes").fill("6")
    await form.get_by_label("Notes").fill("Confirmed the meter access for Friday")
    await snap(page, "request-log-contact")
    await form.get_by_role("button", name="Log contact").click()

    await expect(page.get_by_role("status")).to_contain_text("Outbound call logged")
    entry = page.locator(".feed-item").first
    await expect(entry).to_contain_text("Phone")
    await expect(entry.locator(".direction")).to_have_text("→ To Customer")
    await expect(entry.locator(".outcome")).to_have_text("Reached")
    await expect(entry).to_contain_text("6 min")
    await expect(entry).to_contain_text("Confirmed the meter access for Friday")

    detail = (await site.api("GET", f"/api/v1/requests/{request_id}")).json()
    response = next(c for c in detail["sla"] if c["target"] == "response")
    assert response["state"] == "Met"


async def test_a_call_without_its_outcome_is_refused_on_the_form(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[0], "Moving out")
    await sign_in(page)
    await page.goto(f"/requests/{request_id}?tab=communication")
    form = page.locator("form[action$='/actions/contacts']")
    await form.get_by_label("Contact").select_option("phone")
    await form.get_by_role("button", name="Log contact").click()
    await expect(page.get_by_text("Say how the call went (its outcome).")).to_be_visible()
    await expect(page.locator(".feed-item .outcome")).to_have_count(0)
