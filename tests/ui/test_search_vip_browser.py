"""Consumer search by phone in any formatting, and one VIP crown on the list and the profile, in a
real browser (issue 18, points 3 and 6)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import update

from db.models import Consumer
from tests.ui.conftest import Site, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


async def test_a_phone_typed_any_way_finds_the_consumer_and_the_crown_agrees(page: Page, site: Site) -> None:
    consumer = site.spare[0]
    async with site.sessionmaker() as session:  # a phone of our own
        await session.execute(
            update(Consumer).where(Consumer.id == consumer.id).values(phone="+1 (555) 201-7788")
        )
        await session.commit()
    await sign_in(page)

    for typed in ("555.201.7788", "(555) 201 7788", "2017788"):
        await page.goto("/consumers")
        async with page.expect_response(lambda r: "/consumers?" in r.url and "q=" in r.url):
            await page.get_by_label("Search consumers").fill(typed)
        row = page.locator("tbody tr", has_text=consumer.account_number)
        await expect(row).to_have_count(1)

    # the crown: the profile applies the rule; the list shows the same for each consumer
    for someone in [consumer, *site.spare[1:4]]:
        await page.goto(f"/consumers/{someone.id}")
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        on_profile = await page.locator("#vip-crown, .profile-head svg.vip").count() > 0
        await page.goto("/consumers")
        async with page.expect_response(lambda r: "/consumers?" in r.url and "q=" in r.url):
            await page.get_by_label("Search consumers").fill(someone.account_number)
        listed = page.locator("tbody tr", has_text=someone.account_number)
        await expect(listed).to_have_count(1)
        assert (await listed.locator("svg.vip").count() > 0) == on_profile, someone.account_number
