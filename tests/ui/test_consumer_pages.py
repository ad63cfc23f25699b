"""The Consumers pages in a real browser: dashboard, search as you type, the profile header and
every tab, with a note, a service order and a document upload."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.ui.conftest import Site, assert_leaving_search_sends_nothing, sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


async def test_consumer_search_and_every_profile_tab(page: Page, site: Site, tmp_path: Path) -> None:
    consumer = site.disconnectable
    await sign_in(page)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Consumers").click()
    await expect(page.get_by_role("list", name="Consumer accounts")).to_contain_text("Total accounts")
    await snap(page, "consumers")

    await page.get_by_label("Search consumers").fill(consumer.last_name.lower())  # any case, partial
    await expect(page).to_have_url(re.compile(r"q="))  # pushed once the results were swapped in
    results = page.locator("#consumer-results tbody tr")
    await expect(results.filter(has_text=consumer.account_number)).to_have_count(1)
    await page.get_by_role("link", name=f"{consumer.first_name} {consumer.last_name}").first.click()

    # the header: status colour, balance, alerts
    await expect(page.get_by_role("heading", level=1)).to_contain_text(consumer.last_name)
    await expect(page.locator("#consumer-status")).to_have_text("Active")
    await expect(page.locator("#balance")).not_to_be_empty()
    await expect(page.locator("#health-score")).to_have_text(re.compile(r"^\d+$"))
    await snap(page, "consumer-overview")

    tabs = page.get_by_role("navigation", name="Consumer sections")
    await tabs.get_by_role("link", name="Financial").click()
    await expect(page.get_by_role("heading", name="Payment history")).to_be_visible()
    await expect(page.locator("#compliance")).to_have_text(re.compile(r"%|—"))
    await snap(page, "consumer-financial")

    await tabs.get_by_role("link", name="Connections").click()
    await expect(page.locator(".meter-card").first).to_contain_text("Meter number")
    await expect(page.locator("svg.readings-chart").first).to_be_visible()  # the readings trend
    await snap(page, "consumer-connections")

    await tabs.get_by_role("link", name="Service").click()
    await page.get_by_label("Service type").select_option("Inspections")
    await page.get_by_label("Description").fill("Check the meter seal")
    await page.get_by_role("button", name="Create service order").click()
    await expect(page.get_by_role("status")).to_contain_text(re.compile(r"Service order SO-\d+ created"))
    order = page.locator("tbody tr", has_text="Check the meter seal")
    await expect(order).to_contain_text("Scheduled")
    await order.get_by_role("button", name=re.compile("^Start")).click()
    await expect(page.locator("tbody tr", has_text="Check the meter seal")).to_contain_text("In Progress")
    await snap(page, "consumer-service")

    await tabs.get_by_role("link", name="Communications").click()
    await page.get_by_label("Note", exact=True).fill("Prefers contact by e-mail")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.get_by_role("status")).to_have_text("Note added.")
    await expect(page.locator(".feed").first).to_contain_text("Prefers contact by e-mail")
    await snap(page, "consumer-communications")

    await tabs.get_by_role("link", name="Documents").click()
    upload = tmp_path / "service agreement.txt"
    upload.write_text("Signed service agreement\n")
    await page.get_by_label("Title").fill("Service agreement")
    await page.get_by_label(re.compile("^File")).set_input_files(upload)
    await page.get_by_role("button", name="Upload").click()
    await expect(page.get_by_role("status")).to_contain_text("uploaded")
    row = page.locator("tbody tr", has_text="Service agreement")
    await expect(row).to_contain_text("Processing")
    href = await row.get_by_role("link", name=re.compile("^Download")).get_attribute("href")
    download = await page.request.get(href or "")  # the JSON API's download, with the UI's session
    assert download.status == 200 and await download.text() == "Signed service agreement\n"
    await snap(page, "consumer-documents")

    # a refused upload is shown on the form, the title kept
    bad = tmp_path / "virus.exe"
    bad.write_bytes(b"MZ")
    await page.get_by_label("Title").fill("Not allowed")
    await page.get_by_label(re.compile("^File")).set_input_files(bad)
    await page.get_by_role("button", name="Upload").click()
    await expect(page.locator("#upload-error")).to_contain_text("are not accepted")
    await expect(page.get_by_label("Title")).to_have_value("Not allowed")

    # a medical certificate, with the uploaded agreement as its evidence: the header says so
    await tabs.get_by_role("link", name="Protections").click()
    await expect(page.locator("#disconnection-check")).to_be_visible()
    await page.get_by_label("Kind").select_option(label="Medical certificate")
    await page.get_by_label(re.compile("^Evidence")).select_option(label="Service agreement")
    await page.get_by_label("Note").fill("Home dialysis")
    await page.get_by_role("button", name="Record protection").click()
    await expect(page.get_by_role("status")).to_have_text("Protection recorded.")
    await expect(page.locator("#protected-badge")).to_have_text("Protected: Medical certificate")
    certificate = page.locator("#protections tbody tr", has_text="Home dialysis")
    await expect(certificate).to_contain_text("In force")
    await expect(page.locator("#disconnection-check")).to_contain_text(
        "Medical certificate blocks the disconnection"
    )
    await certificate.get_by_role("button", name=re.compile("^Renew")).click()
    await expect(page.get_by_role("status")).to_have_text("Certificate renewed.")
    await expect(certificate).to_contain_text("renewed 1×")
    await snap(page, "consumer-protections")
    await certificate.get_by_label("Why it ends").fill("Treatment finished")
    await certificate.get_by_role("button", name=re.compile("^End")).click()
    await expect(page.get_by_role("status")).to_have_text("Protection ended.")
    await expect(certificate).to_contain_text("Treatment finished")
    await expect(page.locator("#protected-badge")).to_have_count(0)


async def test_locked_profile_refuses_contact_edits_in_plain_words(page: Page, site: Site) -> None:
    consumer = site.spare[0]
    request_id = await site.create_request(consumer, "Moving out")
    await sign_in(page)
    await page.goto(f"/consumers/{consumer.id}")
    await expect(page.get_by_role("list", name="Alerts")).to_contain_text(request_id)
    await page.get_by_text("Edit contact details").click()
    await page.get_by_label("Phone").fill("555-0100")
    await page.get_by_role("button", name="Save contact details").click()
    await expect(page.locator("#contact-error")).to_contain_text(f"locked by open request {request_id}")
    await expect(page.get_by_label("Phone")).to_have_value("555-0100")
    await snap(page, "consumer-locked")


async def test_leaving_the_search_box_does_not_search_again(page: Page, site: Site) -> None:
    await sign_in(page)
    await page.goto("/consumers")
    await page.get_by_label("Search consumers").fill(site.disconnectable.last_name.lower())
    await expect(page).to_have_url(re.compile(r"q="))
    await assert_leaving_search_sends_nothing(
        page, "Search consumers", "Status", "Active", "/consumers", "status=Active"
    )
