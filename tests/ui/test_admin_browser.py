"""The Administration pages in a real browser: an admin changes an SLA target, adds a time slot and
sees a refusal on the form it came from."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.ui.conftest import Site, sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


async def test_admin_changes_sla_and_time_slots(page: Page, site: Site) -> None:
    await sign_in(page, "admin")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Administration").click()
    await expect(page.get_by_role("heading", name="SLA targets")).to_be_visible()
    await page.get_by_label("Acknowledgement (minutes)").fill("100")
    await page.get_by_role("button", name="Save SLA targets").click()
    await expect(page.get_by_role("status")).to_contain_text("SLA targets saved")
    await expect(page.get_by_label("Acknowledgement (minutes)")).to_have_value("100")
    await expect(page.locator("main")).to_contain_text("Last changed by admin")
    await snap(page, "admin-sla")

    tabs = page.get_by_role("navigation", name="Administration sections")
    await tabs.get_by_role("link", name="Time slots").click()
    form = page.get_by_role("form", name="Add a time slot")

    async def add_slot(label: str, start: str, end: str, visits: str) -> None:
        for field, value in (("Label", label), ("From", start), ("To", end), ("Visits per day", visits)):
            await form.get_by_label(field).fill(value)
        await form.get_by_role("button", name="Add time slot").click()

    await add_slot("Evening", "18:00", "20:00", "2")
    await expect(page.get_by_role("status")).to_contain_text("Time slot Evening added.")
    await expect(page.get_by_label("Label of Evening")).to_have_value("Evening")

    # the same window again: refused on the add form, what was typed kept
    await add_slot("Evening again", "18:30", "19:30", "1")
    await expect(page.locator("#slot-new-error")).to_contain_text("overlaps")
    await expect(form.get_by_label("Label")).to_have_value("Evening again")
    await snap(page, "admin-slots")

    await expect(page.get_by_label("Evening offered")).to_be_checked()
    await page.get_by_label("Visits per day in Evening").fill("3")
    await page.get_by_label("Evening offered").uncheck()
    await page.get_by_role("button", name="Save Evening").click()
    await expect(page.get_by_role("status")).to_contain_text("Time slot Evening saved.")
    await expect(page.get_by_label("Visits per day in Evening")).to_have_value("3")
    await expect(page.get_by_label("Evening offered")).not_to_be_checked()
