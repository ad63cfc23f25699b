"""The Export CSV buttons of the request list and the consumer search: they carry the filters shown
(translated to the JSON API's names), follow the filters as htmx swaps the results, and download
the rows the page lists, every page of them, with the session cookie."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import httpx
from playwright.async_api import Page, expect

from db.models import User
from domain.request.types import Priority, RequestStatus
from tests import factories
from tests.ui.conftest import Site, sign_in, signed_in


def _export_href(page_html: str) -> str:
    found = re.search(r'id="export-csv" href="([^"]*)"', page_html)
    assert found, "no Export CSV button"
    return html.unescape(found.group(1))


async def _rows(client: httpx.AsyncClient, href: str, user: User) -> list[dict[str, str]]:
    response = await client.get(href, headers=signed_in(user))  # the session cookie, as the browser
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_the_buttons_carry_the_filters_and_download_what_the_page_lists(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        listed = []
        for n in range(3):
            consumer = await factories.consumer(session, last_name=f"Csvson{n}", phone=f"(555) 300-100{n}")
            await factories.request_row(session, consumer.id, status=RequestStatus.COMPLETED)
            row = await factories.request_row(
                session, consumer.id, status=RequestStatus.ON_HOLD, priority=Priority.HIGH
            )
            listed.append(row.request_id)
        await session.commit()
    csr = users["csr"]

    page = await client.get(
        "/requests?status=open&priority=High&sort=request_id&q=csvson", headers=signed_in(csr)
    )
    href = _export_href(page.text)
    assert href == (
        "/api/v1/requests/export.csv?q=csvson&status=Pending&status=In+Progress&status=On+Hold"
        "&priority=High&sort=request_id"
    )
    assert [r["request_id"] for r in await _rows(client, href, csr)] == sorted(listed)

    mine = await client.get("/requests/history?assignee=me", headers=signed_in(csr))
    assert _export_href(mine.text) == f"/api/v1/requests/export.csv?assignee_id={csr.id}&history=true"

    consumers = await client.get("/consumers?q=555-300&status=Inactive", headers=signed_in(csr))
    href = _export_href(consumers.text)
    assert href == "/api/v1/consumers/export.csv?q=555-300&status=Inactive"
    assert [r["last_name"] for r in await _rows(client, href, csr)] == ["Csvson0", "Csvson1", "Csvson2"]


async def test_the_request_list_button_follows_the_filters_in_the_browser(page: Page, site: Site) -> None:
    await sign_in(page)
    await page.goto("/requests")
    button = page.locator("#export-csv")
    await expect(button).to_have_attribute("href", "/api/v1/requests/export.csv")
    await page.get_by_label("Priority").select_option("High")  # htmx swaps the results
    await expect(button).to_have_attribute("href", "/api/v1/requests/export.csv?priority=High")

    async with page.expect_download() as downloading:
        await button.click()
    download = await downloading.value
    assert re.fullmatch(r"requests_priority-high_\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    text = (await download.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("request_id,request_type,status,priority")

    await page.goto("/consumers")
    await page.locator("#consumer-search").fill(site.disconnectable.phone)
    await expect(page.locator("#export-csv")).to_have_attribute(
        "href", re.compile(r"/api/v1/consumers/export\.csv\?q=")
    )
    await expect(page.locator("#results, main").first).to_contain_text(site.disconnectable.account_number)
