"""Reconnections through the API: the fee quoted and waived (a supervisor's action, with a reason,
once), and the regulated resolution target a reconnection after payment gets (issue 16, points 3-4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from db import disconnection as stored
from domain.disconnection.profile import (
    PENNSYLVANIA,
    JurisdictionProfile,
    ReconnectionFeeRule,
    SeasonalDeadline,
)
from tests.api.conftest import Stack
from tests.ui.conftest import signed_in
from workflows.schemas import SlaSettings


async def test_only_a_supervisor_waives_the_fee_and_only_once(stack: Stack) -> None:
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": "Seasonal return"},
        headers=stack.as_("csr"),
    )
    assert created.status_code == 201, created.text
    rid = created.json()["request_id"]
    url = f"/api/v1/requests/{rid}/waive-fee"

    by_csr = await stack.client.post(url, json={"reason": "Goodwill"}, headers=stack.as_("csr"))
    assert by_csr.status_code == 403, by_csr.text
    no_reason = await stack.client.post(url, json={"reason": ""}, headers=stack.as_("supervisor"))
    assert no_reason.status_code == 422, no_reason.text

    waived = await stack.client.post(url, json={"reason": "Cut in error"}, headers=stack.as_("supervisor"))
    assert waived.status_code == 200, waived.text
    detail = (await stack.client.get(f"/api/v1/requests/{rid}", headers=stack.as_("csr"))).json()
    assert [e["detail"] for e in detail["timeline"] if e["kind"] == "fee_waived"] == [
        "Reconnection fee waived by supervisor: Cut in error"
    ]
    again = await stack.client.post(url, json={"reason": "Again"}, headers=stack.as_("supervisor"))
    assert again.status_code == 409, again.text
    assert "already waived" in again.json()["detail"]


async def test_a_disconnection_has_no_fee_to_waive(stack: Stack) -> None:
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.active.id, "reason": "Moving out"},
        headers=stack.as_("csr"),
    )
    assert created.status_code == 201, created.text
    refused = await stack.client.post(
        f"/api/v1/requests/{created.json()['request_id']}/waive-fee",
        json={"reason": "Goodwill"},
        headers=stack.as_("supervisor"),
    )
    assert refused.status_code == 409, refused.text
    assert "Only a reconnection carries a fee" in refused.json()["detail"]


async def _save_profile(stack: Stack, profile: JurisdictionProfile) -> None:
    async with stack.sessionmaker() as session:
        await stored.save_profile(session, profile, by="admin")
        await session.commit()


SIX_HOURS = PENNSYLVANIA.model_copy(
    update={
        "reconnection": PENNSYLVANIA.reconnection.model_copy(
            update={"after_payment": (SeasonalDeadline(within=timedelta(hours=6)),)}
        ),
        "reconnection_fee": ReconnectionFeeRule(
            business_hours=Decimal("30.00"), after_hours=Decimal("30.00")
        ),
    }
)


async def _resolution(stack: Stack, reason: str) -> tuple[dict[str, Any], timedelta]:
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": reason},
        headers=stack.as_("csr"),
    )
    assert created.status_code == 201, created.text
    detail = (
        await stack.client.get(f"/api/v1/requests/{created.json()['request_id']}", headers=stack.as_("csr"))
    ).json()
    due = next(c["due_at"] for c in detail["sla"] if c["target"] == "resolution")
    return detail, datetime.fromisoformat(due) - datetime.fromisoformat(detail["created_at"])


async def test_a_reconnection_after_payment_gets_the_regulated_deadline(stack: Stack) -> None:
    await _save_profile(stack, SIX_HOURS)

    detail, target = await _resolution(stack, "Outstanding balance cleared")

    assert abs(target - timedelta(hours=6)) < timedelta(minutes=1)
    assert detail["resolution_basis"] == (
        f"Regulated deadline: service back within 6 hours after payment ({PENNSYLVANIA.name})"
    )
    fee = detail["reconnection_fee"]
    assert Decimal(fee["amount"]) == Decimal("30.00") and fee["waived"] is None and fee["charged"] is False


async def test_a_reason_without_a_regulated_deadline_keeps_the_standard_target(stack: Stack) -> None:
    await _save_profile(stack, SIX_HOURS)

    detail, target = await _resolution(stack, "Seasonal return")

    assert abs(target - timedelta(minutes=SlaSettings().resolution_minutes)) < timedelta(minutes=1)
    assert detail["resolution_basis"] is None


async def test_the_pages_show_the_deadline_and_the_fee_and_a_supervisor_waives_it(stack: Stack) -> None:
    await _save_profile(stack, SIX_HOURS)
    detail, _ = await _resolution(stack, "Outstanding balance cleared")
    rid = detail["request_id"]
    for step, body in (("acknowledge", None), ("plan", {"plan_id": stack.plan.id})):
        done = await stack.client.post(f"/api/v1/requests/{rid}/{step}", json=body, headers=stack.as_("csr"))
        assert done.status_code == 200, done.text
    csr, supervisor = signed_in(stack.staff["csr"]), signed_in(stack.staff["supervisor"])

    overview = await stack.client.get(f"/requests/{rid}", headers=csr)
    assert "service back within 6 hours after payment" in overview.text
    as_csr = await stack.client.get(f"/requests/{rid}?tab=activate", headers=csr)
    assert "Reconnection fee if completed now: <strong>$30.00</strong>" in as_csr.text
    assert "/actions/waive-fee" not in as_csr.text  # a supervisor's action
    as_supervisor = await stack.client.get(f"/requests/{rid}?tab=activate", headers=supervisor)
    assert f'action="/requests/{rid}/actions/waive-fee"' in as_supervisor.text

    waived = await stack.client.post(
        f"/requests/{rid}/actions/waive-fee",
        data={"reason": "Cut in error", "tab": "activate"},
        headers=supervisor,
    )
    assert waived.status_code == 303, waived.text
    after = await stack.client.get(f"/requests/{rid}?tab=activate", headers=supervisor)
    assert "Reconnection fee waived by supervisor: Cut in error" in after.text
    assert "/actions/waive-fee" not in after.text
