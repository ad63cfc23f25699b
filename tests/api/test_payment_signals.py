"""A payment taken through the API reaches the consumer's waiting non-payment disconnection at once
(real app, database, Temporal dev server and worker): a partial payment is noted on its timeline,
one that clears the arrears closes it (Payment received) while its next timer is days away; a
payment after the cut does not undo the cut; nobody can close with "Payment received" by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from db import disconnection as stored
from db.models import Consumer
from domain.disconnection.profile import PENNSYLVANIA, SeasonalDeadline
from tests.api.conftest import Stack
from tests.api.test_protection_signals import PROMPTLY, _detail, _status_becomes, _waiting_disconnection


async def _owes(stack: Stack, amount: str) -> None:
    async with stack.sessionmaker() as session:
        await session.execute(
            update(Consumer).where(Consumer.id == stack.active.id).values(balance=Decimal(amount))
        )
        await session.commit()


async def _pay(stack: Stack, amount: str, reference: str) -> dict[str, Any]:
    paid = await stack.client.post(
        f"/api/v1/consumers/{stack.active.id}/payments",
        json={"amount": amount, "method": "Cash", "reference": reference},
        headers=stack.as_("csr"),
    )
    assert paid.status_code in (200, 201), paid.text
    body: dict[str, Any] = paid.json()
    return body


async def _timeline(stack: Stack, rid: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = (await _detail(stack, rid))["timeline"]
    return events


async def test_a_partial_payment_is_noted_and_a_full_one_closes_the_disconnection(stack: Stack) -> None:
    await _owes(stack, "240.00")
    rid = await _waiting_disconnection(stack)

    await _pay(stack, "100.00", "DESK-PARTIAL-1")
    deadline = asyncio.get_running_loop().time() + PROMPTLY
    while not any(e["kind"] == "payment_received" for e in await _timeline(stack, rid)):
        assert asyncio.get_running_loop().time() < deadline, "the partial payment never reached the timeline"
        await asyncio.sleep(0.1)
    assert (await _detail(stack, rid))["status"] == "In Progress"

    paid = await _pay(stack, "140.00", "DESK-FULL-1")
    assert Decimal(paid["balance"]) == 0
    closed = await _status_becomes(stack, rid, "Closed")

    assert closed["close_reason"] == "Payment received"
    closing = [e for e in closed["timeline"] if e["kind"] == "closed"]
    assert len(closing) == 1 and "DESK-FULL-1" in closing[0]["detail"]
    # the same payment delivered again changes nothing
    again = await _pay(stack, "140.00", "DESK-FULL-1")
    assert again["duplicate"] is True
    await asyncio.sleep(0.5)
    assert [e["kind"] for e in await _timeline(stack, rid)].count("closed") == 1


async def test_payment_received_is_the_systems_close_reason(stack: Stack) -> None:
    await _owes(stack, "50.00")
    rid = await _waiting_disconnection(stack)

    closed = await stack.client.post(
        f"/api/v1/requests/{rid}/close", json={"reason": "Payment received"}, headers=stack.as_("csr")
    )

    assert closed.status_code == 422, closed.text
    assert closed.headers["content-type"].startswith("application/problem+json")
    assert "recorded by the system" in closed.text
    assert (await _detail(stack, rid))["status"] == "In Progress"


async def test_a_payment_after_the_cut_creates_the_reconnection_with_the_regulated_target(
    stack: Stack, api_client_for: Any, db_url: str, dev_env: Any, task_queue: str
) -> None:
    """With CONNECTDESK_AUTO_RECONNECT_AFTER_PAYMENT on, a payment that clears the arrears of a
    non-payment cut opens the reconnection (reason Outstanding balance cleared) with the profile's
    deadline; a partial payment, or the setting off, opens nothing; a repeated delivery, one."""
    ungoverned = PENNSYLVANIA.model_copy(  # a cut without notice steps, so the test can make one now
        update={
            "rules_apply_to": frozenset(),
            "reconnection": PENNSYLVANIA.reconnection.model_copy(
                update={"after_payment": (SeasonalDeadline(within=timedelta(hours=6)),)}
            ),
        }
    )
    async with stack.sessionmaker() as session:
        await stored.save_profile(session, ungoverned, by="admin")
        await session.commit()
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.active.id, "reason": "Non-payment"},
        headers=stack.as_("csr"),
    )
    rid = created.json()["request_id"]
    assert (
        await stack.client.post(f"/api/v1/requests/{rid}/acknowledge", headers=stack.as_("csr"))
    ).status_code == 200
    cut = await stack.client.post(
        f"/api/v1/requests/{rid}/final-readings",
        json={"readings": [{"meter_number": stack.meters["in_service"].meter_number, "reading": "640",
                            "reading_date": datetime.now(UTC).date().isoformat()}]},
        headers=stack.as_("csr"),
    )  # fmt: skip
    assert cut.status_code == 200, cut.text
    await _owes(stack, "80.00")
    address = dev_env.client.service_client.config.target_host
    async with api_client_for(
        database_url=db_url, temporal_address=address, temporal_task_queue=task_queue,
        workflow_id_prefix=f"{task_queue}/", auto_reconnect_after_payment=True,
    ) as auto:  # fmt: skip

        async def pay(client: Any, amount: str, reference: str) -> dict[str, Any]:
            paid = await client.post(
                f"/api/v1/consumers/{stack.active.id}/payments",
                json={"amount": amount, "method": "Cash", "reference": reference},
                headers=stack.as_("csr"),
            )
            assert paid.status_code in (200, 201), paid.text
            body: dict[str, Any] = paid.json()
            return body

        assert (await pay(auto, "30.00", "AFTER-CUT-1"))["reconnection_request"] is None  # $50 still owed
        assert (await pay(stack.client, "50.00", "AFTER-CUT-2"))[
            "reconnection_request"
        ] is None  # setting off
        first = await pay(auto, "10.00", "AFTER-CUT-3")
        again = await pay(auto, "10.00", "AFTER-CUT-3")

    recon = first["reconnection_request"]
    assert recon is not None and again["reconnection_request"] == recon and again["duplicate"] is True
    detail = await _detail(stack, recon)
    assert detail["request_type"] == "Reconnection" and detail["reason"] == "Outstanding balance cleared"
    assert "AFTER-CUT-3" in detail["notes"]
    due = next(c["due_at"] for c in detail["sla"] if c["target"] == "resolution")
    target = datetime.fromisoformat(due) - datetime.fromisoformat(detail["created_at"])
    assert abs(target - timedelta(hours=6)) < timedelta(minutes=1)
    assert detail["resolution_basis"] is not None and "after payment" in detail["resolution_basis"]
