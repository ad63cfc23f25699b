"""The request list's bulk bar over plain HTTP (no browser, no Temporal): a checkbox per row, "all N
matching" carrying the list's filters, the actions each role is offered, and refusals in words."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from db.models import User
from domain.request.types import RequestStatus
from tests import factories
from tests.ui.conftest import signed_in

HTMX = {"HX-Request": "true"}


async def test_the_list_offers_bulk_work_with_its_filters(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        consumer = await factories.consumer(session, last_name="Bulkson")
        row = await factories.request_row(session, consumer.id, status=RequestStatus.PENDING)
        await session.commit()

    page = (await client.get("/requests?q=bulkson&status=open&page=1", headers=signed_in(users["csr"]))).text
    assert f'name="request_ids" value="{row.request_id}" form="bulk-form"' in page
    matching = re.search(r'id="select-matching" name="matching" value="([^"]*)"', page)
    assert matching and html.unescape(matching.group(1)) == "q=bulkson&status=open"  # not the page
    assert "Select all 1 matching" in page
    offered = re.findall(r'<option value="(\w+)">', page.split('id="bulk-action"')[1].split("</select>")[0])
    assert offered == ["acknowledge", "add_note", "close"]  # a CSR: not the supervisors' own

    supervisor = (await client.get("/requests", headers=signed_in(users["supervisor"]))).text
    offered = re.findall(
        r'<option value="(\w+)">', supervisor.split('id="bulk-action"')[1].split("</select>")[0]
    )
    assert offered == ["acknowledge", "set_priority", "assign", "add_note", "close"]
    history = (await client.get("/requests/history", headers=signed_in(users["csr"]))).text
    assert "bulk-form" not in history


async def test_a_bulk_form_with_nothing_to_do_says_why(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    csr = signed_in(users["csr"])
    no_action = await client.post("/requests/bulk", data={"request_ids": "RC-1"}, headers={**csr, **HTMX})
    assert no_action.status_code == 200  # htmx swaps only a 2xx: the refusal shows in the results panel
    assert "Choose what to do to the requests selected." in no_action.text
    nothing = await client.post("/requests/bulk", data={"action": "acknowledge"}, headers={**csr, **HTMX})
    assert "Tick the requests to act on, or select all matching." in nothing.text
    no_text = await client.post(
        "/requests/bulk",
        data={"action": "add_note", "text": "", "request_ids": "RC-1"},
        headers={**csr, **HTMX},
    )
    assert "Text is required." in no_text.text or "Note is required." in no_text.text
    whole_page = await client.post("/requests/bulk", data={"action": "acknowledge"}, headers=csr)
    assert whole_page.status_code == 422 and "<h1>Bulk action</h1>" in whole_page.text
