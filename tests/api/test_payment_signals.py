"""A payment taken through the API reaches the consumer's waiting non-payment disconnection at once
(real app, database, Temporal dev server and worker): a partial payment is noted on its timeline,
one that clears the arrears closes it (Payment received) while its next timer is days away; a
payment after the cut does not undo the cut; nobody can close with "Payment received" by hand."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from db.models import Consumer
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
