"""Service on, service off over HTTP (issue 15, point 1): the type follows whether service is on,
a Pending account is refused with the reason, and a disconnection's kind is shown."""

from __future__ import annotations

from domain.consumers.types import ConsumerStatus
from tests import factories
from tests.api.conftest import Stack


async def _consumer(stack: Stack, status: ConsumerStatus) -> int:
    async with stack.sessionmaker() as session:
        consumer = await factories.consumer(session, status=status)
        await session.commit()
        return int(consumer.id)


async def test_a_disconnected_consumer_gets_a_reconnection(stack: Stack) -> None:
    consumer_id = await _consumer(stack, ConsumerStatus.DISCONNECTED)

    response = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": consumer_id, "reason": "Outstanding balance cleared"},
        headers=stack.as_("csr"),
    )

    assert response.status_code == 201, response.text
    assert response.json()["request_type"] == "Reconnection"
    assert response.json()["request_id"].startswith("RC-")
    assert response.json()["disconnection_kind"] is None


async def test_a_temporarily_disconnected_consumer_gets_a_reconnection_in_the_lookup(stack: Stack) -> None:
    consumer_id = await _consumer(stack, ConsumerStatus.TEMPORARILY_DISCONNECTED)
    async with stack.sessionmaker() as session:
        from db.models import Consumer

        account = (await session.get(Consumer, consumer_id)).account_number  # type: ignore[union-attr]

    found = await stack.client.get(
        "/api/v1/requests/customer-lookup", params={"q": account}, headers=stack.as_("csr")
    )

    assert found.status_code == 200, found.text
    assert [(m["request_type"], m["eligible"], m["disconnection_kinds"]) for m in found.json()] == [
        ("Reconnection", True, {})
    ]


async def test_a_pending_account_is_refused_with_the_reason(stack: Stack) -> None:
    consumer_id = await _consumer(stack, ConsumerStatus.PENDING)

    response = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": consumer_id, "reason": "Moving out"},
        headers=stack.as_("csr"),
    )

    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["type"].endswith("/problems/not-eligible")
    assert "Pending" in problem["detail"] and "Complete the account set-up first" in problem["detail"]


async def test_a_disconnections_kind_is_shown_before_submit_and_on_the_request(stack: Stack) -> None:
    lookup = await stack.client.get(
        "/api/v1/requests/customer-lookup",
        params={"q": stack.active.account_number},
        headers=stack.as_("csr"),
    )
    kinds = lookup.json()[0]["disconnection_kinds"]
    assert kinds["Non-payment"] == "temporary" and kinds["Moving out"] == "permanent"

    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.active.id, "reason": "Seasonal closure"},
        headers=stack.as_("csr"),
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["disconnection_kind"] == "temporary"
    assert "Temporarily Disconnected" in body["disconnection_outcome"]
    detail = await stack.client.get(f"/api/v1/requests/{body['request_id']}", headers=stack.as_("csr"))
    assert detail.json()["disconnection_kind"] == "temporary"
