"""The Administration page's business calendar and per-target SLA mode over HTTP (issue 17, point 1):
saved through the admin service, a refusal shown on its form with what was typed, nothing written."""

from __future__ import annotations

from datetime import date
from urllib.parse import unquote

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.admin import service
from db.business_calendar import load_calendar_settings
from db.models import User
from tests.ui.conftest import signed_in

Maker = async_sessionmaker[AsyncSession]
WEEK = {
    f"hours-{day}-0-{edge}": value
    for day in range(5)
    for edge, value in (("start", "08:00"), ("end", "17:00"))
}
CALENDAR = {"time_zone": "America/New_York", "holidays_country": "US", "holidays_subdivision": "NY"} | WEEK


def _flash(response: httpx.Response) -> str:
    return unquote(response.cookies.get("connectdesk_flash", ""))


async def test_the_calendar_is_saved_with_several_windows_a_day_and_an_overlap_is_refused(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    admin = signed_in(users["admin"])
    page = await client.get("/admin?tab=calendar", headers=admin)
    assert page.status_code == 200 and "The defaults apply: Monday to Friday, 08:00–17:00" in page.text

    lunch = {"hours-0-0-end": "12:00", "hours-0-1-start": "13:00", "hours-0-1-end": "17:00"}
    saturday = {"hours-5-0-start": "09:00", "hours-5-0-end": "13:00"}
    saved = await client.post("/admin/business-calendar", data=CALENDAR | lunch | saturday, headers=admin)
    assert saved.status_code == 303 and saved.headers["location"] == "/admin?tab=calendar"
    assert "Business calendar saved" in _flash(saved)
    async with sessionmaker() as session:
        calendar = await load_calendar_settings(session)
    assert calendar.time_zone == "America/New_York" and calendar.holidays_subdivision == "NY"
    assert [f"{w.start:%H:%M}-{w.end:%H:%M}" for w in calendar.hours[0]] == ["08:00-12:00", "13:00-17:00"]
    assert [f"{w.start:%H:%M}-{w.end:%H:%M}" for w in calendar.hours[5]] == ["09:00-13:00"]

    page = await client.get("/admin?tab=calendar", headers=admin)
    assert "Last changed by admin" in page.text and "Independence Day" in page.text
    assert 'aria-label="Monday window 2 from" value="13:00"' in page.text
    assert 'aria-label="Monday new window from" value=""' in page.text  # room for one more

    overlap = CALENDAR | {"hours-2-1-start": "16:00", "hours-2-1-end": "18:00"}
    refused = await client.post("/admin/business-calendar", data=overlap, headers=admin)
    assert refused.status_code == 422 and "Wednesday: working windows overlap" in refused.text
    assert 'aria-label="Wednesday window 2 from" value="16:00"' in refused.text  # what was typed is kept
    half = await client.post(
        "/admin/business-calendar", data=CALENDAR | {"hours-4-1-start": "18:00"}, headers=admin
    )
    assert half.status_code == 422 and "Friday: give both times of a window" in half.text
    unknown = await client.post(
        "/admin/business-calendar", data=CALENDAR | {"time_zone": "Nowhere/Land"}, headers=admin
    )
    assert unknown.status_code == 422 and "unknown time zone &#39;Nowhere/Land&#39;" in unknown.text
    async with sessionmaker() as session:
        assert (await load_calendar_settings(session)) == calendar  # nothing written


async def test_closures_are_added_listed_and_removed_and_the_page_checks_the_calendar(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    admin = signed_in(users["admin"])
    added = await client.post(
        "/admin/business-calendar/closures",
        data={"date": "2030-12-24", "label": "Christmas Eve"},
        headers=admin,
    )
    assert added.status_code == 303 and "Closure on 24 Dec 2030 (Christmas Eve) added." in _flash(added)
    again = await client.post(
        "/admin/business-calendar/closures", data={"date": "2030-12-24", "label": "Twice"}, headers=admin
    )
    assert again.status_code == 422 and "one closure per date" in again.text
    async with sessionmaker() as session:
        closures = (await load_calendar_settings(session)).closures
    assert [(c.date, c.label) for c in closures] == [(date(2030, 12, 24), "Christmas Eve")]
    page = await client.get("/admin?tab=calendar", headers=admin)
    assert "Tue 24 Dec 2030" in page.text and "Christmas Eve" in page.text

    # Monday 16:00 + 2 business hours (08:00-17:00 UTC by default): Tuesday 09:00
    check = await client.get(
        "/admin?tab=calendar&preview_start=2030-12-16T16:00&preview_hours=2", headers=admin
    )
    assert "2 business hours from Mon 16 Dec 2030 16:00 end Tue 17 Dec 2030 09:00 UTC." in check.text

    removed = await client.post("/admin/business-calendar/closures/2030-12-24/delete", data={}, headers=admin)
    assert removed.status_code == 303 and "Closure on 24 Dec 2030 removed." in _flash(removed)
    async with sessionmaker() as session:
        assert (await load_calendar_settings(session)).closures == ()


async def test_each_sla_target_is_measured_in_business_or_calendar_time(
    client: httpx.AsyncClient, users: dict[str, User], sessionmaker: Maker
) -> None:
    admin = signed_in(users["admin"])
    form = {
        "ack_minutes": "60", "response_minutes": "240", "resolution_minutes": "1440", "at_risk_fraction": "0.75",
        "re_escalate_minutes": "240", "ack_measure": "business", "response_measure": "business",
        "resolution_measure": "calendar",
    }  # fmt: skip
    saved = await client.post("/admin/sla", data=form, headers=admin)
    assert saved.status_code == 303, saved.text
    async with sessionmaker() as session:
        sla = await service.read_sla(session=session)
    assert (sla.ack_business_hours, sla.response_business_hours, sla.resolution_business_hours) == (
        True, True, False,
    )  # fmt: skip
    page = await client.get("/admin?tab=sla", headers=admin)
    assert '<option value="business" selected>Business hours</option>' in page.text
    assert page.text.count('<option value="calendar" selected>Calendar time (24/7)</option>') == 1


async def test_only_admins_see_or_change_the_calendar(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    for role in ("csr", "supervisor"):
        assert (await client.get("/admin?tab=calendar", headers=signed_in(users[role]))).status_code == 403
        refused = await client.post(
            "/admin/business-calendar/closures", data={"date": "2030-12-24", "label": "x"},
            headers=signed_in(users[role]),
        )  # fmt: skip
        assert refused.status_code == 403


async def test_applying_the_targets_to_open_requests_reports_what_it_did_and_is_admin_only(
    client: httpx.AsyncClient, users: dict[str, User]
) -> None:
    page = await client.get("/admin?tab=sla", headers=signed_in(users["admin"]))
    assert 'action="/admin/sla/apply"' in page.text
    applied = await client.post("/admin/sla/apply", headers=signed_in(users["admin"]))
    assert applied.status_code == 303 and applied.headers["location"] == "/admin?tab=sla"
    assert _flash(applied) == "The SLA targets in force now apply to 0 of 0 open requests."
    refused = await client.post("/admin/sla/apply", headers=signed_in(users["csr"]))
    assert refused.status_code == 403
