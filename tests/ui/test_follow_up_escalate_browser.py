"""A CSR's "Remind me" and "Escalate now" on a request page, in a real browser (issue 17, points 3
and 4): the reminder is listed on the request and on the dashboard's follow-ups due today; the
escalation shows in the header and on the timeline."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect

from tests.ui.conftest import Site, sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


async def _a_moment_later_today() -> datetime:
    """A whole minute two to three minutes from now, still today (the site's zone is UTC): just
    before midnight, wait for the new day first."""
    now = datetime.now(UTC)
    if (now + timedelta(minutes=3)).date() != now.date():
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        await asyncio.sleep((midnight - now).total_seconds() + 1)
        now = datetime.now(UTC)
    return (now + timedelta(minutes=3)).replace(second=0, microsecond=0)


async def test_remind_me_lists_the_follow_up_on_the_request_and_the_dashboard(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[0], "Moving out")
    at = await _a_moment_later_today()
    await sign_in(page)
    await page.goto(f"/requests/{request_id}")
    await expect(page).to_have_title(f"{request_id} · ConnectDesk")  # the dialogs live in the body

    await page.get_by_role("button", name="Remind me…").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Date and time").fill(
        at.strftime("%Y-%m-%dT%H:%M")
    )  # wall clock, the utility's zone
    await dialog.get_by_label("What to follow up on").fill("Check the crew booked the visit")
    await snap(page, "request-follow-up-dialog")
    await dialog.get_by_role("button", name="Set reminder").click()

    await expect(page.get_by_role("status")).to_contain_text(f"Follow-up set for {at:%Y-%m-%d %H:%M} UTC")
    card = page.locator("#follow-ups")
    await expect(card).to_contain_text("Check the crew booked the visit")
    await expect(card.locator("li")).to_have_attribute("data-state", "pending")

    await page.goto("/")
    await expect(page).to_have_title("Dashboard · ConnectDesk")
    due = page.locator("#follow-ups-due")
    await expect(due.get_by_role("link", name=request_id)).to_be_visible()
    await expect(due).to_contain_text("Check the crew booked the visit")
    await snap(page, "dashboard-follow-ups")

    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, "supervisor")  # not theirs: the request is unassigned and the CSR set it
    await expect(page.locator("#follow-ups-due")).to_contain_text("Nothing to follow up on today.")


async def test_a_time_in_the_past_is_refused_in_the_dialog_and_what_was_typed_is_kept(
    page: Page, site: Site
) -> None:
    request_id = await site.create_request(site.spare[1], "Moving out")
    await sign_in(page)
    await page.goto(f"/requests/{request_id}")
    await page.get_by_role("button", name="Remind me…").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Date and time").fill("2020-01-01T09:00")
    await dialog.get_by_label("What to follow up on").fill("Too late")
    await dialog.get_by_role("button", name="Set reminder").click()

    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_role("alert")).to_contain_text("A follow-up must be in the future.")
    await expect(dialog.get_by_label("What to follow up on")).to_have_value("Too late")
    await expect(page.locator("#follow-ups")).to_have_count(0)


async def test_escalate_now_with_a_reason(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[2], "Moving out")
    await sign_in(page)
    await page.goto(f"/requests/{request_id}")
    await page.get_by_role("button", name="Escalate now…").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_role("heading")).to_have_text(f"Escalate {request_id} to level 1")
    await dialog.get_by_label("Why it needs them now").fill("Consumer on life support equipment")
    await dialog.get_by_role("button", name="Escalate").click()

    await expect(page.locator("#live-head")).to_contain_text("Escalated · level 1")
    await page.get_by_role("link", name="Timeline").click()
    await expect(page.locator(".timeline")).to_contain_text("Consumer on life support equipment")
