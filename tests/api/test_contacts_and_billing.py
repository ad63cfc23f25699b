"""Contact logging and the billing chosen at activation, through the API on the real stack
(issue 18, points 1 and 7): only a delivered response or a contact that reached the consumer meets
the response target; a retried log is written once; Auto-pay needs its reference."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from db.models import Communication
from tests.api.conftest import Stack
from tests.ui.conftest import signed_in


async def _reconnection(stack: Stack) -> str:
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": "Other"},
        headers=stack.as_("csr"),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["request_id"])


async def _response_clock(stack: Stack, rid: str) -> dict[str, Any]:
    detail = (await stack.client.get(f"/api/v1/requests/{rid}", headers=stack.as_("csr"))).json()
    return next(c for c in detail["sla"] if c["target"] == "response")


async def test_a_consumer_visible_note_leaves_the_response_clock_running_and_a_logged_call_meets_it(
    stack: Stack,
) -> None:
    rid = await _reconnection(stack)
    csr = stack.as_("csr")
    note = await stack.client.post(
        f"/api/v1/requests/{rid}/notes",
        json={"text": "We will call you", "visibility": "consumer"},
        headers=csr,
    )
    assert note.status_code == 200, note.text
    assert (await _response_clock(stack, rid))["met_at"] is None

    unanswered = await stack.client.post(
        f"/api/v1/requests/{rid}/contacts",
        json={"channel": "phone", "direction": "to_customer", "outcome": "No answer"},
        headers=csr,
    )
    assert unanswered.status_code == 200, unanswered.text
    assert unanswered.json()["message"] == "Outbound call logged"
    assert (await _response_clock(stack, rid))["met_at"] is None

    call = await stack.client.post(
        f"/api/v1/requests/{rid}/contacts",
        json={"channel": "phone", "direction": "to_customer", "outcome": "Reached", "duration_minutes": 4,
              "notes": "Explained the reconnection date"},
        headers=csr,
    )  # fmt: skip
    assert call.status_code == 200, call.text
    clock = await _response_clock(stack, rid)
    assert clock["met_at"] is not None and clock["state"] == "Met"

    detail = (await stack.client.get(f"/api/v1/requests/{rid}", headers=csr)).json()
    logged = detail["communications"][0]
    assert (logged["channel"], logged["direction"], logged["outcome"], logged["duration_seconds"]) == (
        "phone", "to_customer", "Reached", 240,
    )  # fmt: skip
    assert [e["detail"] for e in detail["timeline"] if e["kind"] == "contact_logged"][-1] == (
        "Outbound call (4 min): Reached — Explained the reconnection date."
    )


async def test_a_call_is_no_response_and_a_contact_log_is_checked_field_by_field(stack: Stack) -> None:
    rid = await _reconnection(stack)
    csr = stack.as_("csr")
    by_phone = await stack.client.post(
        f"/api/v1/requests/{rid}/responses", json={"channel": "phone", "message": "Called"}, headers=csr
    )
    assert by_phone.status_code == 422, by_phone.text
    assert "use Log contact" in by_phone.json()["detail"]
    no_outcome = await stack.client.post(
        f"/api/v1/requests/{rid}/contacts",
        json={"channel": "phone", "direction": "from_customer"},
        headers=csr,
    )
    assert no_outcome.status_code == 422, no_outcome.text
    assert no_outcome.json()["errors"] == [
        {"field": "outcome", "message": "Say how the call went (its outcome)."}
    ]
    sms_out = await stack.client.post(
        f"/api/v1/requests/{rid}/contacts",
        json={"channel": "sms", "direction": "to_customer", "notes": "hi"},
        headers=csr,
    )
    assert sms_out.status_code == 422 and "Send response" in sms_out.json()["detail"], sms_out.text


async def _count(stack: Stack, **where: Any) -> int:
    async with stack.sessionmaker() as session:
        conditions = [getattr(Communication, k) == v for k, v in where.items()]
        return int(await session.scalar(select(func.count(Communication.id)).where(*conditions)) or 0)


async def test_a_logged_contact_retried_with_the_same_idempotency_key_is_written_once(stack: Stack) -> None:
    csr = stack.as_("csr")
    url = f"/api/v1/consumers/{stack.active.id}/contacts"
    body = {"channel": "sms", "direction": "from_customer", "notes": "Please call me after 5"}
    headers = {**csr, "Idempotency-Key": "contact-1"}
    first = await stack.client.post(url, json=body, headers=headers)
    again = await stack.client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert (first.json()["direction"], first.json()["request_id"]) == ("from_customer", None)
    assert await _count(stack, consumer_id=stack.active.id, channel="sms") == 1
    other = await stack.client.post(url, json={**body, "notes": "else"}, headers=headers)
    assert other.status_code == 422 and "different body" in other.json()["detail"]

    page = (await stack.client.get(f"/api/v1/consumers/{stack.active.id}/communications", headers=csr)).json()
    assert [(c["channel"], c["direction"]) for c in page["items"]] == [("sms", "from_customer")]

    # on a request: the key is the update's ID, so the workflow logs it once
    rid = await _reconnection(stack)
    call = {
        "channel": "in_person",
        "direction": "from_customer",
        "outcome": "Reached",
        "notes": "At the desk",
    }
    on_request = {**csr, "Idempotency-Key": "visit-1"}
    for _ in range(2):
        logged = await stack.client.post(f"/api/v1/requests/{rid}/contacts", json=call, headers=on_request)
        assert logged.status_code == 200, logged.text
    assert await _count(stack, request_id=rid, channel="in_person") == 1


async def _ready_to_activate(stack: Stack) -> str:
    rid = await _reconnection(stack)
    csr = stack.as_("csr")
    for path, body in (("acknowledge", None), ("plan", {"plan_id": stack.plan.id})):
        done = await stack.client.post(f"/api/v1/requests/{rid}/{path}", json=body, headers=csr)
        assert done.status_code == 200, done.text
    return rid


def _activation(stack: Stack, **billing: str) -> dict[str, Any]:
    meter = {"utility": "electricity", "meter_number": stack.meters["elec"].meter_number, "reading": "150",
             "reading_date": date.today().isoformat()}  # fmt: skip
    return {"meters": [meter], **billing}


async def test_auto_pay_without_a_reference_is_refused_and_the_chosen_billing_shows_in_the_overview(
    stack: Stack,
) -> None:
    rid = await _ready_to_activate(stack)
    csr = stack.as_("csr")
    url = f"/api/v1/requests/{rid}/activate"
    refused = await stack.client.post(url, json=_activation(stack, payment_method="Auto-pay"), headers=csr)
    assert refused.status_code == 422, refused.text
    assert "Auto-pay needs a payment method reference" in refused.json()["detail"]
    assert [e["field"] for e in refused.json()["errors"]] == ["payment_reference"]

    done = await stack.client.post(
        url,
        json=_activation(stack, billing_cycle="Quarterly", payment_method="Auto-pay",
                         payment_reference="MANDATE-0042"),
        headers=csr,
    )  # fmt: skip
    assert done.status_code == 200, done.text
    billing = (
        await stack.client.get(f"/api/v1/consumers/{stack.inactive.id}/financial", headers=csr)
    ).json()["billing"]
    assert (billing["billing_cycle"], billing["payment_method"], billing["payment_reference"]) == (
        "Quarterly", "Auto-pay", "MANDATE-0042",
    )  # fmt: skip
    page = await stack.client.get(
        f"/consumers/{stack.inactive.id}?tab=financial", headers=signed_in(stack.staff["csr"])
    )
    assert "Quarterly" in page.text and "Auto-pay" in page.text and "MANDATE-0042" in page.text


async def test_an_activation_without_billing_fields_keeps_monthly_manual(stack: Stack) -> None:
    rid = await _ready_to_activate(stack)
    csr = stack.as_("csr")
    done = await stack.client.post(f"/api/v1/requests/{rid}/activate", json=_activation(stack), headers=csr)
    assert done.status_code == 200, done.text
    billing = (
        await stack.client.get(f"/api/v1/consumers/{stack.inactive.id}/financial", headers=csr)
    ).json()["billing"]
    assert (billing["billing_cycle"], billing["payment_method"], billing["payment_reference"]) == (
        "Monthly", "Manual", None,
    )  # fmt: skip
