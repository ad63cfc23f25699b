"""Bulk work on the request list in a real browser: tick rows (or all matching), choose an action and
its fields, apply, and watch each request's outcome arrive, a chunk at a time, with the progress."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, Route, expect

from tests.ui.conftest import Site, sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


async def test_tick_rows_then_all_matching_and_see_each_outcome(page: Page, site: Site) -> None:
    count = min(10, len(site.spare))
    assert count > 8, "needs more than one chunk of requests"
    ids = [await site.create_request(consumer, "Moving out") for consumer in site.spare[:count]]
    await sign_in(page, "supervisor")
    await page.goto("/requests?status=Pending")
    rows = page.locator("#results tbody tr")
    await expect(rows).to_have_count(count)

    # two rows ticked, acknowledged
    for request_id in ids[:2]:
        await page.get_by_label(f"Select {request_id}", exact=True).check()
    await expect(page.locator("#bulk-count")).to_have_text("2 selected")
    await page.get_by_label("Bulk action").select_option("Acknowledge")
    await expect(page.get_by_label("Close reason")).to_be_hidden()  # only the chosen action's fields
    await page.get_by_role("button", name="Apply to selected", exact=True).click()
    results = page.locator("#bulk-results")
    await expect(results.locator("#bulk-tally")).to_have_text(
        "2 of 2 · 2 done · 0 refused · 0 failed · finished"
    )
    for request_id in ids[:2]:
        await expect(results.locator(f"[data-request-id='{request_id}']")).to_contain_text("Done")
    await expect(rows).to_have_count(count - 2)  # the list reloads: they are no longer Pending

    # every open request matching, acknowledged: the two done already are refused, the rest done,
    # in two rounds (the progress shows between them)
    await page.get_by_label("Status").select_option("open")
    await expect(rows).to_have_count(count)
    await page.get_by_label(f"Select all {count} matching").check()
    await expect(page.locator("#bulk-count")).to_have_text(f"all {count} matching selected")
    await page.get_by_role("button", name="Apply to selected", exact=True).click()
    await expect(results.locator("#bulk-tally")).to_have_text(
        f"{count} of {count} · {count - 2} done · 2 refused · 0 failed · finished"
    )
    await expect(results.locator(".bulk-outcome")).to_have_count(count)
    await expect(results.locator(".bulk-next")).to_have_count(0)
    for request_id in ids[:2]:
        refused = results.locator(f"[data-request-id='{request_id}']")
        await expect(refused).to_contain_text("Refused")
    await snap(page, "request-bulk")

    # a note on the first two, with its own fields
    for request_id in ids[:2]:
        await page.get_by_label(f"Select {request_id}", exact=True).check()
    await page.get_by_label("Bulk action").select_option("Add a note")
    await page.get_by_label("Note text").fill("Crew rescheduled after the storm")
    await page.get_by_role("button", name="Apply to selected", exact=True).click()
    await expect(results.locator("#bulk-tally")).to_have_text(
        "2 of 2 · 2 done · 0 refused · 0 failed · finished"
    )
    for request_id in ids[:2]:
        detail = (await site.api("GET", f"/api/v1/requests/{request_id}")).json()
        assert [c["body"] for c in detail["communications"]].count("Crew rescheduled after the storm") == 1


async def test_a_refresh_already_on_its_way_when_rows_are_ticked_does_not_clear_them(
    page: Page, site: Site
) -> None:
    # A pushed change refreshes the list unless rows are ticked; one sent just before the tick
    # arrives after it, and is dropped rather than swapped in over the selection.
    await site.create_request(site.spare[0], "Moving out")
    await sign_in(page, "supervisor")
    await page.goto("/requests?status=open")
    matching = page.locator("#select-matching")
    await expect(matching).to_be_visible()
    release, held = asyncio.Event(), asyncio.Event()

    async def hold_refreshes(route: Route) -> None:
        if route.request.headers.get("hx-trigger") == "live-refresh":
            held.set()
            await release.wait()
        await route.continue_()

    await page.route("**/requests?*", hold_refreshes)
    await page.evaluate("htmx.trigger(document.querySelector('[data-live-refresh]'), 'live-refresh')")
    await asyncio.wait_for(held.wait(), 10)
    await matching.check()  # while the refresh is on its way
    label = await matching.locator("xpath=..").inner_text()
    async with page.expect_response(
        lambda r: r.request.headers.get("hx-trigger") == "live-refresh"
    ) as answer:
        release.set()
    assert (await answer.value).status == 200
    await page.wait_for_timeout(300)  # htmx swaps (or drops) right after the answer
    await expect(matching).to_be_checked()
    await expect(page.locator("#bulk-count")).to_have_text(
        label.strip().removeprefix("Select ") + " selected"
    )


async def test_a_csr_is_offered_the_actions_their_role_may_take(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[0], "Moving out")
    await sign_in(page, "csr")
    await page.goto("/requests")
    options = await page.get_by_label("Bulk action").locator("option").all_inner_texts()
    assert options == ["Choose…", "Acknowledge", "Add a note", "Close with a reason"]
    await page.get_by_role("button", name="Apply to selected", exact=True).click()
    await expect(page.locator("#bulk-results")).to_contain_text("Choose what to do to the requests selected.")
    await page.get_by_label("Bulk action").select_option("Acknowledge")
    await page.get_by_role("button", name="Apply to selected", exact=True).click()
    await expect(page.locator("#bulk-results")).to_contain_text("Tick the requests to act on")
    await page.get_by_label(f"Select {request_id}", exact=True).check()
    await page.get_by_role("button", name="Apply to selected", exact=True).click()
    await expect(page.locator(f"#bulk-results [data-request-id='{request_id}']")).to_contain_text("Done")
    await expect(page).to_have_url(re.compile(r"/requests(\?.*)?$"))  # still the list, reloaded
