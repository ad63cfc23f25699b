"""Every write is safe to retry: the same Idempotency-Key applies a write once and answers every
retry with the first outcome — request actions (the key becomes the Temporal update ID) and
database-only writes (a record in the write's own transaction)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import func, select

from db.models import Communication, IdempotencyRecord, Plan, RequestEvent, ServiceOrder, TimeSlot
from settings import Settings
from tests import factories
from tests.api.conftest import ApiFactory, Stack, auth, worker_activities
from worker import build_worker
from workflows.request import RequestWorkflow


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def _count(stack_or_maker: Any, model: Any, *where: Any) -> int:
    maker = getattr(stack_or_maker, "sessionmaker", stack_or_maker)
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _open_request(stack: Stack) -> str:
    response = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": "Other"},
        headers=stack.as_("csr"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["request_id"])


# ---- request actions: the key is the update ID ---------------------------------------------------


async def test_a_retried_action_is_applied_once_and_answers_the_first_outcome(stack: Stack) -> None:
    rid = await _open_request(stack)
    headers = {**stack.as_("csr"), **_key()}
    body = {"text": "Gate code 4411", "visibility": "internal"}

    first = await stack.client.post(f"/api/v1/requests/{rid}/notes", json=body, headers=headers)
    retries = await asyncio.gather(
        *(stack.client.post(f"/api/v1/requests/{rid}/notes", json=body, headers=headers) for _ in range(3))
    )

    assert first.status_code == 200, first.text
    assert [r.status_code for r in retries] == [200, 200, 200]
    assert {r.json()["message"] for r in retries} == {first.json()["message"]}
    notes = (RequestEvent.request_id == rid, RequestEvent.kind == "note_added")
    assert await _count(stack, RequestEvent, *notes) == 1
    assert (
        await _count(
            stack, Communication, Communication.request_id == rid, Communication.body == body["text"]
        )
        == 1
    )
    # without a key, the same body is a second note: the key is what makes a retry a retry
    again = await stack.client.post(f"/api/v1/requests/{rid}/notes", json=body, headers=stack.as_("csr"))
    assert again.status_code == 200
    assert await _count(stack, RequestEvent, *notes) == 2


async def test_an_action_key_reused_with_another_body_is_422_and_applies_nothing(stack: Stack) -> None:
    rid = await _open_request(stack)
    headers = {**stack.as_("csr"), **_key()}
    ok = await stack.client.post(f"/api/v1/requests/{rid}/notes", json={"text": "first"}, headers=headers)
    assert ok.status_code == 200

    reused = await stack.client.post(
        f"/api/v1/requests/{rid}/notes", json={"text": "second"}, headers=headers
    )

    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["type"] == "/problems/idempotency-key-reused"
    assert "different body" in reused.json()["detail"]
    assert (
        await _count(stack, Communication, Communication.request_id == rid, Communication.body == "second")
        == 0
    )


async def test_an_action_key_is_the_callers_own(stack: Stack) -> None:
    rid = await _open_request(stack)
    key = _key()
    for role in ("csr", "supervisor"):
        response = await stack.client.post(
            f"/api/v1/requests/{rid}/notes", json={"text": "same words"}, headers={**stack.as_(role), **key}
        )
        assert response.status_code == 200
    assert (
        await _count(stack, RequestEvent, RequestEvent.request_id == rid, RequestEvent.kind == "note_added")
        == 2
    )


async def test_a_retried_close_answers_its_outcome_after_the_workflow_has_finished(stack: Stack) -> None:
    rid = await _open_request(stack)
    headers = {**stack.as_("csr"), **_key()}
    body = {"reason": "Cancelled by consumer", "notes": "Moved away"}

    first = await stack.client.post(f"/api/v1/requests/{rid}/close", json=body, headers=headers)
    retry = await stack.client.post(f"/api/v1/requests/{rid}/close", json=body, headers=headers)
    other = await stack.client.post(
        f"/api/v1/requests/{rid}/close", json=body, headers={**stack.as_("csr"), **_key()}
    )

    assert first.status_code == 200 and first.json()["request"]["status"] == "Closed"
    assert retry.status_code == 200 and retry.json()["message"] == first.json()["message"]
    assert other.status_code == 409  # a new close of a closed request is still refused
    assert (
        await _count(stack, RequestEvent, RequestEvent.request_id == rid, RequestEvent.kind == "closed") == 1
    )


async def test_an_action_retried_after_a_503_with_the_worker_down_is_applied_once(
    api_client_for: ApiFactory,
    db_url: str,
    sessionmaker: Any,
    staff: dict[str, Any],
    dev_env: Any,
    task_queue: str,
) -> None:
    """The first attempt times out while no worker runs (503); Temporal keeps the update. The retry
    with the same key, once a worker is back, gets that same update's outcome: one note, not two."""
    async with sessionmaker() as session:
        consumer = await factories.consumer(session)
        row = await factories.request_row(session, consumer.id)
        await session.commit()
    prefix, queue = f"{task_queue}/", f"{task_queue}-late"
    await dev_env.client.start_workflow(
        RequestWorkflow.run,
        factories.start_for(consumer, row),
        id=f"{prefix}{row.request_id}", task_queue=queue,
    )  # fmt: skip
    headers = {**auth(staff["csr"]), **_key()}
    path = f"/api/v1/requests/{row.request_id}/notes"
    activities = worker_activities(sessionmaker)
    async with api_client_for(
        database_url=db_url,
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_task_queue=queue,
        workflow_id_prefix=prefix,
        temporal_rpc_timeout_seconds=1,
    ) as client:
        down = await client.post(path, json={"text": "Call before visiting"}, headers=headers)
        assert down.status_code == 503
        assert "same Idempotency-Key" in down.json()["detail"]
        async with build_worker(dev_env.client, Settings(), activities, task_queue=queue):
            for _ in range(20):  # the worker first replays the workflow's start
                retried = await client.post(path, json={"text": "Call before visiting"}, headers=headers)
                if retried.status_code != 503:
                    break
            assert retried.status_code == 200, retried.text
            await dev_env.client.get_workflow_handle(f"{prefix}{row.request_id}").terminate()

    notes = (RequestEvent.request_id == row.request_id, RequestEvent.kind == "note_added")
    assert await _count(sessionmaker, RequestEvent, *notes) == 1


# ---- database-only writes: a record in the write's transaction -----------------------------------


async def test_a_retried_consumer_note_is_written_once(stack: Stack) -> None:
    headers = {**stack.as_("csr"), **_key()}
    path = f"/api/v1/consumers/{stack.active.id}/notes"
    body = {"text": "Prefers e-mail", "visibility": "internal"}

    answers = await asyncio.gather(*(stack.client.post(path, json=body, headers=headers) for _ in range(5)))

    assert [a.status_code for a in answers] == [201] * 5
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 4
    assert await _count(stack, Communication, Communication.body == "Prefers e-mail") == 1


async def test_a_db_write_key_reused_elsewhere_or_with_another_body_is_422(stack: Stack) -> None:
    headers = {**stack.as_("csr"), **_key()}
    path = f"/api/v1/consumers/{stack.active.id}/notes"
    assert (await stack.client.post(path, json={"text": "one"}, headers=headers)).status_code == 201

    other_body = await stack.client.post(path, json={"text": "two"}, headers=headers)
    other_place = await stack.client.post(
        f"/api/v1/consumers/{stack.active.id}/service-orders",
        json={"service_type": "Inspections", "description": "Check the meter seal"}, headers=headers,
    )  # fmt: skip

    for refused in (other_body, other_place):
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"] == "/problems/idempotency-key-reused"
    assert await _count(stack, Communication, Communication.body == "two") == 0
    assert await _count(stack, ServiceOrder, ServiceOrder.consumer_id == stack.active.id) == 0


async def test_a_retried_service_order_and_admin_writes_happen_once(stack: Stack) -> None:
    csr = {**stack.as_("csr"), **_key()}
    order = {"service_type": "Inspections", "description": "Check the meter seal"}
    path = f"/api/v1/consumers/{stack.active.id}/service-orders"
    first, second = [await stack.client.post(path, json=order, headers=csr) for _ in range(2)]
    assert first.status_code == second.status_code == 201
    assert first.json()["order_number"] == second.json()["order_number"]
    assert await _count(stack, ServiceOrder, ServiceOrder.consumer_id == stack.active.id) == 1

    admin = {**stack.as_("admin"), **_key()}
    plan = {"name": "Retry Plan", "short_name": "RETRY-1", "category": "Residential", "sub_category": "Standard",
            "monthly_fee": "10.00", "services": [{"utility": "water", "metered": True}]}  # fmt: skip
    made = [await stack.client.post("/api/v1/admin/plans", json=plan, headers=admin) for _ in range(2)]
    assert [m.status_code for m in made] == [201, 201] and made[0].json() == made[1].json()
    assert await _count(stack, Plan, Plan.short_name == "RETRY-1") == 1

    async with stack.sessionmaker() as session:
        spare = await factories.time_slot(session, capacity=1, start_hour=20)
        await session.commit()
    delete = {**stack.as_("admin"), **_key()}
    gone = [
        await stack.client.delete(f"/api/v1/admin/time-slots/{spare.id}", headers=delete) for _ in range(2)
    ]
    assert [g.status_code for g in gone] == [204, 204]  # the retry is not a 404
    assert await _count(stack, TimeSlot, TimeSlot.id == spare.id) == 0
    assert await _count(stack, IdempotencyRecord) == 3


# ---- the UI: every form carries a fresh key per rendering ------------------------------------------


async def test_each_rendering_of_a_form_carries_a_fresh_key_and_a_double_submit_acts_once(
    stack: Stack,
) -> None:
    rid = await _open_request(stack)
    cookie = {"connectdesk_session": stack.as_("csr")["Authorization"].split()[1]}
    stack.client.cookies.update(cookie)
    pages = [await stack.client.get(f"/requests/{rid}?tab=communication") for _ in range(2)]
    keys = [_form_key(p.text, f"/requests/{rid}/actions/notes") for p in pages]
    assert keys[0] != keys[1]

    form = {"text": "Double-clicked note", "visibility": "internal", "idempotency_key": keys[0]}
    sent = [await stack.client.post(f"/requests/{rid}/actions/notes", data=form) for _ in range(2)]

    assert [s.status_code for s in sent] == [303, 303]
    assert (
        await _count(stack, RequestEvent, RequestEvent.request_id == rid, RequestEvent.kind == "note_added")
        == 1
    )

    profile = await stack.client.get(f"/consumers/{stack.active.id}?tab=communications")
    note_key = _form_key(profile.text, f"/consumers/{stack.active.id}/notes")
    body = {"text": "Twice-sent consumer note", "visibility": "internal", "idempotency_key": note_key}
    sent = [await stack.client.post(f"/consumers/{stack.active.id}/notes", data=body) for _ in range(2)]
    assert [s.status_code for s in sent] == [303, 303]
    assert await _count(stack, Communication, Communication.body == "Twice-sent consumer note") == 1


def _form_key(html: str, action: str) -> str:
    start = html.index(f'action="{action}"')
    marker = 'name="idempotency_key" value="'
    at = html.index(marker, start) + len(marker)
    return html[at : html.index('"', at)]
