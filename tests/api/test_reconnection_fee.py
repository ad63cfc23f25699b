"""Waiving the reconnection fee through the API: a supervisor's action, with a reason, once."""

from __future__ import annotations

from tests.api.conftest import Stack


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
