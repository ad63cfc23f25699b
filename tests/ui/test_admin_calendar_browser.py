"""The business calendar in a real browser (issue 17, point 1): an admin adds a working window and a
closure, saves, sees both listed, and checks when business hours end."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.ui.conftest import Site, sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


async def test_admin_edits_the_business_calendar(page: Page, site: Site) -> None:
    await sign_in(page, "admin")
    await page.goto("/admin")
    tabs = page.get_by_role("navigation", name="Administration sections")
    await tabs.get_by_role("link", name="Business calendar").click()
    await expect(page.get_by_role("heading", name="Business calendar", exact=True)).to_be_visible()

    # a second window on Monday (after a lunch break) and a Saturday morning
    await page.get_by_label("Monday window 1 to").fill("12:00")
    await page.get_by_label("Monday new window from").fill("13:00")
    await page.get_by_label("Monday new window to").fill("17:00")
    await page.get_by_label("Saturday new window from").fill("09:00")
    await page.get_by_label("Saturday new window to").fill("13:00")
    await page.get_by_label("Time zone").fill("America/New_York")
    await page.get_by_label("Public holidays of").select_option("US")
    await page.get_by_role("button", name="Save business calendar").click()
    await expect(page.get_by_role("status")).to_contain_text("Business calendar saved")
    await expect(page.get_by_label("Monday window 2 from")).to_have_value("13:00")
    await expect(page.get_by_label("Saturday window 1 to")).to_have_value("13:00")
    await expect(page.get_by_label("Time zone")).to_have_value("America/New_York")
    await expect(page.locator("#closed-this-year")).to_contain_text("Independence Day")

    closure = page.get_by_role("form", name="Add a closure")
    await closure.get_by_label("Closed on").fill("2030-12-24")
    await closure.get_by_label("Why").fill("Christmas Eve")
    await closure.get_by_role("button", name="Add closure").click()
    await expect(page.get_by_role("status")).to_contain_text("Closure on 24 Dec 2030 (Christmas Eve) added.")
    await expect(page.get_by_role("table", name="Closures")).to_contain_text("Christmas Eve")
    await expect(page.get_by_label("Monday window 2 from")).to_have_value("13:00")  # the windows kept

    # an overlap is refused on the form, what was typed kept
    await page.get_by_label("Tuesday new window from").fill("16:00")
    await page.get_by_label("Tuesday new window to").fill("18:00")
    await page.get_by_role("button", name="Save business calendar").click()
    await expect(page.locator("#calendar-error")).to_contain_text("Tuesday: working windows overlap")
    await expect(page.get_by_label("Tuesday window 2 from")).to_have_value("16:00")

    check = page.get_by_role("form", name="Check the calendar")
    await check.get_by_label("From").fill("2030-12-23T16:00")  # a Monday; the 24th closed, the 25th a holiday
    await check.get_by_label("Business hours").fill("2")
    await check.get_by_role("button", name="When do they end?").click()
    await expect(page.locator("#preview-answer")).to_contain_text("end Thu 26 Dec 2030 09:00 EST")
    await snap(page, "admin-calendar")
