"""The Requests pages in a real browser: a CSR's whole reconnection and disconnection, hold and
resume, closing with a reason, refusals shown in plain words, the live dashboard, and sign-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import update

from db.models import ServiceRequest
from domain.request.types import SlaState
from tests.ui.conftest import Site, assert_leaving_search_sends_nothing, sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RC = re.compile(r"/requests/(RC|DC)-\d{4}-\d{6}$")


def today() -> str:
    return datetime.now(UTC).date().isoformat()


async def status_is(page: Page, status: str) -> None:
    await expect(page.locator("#request-status")).to_have_text(status)


async def test_sign_in_redirects_back_and_sign_out(page: Page, site: Site) -> None:
    await page.goto("/requests")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Frequests$"))
    await page.get_by_label("Username").fill("csr")
    await page.get_by_label("Password").fill("wrong-password")
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    await expect(page.get_by_label("Username")).to_have_value("csr")  # what was typed is kept
    await snap(page, "login")
    await page.get_by_label("Password").fill("csr-demo")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(site.url("/requests"))
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Escalations")).to_have_count(0)  # a CSR's navigation

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("status")).to_have_text("You are signed out.")
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login"))


async def test_whole_reconnection_from_consumer_search_to_completed(page: Page, site: Site) -> None:
    consumer = site.reconnectable
    await sign_in(page)
    await snap(page, "dashboard")
    await page.get_by_role("link", name="New request").first.click()
    await snap(page, "request-create-search")

    # 1. search and pick the consumer (search as you type, partial match)
    await page.get_by_label("Name, account number, phone, address or meter").fill(
        consumer.account_number[-4:]
    )
    choice = page.locator(".choice", has_text=consumer.account_number)
    await choice.get_by_role("link", name=re.compile("^Select")).click()

    # 2. the type is decided by the system, with the eligibility check
    await expect(page.locator("#request-type")).to_have_text("Reconnection")
    await expect(page.locator("#eligibility")).to_contain_text("Eligible")
    date_input = page.get_by_label(re.compile("^Preferred date"))
    await expect(date_input).to_have_attribute("min", today())
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    await date_input.fill(yesterday)
    await expect(page.locator("#slots")).to_contain_text("The date must be today or later.")
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()  # today's windows may have begun
    await date_input.fill(tomorrow)
    slot = page.locator("#slots label.radio", has_text="left").first
    await slot.locator("input").check()
    await page.get_by_label("Reason").select_option("Outstanding balance cleared")
    await page.get_by_label(re.compile("^Notes")).fill("Gate code 4411")
    await snap(page, "request-create-details")
    await page.get_by_role("button", name="Review →").click()

    # 3. review, then submit
    review = page.locator("#review")
    await expect(review).to_contain_text("Outstanding balance cleared")
    await expect(review).to_contain_text("Gate code 4411")
    await snap(page, "request-create-review")
    await page.get_by_role("button", name="Submit request").click()
    await expect(page).to_have_url(RC)
    await status_is(page, "Pending")
    await expect(page.get_by_role("status")).to_contain_text("created")
    await snap(page, "request-detail")

    # acknowledgement, then plan, then activate
    await page.get_by_role("button", name="Acknowledgement").click()
    await status_is(page, "In Progress")
    await expect(page.get_by_role("button", name="Put on Hold")).to_be_visible()
    await page.get_by_role("link", name="Reconnect and activate").click()
    await expect(page).to_have_url(re.compile(r"tab=plan$"))
    await page.locator(".plan-option input[type=radio]").first.check()
    await snap(page, "request-plan")
    await page.get_by_role("button", name="Save and Next").click()
    await expect(page).to_have_url(re.compile(r"tab=activate$"))
    await expect(page.get_by_role("link", name="Reconnect and activate")).to_have_attribute(
        "href", re.compile(r"tab=activate$")
    )  # with a plan chosen the quick action goes straight to Activate

    meters = page.locator("select[name$='-meter_number']")
    for i in range(await meters.count()):
        await meters.nth(i).select_option(index=1)
        await page.locator(f"#reading-{i}").fill("-5")
    await page.get_by_role("button", name="Reconnect").click()
    await expect(page.locator("#activate-error")).to_contain_text("Reading must be 0 or more.")
    await expect(page.locator("#reading-0")).to_have_value("-5")  # the form keeps what was typed
    await expect(meters.first).not_to_have_value("")
    await snap(page, "request-activate-refused")
    for i in range(await meters.count()):
        await page.locator(f"#reading-{i}").fill("999999")
    # billing set up at activation: Auto-pay needs the payment method's reference
    await page.locator("#billing-cycle").select_option("Quarterly")
    await page.locator("#payment-method").select_option("Auto-pay")
    await page.get_by_role("button", name="Reconnect").click()
    await expect(page.locator("#activate-error")).to_contain_text("reference")
    await page.locator("#payment-reference").fill("MANDATE-4411")
    await snap(page, "request-activate")
    await page.get_by_role("button", name="Reconnect").click()

    await status_is(page, "Completed")
    await expect(page.locator(".tab-panel")).to_contain_text("Active")  # the consumer is Active now
    await expect(page.get_by_role("button", name="Close request")).to_have_count(0)
    await page.get_by_role("link", name="Timeline").click()
    for kind in ("Created", "Acknowledged", "Plan selected", "Completed"):
        await expect(page.locator(".timeline")).to_contain_text(kind)
    await snap(page, "request-timeline")
    await page.get_by_role("link", name="Communication").click()
    await snap(page, "request-communication")
    consumer_page = await page.locator(".detail-head a[href^='/consumers/']").get_attribute("href")
    await page.goto(f"{consumer_page}?tab=financial")
    await expect(page.locator("dl.facts", has_text="Billing cycle")).to_contain_text("Quarterly")
    await expect(page.locator("#payment-method")).to_contain_text("Auto-pay (MANDATE-4411)")


async def test_disconnection_from_the_consumer_profile(page: Page, site: Site) -> None:
    consumer = site.disconnectable
    await sign_in(page)
    await page.goto(f"/consumers/{consumer.id}")
    await page.get_by_role("link", name="Create request").click()
    await expect(page.locator("#request-type")).to_have_text("Disconnection")
    await page.get_by_label("Reason").select_option("Moving out")
    await page.get_by_role("button", name="Review →").click()
    await expect(page.locator("#review")).to_contain_text("Earliest available")
    # the disconnection's kind, decided by its reason, is shown before submit
    await expect(page.locator("#disconnection-kind")).to_contain_text("Permanent")
    await expect(page.locator("#disconnection-kind")).to_contain_text("Inactive")
    await page.get_by_role("button", name="Submit request").click()
    await expect(page).to_have_url(re.compile(r"/requests/DC-"))
    await page.get_by_role("button", name="Acknowledgement").click()
    await status_is(page, "In Progress")

    await page.get_by_role("link", name="Final readings and disconnect").click()
    readings = page.locator("input[name$='-reading']")
    assert await readings.count() >= 1
    for i in range(await readings.count()):
        await readings.nth(i).fill("99999999")
    await snap(page, "request-final-readings")
    await page.get_by_role("button", name="Disconnect").click()

    await status_is(page, "Completed")
    await expect(page.locator(".tab-panel")).to_contain_text("Inactive")


async def test_hold_and_resume(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[0], "Moving out")
    await sign_in(page)
    await page.goto(f"/requests/{request_id}")
    await expect(page.get_by_role("button", name="Put on Hold")).to_have_count(
        0
    )  # Pending: acknowledge first
    await page.get_by_role("button", name="Acknowledgement").click()
    await status_is(page, "In Progress")

    await page.get_by_role("button", name="Put on Hold").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Reason").fill("Awaiting payment confirmation")
    await snap(page, "request-hold-dialog")
    await dialog.get_by_role("button", name="Put on Hold").click()

    await status_is(page, "On Hold")
    await expect(page.get_by_role("button", name="Resume")).to_be_visible()
    await expect(page.get_by_role("button", name="Put on Hold")).to_have_count(0)
    await snap(page, "request-on-hold")
    await page.get_by_role("button", name="Resume").click()
    await status_is(page, "In Progress")
    await page.get_by_role("link", name="Timeline").click()
    await expect(page.locator(".timeline")).to_contain_text("Awaiting payment confirmation")


async def test_close_with_a_reason_then_find_it_in_history(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[1], "Moving out")
    await sign_in(page)
    await page.goto(f"/requests/{request_id}")
    await page.get_by_role("button", name="Close request").click()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label("Reason").select_option("Cancelled by consumer")
    await dialog.get_by_label("Notes").fill("Consumer phoned to cancel")
    await snap(page, "request-close-dialog")
    await dialog.get_by_role("button", name="Confirm close").click()

    await status_is(page, "Closed")
    await expect(page.locator("#close-reason-shown")).to_have_text(
        "Cancelled by consumer — Consumer phoned to cancel"
    )
    await expect(page.get_by_role("heading", name="Quick actions")).to_have_count(0)

    await page.get_by_role("link", name="History").click()
    await page.get_by_label("Search").fill(request_id[-6:])  # search as you type
    await expect(page.locator("#results tbody tr")).to_have_count(1)
    await expect(page.locator("#results")).to_contain_text(request_id)
    await snap(page, "request-history")


async def test_refused_actions_are_shown_in_plain_words(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[2], "Moving out")
    await sign_in(page)
    # a page whose live stream is lost (a network blip) keeps what it loaded: its buttons go stale
    await page.route("**/api/v1/events", lambda route: route.abort())
    await page.goto(f"/requests/{request_id}")
    # someone else acknowledges it meanwhile: this page's button is now out of date
    response = await site.api("POST", f"/api/v1/requests/{request_id}/acknowledge")
    assert response.status_code == 200, response.text
    await page.get_by_role("button", name="Acknowledgement").click()

    await expect(page.locator("#acknowledge-error")).to_have_text(
        "Request is already acknowledged: it is In Progress."
    )
    await status_is(page, "In Progress")
    await snap(page, "request-refused")

    # a profile locked by an open request cannot get a second one
    await page.goto(f"/requests/new?consumer_id={site.spare[2].id}")
    await expect(page.locator("#eligibility")).to_contain_text(f"already has open request {request_id}")
    await expect(page.get_by_role("button", name="Review →")).to_be_disabled()


async def test_dashboard_and_list_filters(page: Page, site: Site) -> None:
    first = await site.create_request(site.spare[3], "Moving out")
    await site.create_request(site.reconnectable, "Seasonal return")
    await sign_in(page)
    counter = page.locator("[data-counter=pending_disconnection]")
    await expect(counter).to_have_text("1")
    await site.create_request(site.spare[4], "Seasonal closure")
    await expect(counter).to_have_text("2", timeout=20_000)  # refreshed by htmx every 10 s

    await page.get_by_role("link", name="Requests", exact=True).click()
    await expect(page.locator("#results tbody tr")).to_have_count(3)
    await page.get_by_label("Type").select_option("Disconnection")
    await expect(page.locator("#results tbody tr")).to_have_count(2)
    await page.get_by_label("Status").select_option("Pending")
    await page.get_by_label("Priority").select_option("Medium")
    await page.get_by_label("SLA").select_option("On Track")
    await page.get_by_label("Created from").fill(today())
    await expect(page.locator("#results tbody tr")).to_have_count(2)
    await page.get_by_label("Search").fill(first)
    await expect(page.locator("#results tbody tr")).to_have_count(1)
    await expect(page).to_have_url(re.compile(r"type=Disconnection"))  # the filters are in the URL
    # The search's own answer pushes its URL; a live refresh (no URL) can show the one row first,
    # and the search still on its 300 ms delay would then land inside the next check (seen in CI).
    await expect(page).to_have_url(re.compile(f"q={first}"))
    await assert_leaving_search_sends_nothing(
        page, "Search", "Priority", "High", "/requests", "priority=High"
    )
    await page.get_by_label("Priority").select_option("Medium")
    await page.get_by_label("Search").fill("")
    await expect(page.locator("#results tbody tr")).to_have_count(2)
    await snap(page, "request-list")
    await page.get_by_label("Type").select_option("Reconnection")
    await expect(page.locator("#results tbody tr")).to_have_count(1)
    await page.get_by_label("Priority").select_option("Critical")
    await expect(page.locator("#results")).to_contain_text("No requests match.")


async def test_supervisor_escalation_queue_links_each_workflow(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[5], "Moving out")
    async with site.sessionmaker() as session:  # as the workflow's timer would have written it
        await session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.request_id == request_id)
            .values(sla_status=SlaState.AT_RISK)
        )
        await session.commit()
    workflow_url = (
        f"{site.settings.temporal_ui}/namespaces/default/workflows/{site.settings.workflow_id(request_id)}"
    )
    await sign_in(page, "supervisor")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Escalations").click()
    row = page.locator("tbody tr", has_text=request_id)
    await expect(row.get_by_role("link", name=re.compile("Temporal UI"))).to_have_attribute(
        "href", workflow_url
    )
    await snap(page, "escalations")
    await row.get_by_role("link", name=request_id, exact=True).click()
    await expect(page.locator("#temporal-link")).to_have_attribute("href", workflow_url)

    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, "csr")
    await page.goto(f"/requests/{request_id}")
    await expect(page.locator("#temporal-link")).to_have_count(0)
    await page.goto("/escalations")
    await expect(page.get_by_role("alert")).to_contain_text("needs the supervisor or admin role")


async def test_supervisor_reassigns_and_reprioritises_from_the_overview(page: Page, site: Site) -> None:
    request_id = await site.create_request(site.spare[6], "Moving out")
    await sign_in(page, "csr")
    await page.goto(f"/requests/{request_id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(request_id)
    await expect(page.get_by_label("Assign to")).to_have_count(0)  # a CSR sees neither form
    await expect(page.get_by_label("Change priority")).to_have_count(0)
    await page.get_by_role("button", name="Sign out").click()

    await sign_in(page, "supervisor")
    await page.goto(f"/requests/{request_id}")
    facts = page.locator("dl.facts").first
    await expect(facts).to_contain_text("Unassigned")
    await page.get_by_label("Assign to").select_option(label="Casey Rivera (csr)")
    await page.get_by_role("button", name="Save assignment").click()
    await expect(page.get_by_role("status")).to_contain_text("Assigned to csr")
    await expect(facts.locator("div", has_text="Assigned to")).to_contain_text("csr")
    await expect(page.get_by_label("Reassign to")).to_have_value(str(site.users["csr"].id))

    await page.get_by_label("Reassign to").select_option(label="Sam Okafor (supervisor)")
    await page.get_by_role("button", name="Save assignment").click()
    await expect(facts.locator("div", has_text="Assigned to")).to_contain_text("supervisor")
    await page.get_by_label("Change priority").select_option("Critical")
    await page.get_by_role("button", name="Save priority").click()
    await expect(facts.locator("div", has_text="Priority")).to_contain_text("Critical")
    await snap(page, "request-reassigned")

    await page.get_by_role("navigation", name="Request sections").get_by_role("link", name="Timeline").click()
    timeline = page.locator("main")
    await expect(timeline).to_contain_text("Assigned to csr.")
    await expect(timeline).to_contain_text("Assigned to supervisor.")
