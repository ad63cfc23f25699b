"""Inspection from an anomaly, in a real browser (issue 18, point 5): a flagged reading on the
Connections tab offers "Create inspection order", which opens the service-order form prefilled
(Inspections, the meter, the anomaly's explanation) and raises the order; a reading marked
suspected tampering shows in the profile header until a supervisor clears it."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.async_api import Page, expect

from db.models import MeterAssignment, MeterReading
from domain.consumers.types import VerificationStatus
from domain.dates import add_months
from tests import factories
from tests.ui.conftest import Site, sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SPIKE = "2025-05-05"  # 100 a month, then 400


async def test_create_inspection_order_prefilled_from_a_flagged_reading(page: Page, site: Site) -> None:
    consumer = site.spare[-1]
    async with site.sessionmaker() as session:
        meter = await factories.meter(session)
        session.add(
            MeterAssignment(meter_id=meter.id, consumer_id=consumer.id, assigned_on=date(2024, 12, 1))
        )
        for i, value in enumerate(["1000", "1100", "1200", "1300", "1700", "1800"]):
            session.add(
                MeterReading(meter_id=meter.id, consumer_id=consumer.id, reading_date=add_months(date(2025, 1, 5), i),
                             value=Decimal(value), verification_status=VerificationStatus.VERIFIED)
            )  # fmt: skip
        await session.commit()
    number = meter.meter_number
    flagged = await site.api("GET", f"/api/v1/consumers/{consumer.id}/connections")
    why = next(
        r["anomalies"][0]["why"]
        for m in flagged.json()["meters"]
        if m["meter_number"] == number
        for r in m["readings"]
        if r["reading_date"] == SPIKE
    )

    await sign_in(page)
    await page.goto(f"/consumers/{consumer.id}?tab=connections")
    card = page.locator(".meter-card", has_text=f"meter {number}")
    await card.locator("summary", has_text="Monthly readings").click()
    offered = card.get_by_role("link", name=re.compile("^Create inspection order"))
    await expect(offered).to_have_count(1)  # only the flagged reading offers one
    await offered.click()

    await expect(page).to_have_url(re.compile(r"tab=service"))
    await expect(page.get_by_role("heading", name="Create inspection order")).to_be_visible()
    await expect(page.get_by_label("Service type")).to_have_value("Inspections")
    await expect(page.get_by_label("Meter")).to_have_value(number)
    description = page.get_by_label("Description")
    await expect(description).to_have_value(
        re.compile(rf"^Inspect meter {number}, reading of {SPIKE} — spike: ")
    )
    assert why in await description.input_value()
    await snap(page, "consumer-inspection-prefilled")
    await page.get_by_role("button", name="Create service order").click()

    await expect(page.get_by_role("status")).to_contain_text(re.compile(r"Service order SO-\d+ created"))
    order = page.locator("tbody tr", has_text=f"Inspect meter {number}")
    await expect(order).to_contain_text("Inspections")
    await expect(order).to_contain_text(f"Meter {number}")
    await expect(order).to_contain_text("Scheduled")

    # the same reading marked suspected tampering: the header lists it until a supervisor clears it
    await page.goto(f"/consumers/{consumer.id}?tab=connections")
    card = page.locator(".meter-card", has_text=f"meter {number}")
    await card.locator("summary", has_text="Monthly readings").click()
    row = card.locator("tbody tr", has=page.locator(f"a[href*='reading={SPIKE}']"))
    await row.locator("summary", has_text="Mark suspected tampering").click()
    await row.get_by_label("Why").fill("Seal broken at the May visit")
    await row.get_by_role("button", name="Mark").click()
    banner = page.locator("#tampering-alert")
    await expect(banner).to_contain_text(f"Meter {number}")
    await expect(banner).to_contain_text("Seal broken at the May visit")
    await expect(page.locator("#tampering-badge")).to_have_text("Suspected tampering (1)")
