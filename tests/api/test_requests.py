"""The Requests API over HTTP: a real app, database, Temporal dev server and worker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import httpx
from sqlalchemy import func, select, update

from db.models import Consumer, ServiceRequest, SlotBooking, SlotDay, TimeSlot, User
from domain.request.types import SlaState
from domain.users import Role
from tests.api.conftest import Stack

TODAY = lambda: datetime.now(UTC).date()  # noqa: E731


async def _create(stack: Stack, consumer: object, reason: str, **extra: object) -> dict[str, object]:
    response = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": consumer.id, "reason": reason, **extra},  # type: ignore[attr-defined]
        headers=stack.as_("csr"),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _final_reading(stack: Stack, rid: object, reading: str) -> httpx.Response:
    """Record the in-service meter's final reading, dated today, as the CSR."""
    return await stack.client.post(
        f"/api/v1/requests/{rid}/final-readings",
        json={"readings": [{"meter_number": stack.meters["in_service"].meter_number, "reading": reading,
                            "reading_date": TODAY().isoformat()}]},
        headers=stack.as_("csr"),
    )  # fmt: skip


async def test_whole_reconnection_over_http(stack: Stack) -> None:
    created = await _create(stack, stack.inactive, "Outstanding balance cleared", notes="Gate code 4411")
    rid = created["request_id"]
    assert created["request_type"] == "Reconnection" and created["status"] == "Pending"
    assert created["consumer"]["account_number"] == stack.inactive.account_number
    assert created["slot"]["id"] == stack.slot.id  # the earliest free slot was booked
    assert created["allowed_actions"][0] == "acknowledge"
    csr = stack.as_("csr")

    async def post(path: str, body: object = None) -> dict[str, object]:
        response = await stack.client.post(f"/api/v1/requests/{rid}/{path}", json=body, headers=csr)
        assert response.status_code == 200, response.text
        return response.json()["request"]

    assert (await post("acknowledge"))["status"] == "In Progress"
    assert (await post("hold", {"reason": "Awaiting payment"}))["status"] == "On Hold"
    assert (await post("resume"))["status"] == "In Progress"
    await post("responses", {"channel": "sms", "message": "Technician booked"})
    await post("notes", {"text": "Dog on premises", "visibility": "internal"})
    with_plan = await post("plan", {"plan_id": stack.plan.id})
    assert with_plan["plan"]["short_name"] == "RES-STD" and "activate" in with_plan["allowed_actions"]
    done = await post(
        "activate",
        {"meters": [{"utility": "electricity", "meter_number": stack.meters["elec"].meter_number,
                     "reading": "150.5", "reading_date": TODAY().isoformat()}]},
    )  # fmt: skip

    assert done["status"] == "Completed" and done["allowed_actions"] == []
    assert [e["kind"] for e in done["timeline"]] == [
        "created", "acknowledged", "put_on_hold", "resumed", "response_sent", "note_added", "plan_selected", "completed",
    ]  # fmt: skip
    assert {e["actor"] for e in done["timeline"]} == {"csr"}
    assert {c["subject"] for c in done["communications"]} >= {"Service restored"}
    assert done["services"][0]["meter_number"] == stack.meters["elec"].meter_number
    assert [c["state"] for c in done["sla"]] == ["Met", "Met", "Met"]
    async with stack.sessionmaker() as session:
        consumer = await session.get(Consumer, stack.inactive.id)
    assert consumer is not None and consumer.status.value == "Active" and consumer.locked_by_request is None


async def test_whole_disconnection_over_http(stack: Stack) -> None:
    created = await _create(stack, stack.active, "Moving out")
    rid = created["request_id"]
    assert created["request_type"] == "Disconnection"
    csr = stack.as_("csr")
    await stack.client.post(f"/api/v1/requests/{rid}/acknowledge", headers=csr)

    response = await _final_reading(stack, rid, "612")

    assert response.status_code == 200, response.text
    assert response.json()["request"]["status"] == "Completed"
    async with stack.sessionmaker() as session:
        consumer = await session.get(Consumer, stack.active.id)
    assert consumer is not None and consumer.status.value == "Inactive"

    # coming back: the reconnection shows the meter and the reading the service was cut with
    back = await _create(stack, stack.active, "Seasonal return")
    assert back["request_type"] == "Reconnection"
    meter = stack.meters["in_service"]
    assert [
        (s["utility"], s["meter_number"], s["device_number"], s["meter_type"], s["current_reading"],
         s["reading_date"], s["service_status"])
        for s in back["services"]
    ] == [
        ("electricity", meter.meter_number, meter.device_number, meter.meter_type, "612.00",
         TODAY().isoformat(), f"Disconnected on {TODAY().isoformat()}"),
    ]  # fmt: skip
    clocks = {c["target"]: c for c in back["sla"]}
    assert 0 < clocks["acknowledgement"]["seconds_remaining"] <= 120 * 60  # the default 2-hour target


async def test_supervisor_assigns_reassigns_and_reprioritises(stack: Stack) -> None:
    rid = (await _create(stack, stack.active, "Moving out"))["request_id"]
    supervisor = stack.as_("supervisor")
    csr_id, supervisor_id = stack.staff["csr"].id, stack.staff["supervisor"].id

    async def post(path: str, body: object) -> tuple[int, dict[str, object]]:
        response = await stack.client.post(f"/api/v1/requests/{rid}/{path}", json=body, headers=supervisor)
        return response.status_code, response.json()

    status, body = await post("assign", {"user_id": csr_id})
    assert status == 200, body
    assert body["message"] == "Assigned to csr" and body["request"]["assignee"] == "csr"  # type: ignore[index]
    listed = await stack.client.get("/api/v1/requests", params={"assignee_id": csr_id}, headers=supervisor)
    assert [r["request_id"] for r in listed.json()["items"]] == [rid]

    status, body = await post("assign", {"user_id": supervisor_id})
    assert status == 200 and body["request"]["assignee"] == "supervisor"  # type: ignore[index]
    status, body = await post("priority", {"priority": "Critical"})
    assert status == 200 and body["request"]["priority"] == "Critical"  # type: ignore[index]
    timeline = [(e["kind"], e["actor"], e["detail"]) for e in body["request"]["timeline"]]  # type: ignore[index]
    assert [t for t in timeline if t[0] == "assigned"] == [
        ("assigned", "supervisor", "Assigned to csr."), ("assigned", "supervisor", "Assigned to supervisor."),
    ]  # fmt: skip

    async with stack.sessionmaker() as session:
        gone = User(username="gone", full_name="Gone", email="gone@utility.example", role=Role.CSR,
                    password_hash="x", is_active=False)  # fmt: skip
        session.add(gone)
        await session.commit()
    for user_id in (gone.id, 999_999):
        status, body = await post("assign", {"user_id": user_id})
        assert status == 422, body
        assert body["errors"] == [{"field": "user_id", "message": "unknown or inactive user"}]
    async with stack.sessionmaker() as session:
        row = await session.scalar(select(ServiceRequest).where(ServiceRequest.request_id == rid))
    assert row is not None and row.assigned_to == supervisor_id  # the refusals changed nothing


async def test_invalid_transition_is_409_with_the_workflows_reason(stack: Stack) -> None:
    rid = (await _create(stack, stack.inactive, "Seasonal return"))["request_id"]

    response = await stack.client.post(
        f"/api/v1/requests/{rid}/hold", json={"reason": "x"}, headers=stack.as_("csr")
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "acknowledge it first" in response.json()["detail"]


async def test_bad_fields_are_422_with_field_errors(stack: Stack) -> None:
    rid = (await _create(stack, stack.inactive, "Seasonal return"))["request_id"]

    response = await stack.client.post(
        f"/api/v1/requests/{rid}/close", json={"reason": "Because", "notes": 5}, headers=stack.as_("csr")
    )

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"reason", "notes"} <= fields

    # data the workflow refuses (a reading dated tomorrow, a blank meter) is 422 with its fields too
    disc = (await _create(stack, stack.active, "Moving out"))["request_id"]
    await stack.client.post(f"/api/v1/requests/{disc}/acknowledge", headers=stack.as_("csr"))
    tomorrow = (TODAY() + timedelta(days=1)).isoformat()
    meter = stack.meters["in_service"].meter_number
    refused = await stack.client.post(
        f"/api/v1/requests/{disc}/final-readings",
        json={"readings": [{"meter_number": meter, "reading": "700", "reading_date": tomorrow},
                           {"meter_number": " ", "reading": "1", "reading_date": TODAY().isoformat()}]},
        headers=stack.as_("csr"),
    )  # fmt: skip
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["type"] == "/problems/validation" and body["reason"] == "TransitionRefused"
    assert [e["field"] for e in body["errors"]] == ["readings.0.reading_date", "readings.1.meter_number"]
    assert all(e["message"] and e["message"] in body["detail"] for e in body["errors"])
    detail = (await stack.client.get(f"/api/v1/requests/{disc}", headers=stack.as_("csr"))).json()
    assert detail["status"] == "In Progress"  # nothing recorded


async def test_second_open_request_is_409_naming_the_open_one(stack: Stack) -> None:
    first = await _create(stack, stack.inactive, "Seasonal return")

    response = await stack.client.post(
        "/api/v1/requests",
        json={"account_number": f" {stack.inactive.account_number.lower()} ", "reason": "Other"},
        headers=stack.as_("csr"),
    )  # the consumer named by account number, in any case

    assert response.status_code == 409
    assert first["request_id"] in response.json()["detail"]
    assert response.json()["open_request"] == first["request_id"]


async def test_reconnection_refused_while_the_balance_is_over_the_limit(stack: Stack) -> None:
    async with stack.sessionmaker() as session:
        consumer = await session.get(Consumer, stack.inactive.id)
        assert consumer is not None
        consumer.balance = 1234.5  # type: ignore[assignment]
        await session.commit()

    response = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": "Other"},
        headers=stack.as_("csr"),
    )

    assert response.status_code == 409
    assert "1,234.50" in response.json()["detail"] and "500.00" in response.json()["detail"]


async def test_create_input_errors(stack: Stack) -> None:
    csr = stack.as_("csr")
    async with stack.sessionmaker() as session:  # a window at midnight has always begun by now
        midnight = TimeSlot(label="00:00–00:30", start_time=time(0), end_time=time(0, 30), capacity_per_day=5)
        session.add(midnight)
        await session.commit()
    cases = [
        ({"consumer_id": 999999, "reason": "Other"}, 404, "No consumer"),
        ({"consumer_id": stack.inactive.id, "reason": "Moving out"}, 422, "not a reconnection reason"),
        ({"consumer_id": stack.inactive.id, "reason": "Other",
          "preferred_date": (TODAY() - timedelta(days=1)).isoformat()}, 422, "today or later"),
        ({"reason": "Other"}, 422, "exactly one of consumer_id or account_number"),
        ({"consumer_id": stack.inactive.id, "reason": "Other", "slot_id": 424242}, 422, "does not exist"),
        ({"consumer_id": stack.inactive.id, "reason": "Other", "slot_id": midnight.id,
          "preferred_date": TODAY().isoformat()}, 422, "has already begun; choose a later one"),
    ]  # fmt: skip
    for body, code, text in cases:
        response = await stack.client.post("/api/v1/requests", json=body, headers=csr)
        assert response.status_code == code, (body, response.text)
        assert text in response.json()["detail"], response.json()["detail"]
    async with stack.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ServiceRequest)) == 0


async def test_idempotency_key_returns_the_same_request(stack: Stack) -> None:
    headers = {**stack.as_("csr"), "Idempotency-Key": "create-7f3a"}
    body = {"consumer_id": stack.inactive.id, "reason": "Other"}

    first = await stack.client.post("/api/v1/requests", json=body, headers=headers)
    again = await stack.client.post("/api/v1/requests", json=body, headers=headers)

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["request_id"] == again.json()["request_id"]

    # the key is the caller's own, for that request only
    other_body = await stack.client.post(
        "/api/v1/requests", json=body | {"reason": "Seasonal return"}, headers=headers
    )
    assert other_body.status_code == 422 and other_body.json()["type"] == "/problems/idempotency-key-reused"
    assert "different reason" in other_body.json()["detail"]
    other_user = await stack.client.post(
        "/api/v1/requests", json=body, headers={**stack.as_("supervisor"), "Idempotency-Key": "create-7f3a"}
    )
    assert other_user.status_code == 422 and "another user" in other_user.json()["detail"]
    assert first.json()["request_id"] not in other_user.text  # nothing about someone else's request
    async with stack.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ServiceRequest)) == 1


async def test_twenty_concurrent_creates_for_one_consumer_give_exactly_one_201(stack: Stack) -> None:
    body = {"consumer_id": stack.inactive.id, "reason": "Other"}

    responses = await asyncio.gather(
        *(stack.client.post("/api/v1/requests", json=body, headers=stack.as_("csr")) for _ in range(20))
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 19, [r.text for r in responses if r.status_code not in (201, 409)]
    winner = next(r.json()["request_id"] for r in responses if r.status_code == 201)
    assert all(winner in r.json()["detail"] for r in responses if r.status_code == 409)
    async with stack.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ServiceRequest)) == 1
        assert await session.scalar(select(func.count()).select_from(SlotBooking)) == 1


async def test_create_leaves_nothing_behind_when_temporal_is_down(
    api_client_for: object, db_url: str, staff: dict[str, object], sessionmaker: object
) -> None:
    from tests import factories
    from tests.api.conftest import auth

    async with sessionmaker() as session:  # type: ignore[operator]
        consumer = await factories.consumer(session)
        slot = await factories.time_slot(session, capacity=2)
        await session.commit()
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    async with api_client_for(
        database_url=db_url, temporal_address=dead, temporal_rpc_timeout_seconds=1
    ) as client:  # type: ignore[operator]
        response = await client.post(
            "/api/v1/requests",
            json={"consumer_id": consumer.id, "reason": "Other"},
            headers=auth(staff["csr"]),
        )

    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert response.json()["dependency"] == "temporal"
    async with sessionmaker() as session:  # type: ignore[operator]
        assert await session.scalar(select(func.count()).select_from(ServiceRequest)) == 0
        assert await session.scalar(select(func.count()).select_from(SlotBooking)) == 0
        booked = await session.scalar(select(SlotDay.booked).where(SlotDay.slot_id == slot.id))
        assert booked in (None, 0)
        fresh = await session.get(Consumer, consumer.id)
        assert fresh is not None and fresh.locked_by_request is None


async def test_list_search_filters_and_dashboard(stack: Stack) -> None:
    recon = await _create(stack, stack.inactive, "Seasonal return")
    disc = await _create(stack, stack.active, "Moving out")
    csr = stack.as_("csr")
    await stack.client.post(f"/api/v1/requests/{disc['request_id']}/acknowledge", headers=csr)

    async def ids(**params: object) -> list[str]:
        response = await stack.client.get("/api/v1/requests", params=params, headers=csr)
        assert response.status_code == 200, response.text
        return [r["request_id"] for r in response.json()["items"]]

    assert set(await ids()) == {recon["request_id"], disc["request_id"]}
    assert await ids(q=stack.inactive.account_number.lower()) == [recon["request_id"]]
    # six of the ID's digits: four ("0001") can also be in a test consumer's phone or account number
    assert await ids(q=recon["request_id"][-6:]) == [recon["request_id"]]
    assert await ids(q=stack.active.last_name.upper()) == [disc["request_id"]]
    assert await ids(q=f"{stack.active.first_name} {stack.active.last_name}".lower()) == [disc["request_id"]]
    assert await ids(q="%") == []  # LIKE wildcards are matched literally
    assert await ids(status="In Progress") == [disc["request_id"]]
    assert await ids(type="Reconnection", status=["Pending", "On Hold"]) == [recon["request_id"]]
    assert await ids(priority="High") == []
    assert await ids(
        created_from=TODAY().isoformat(), created_to=TODAY().isoformat(), sort="request_id"
    ) == sorted([recon["request_id"], disc["request_id"]])
    assert await ids(history=True) == []
    page = (await stack.client.get("/api/v1/requests", params={"size": 1, "page": 2}, headers=csr)).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    bad = await stack.client.get("/api/v1/requests", params={"sort": "password"}, headers=csr)
    assert bad.status_code == 422

    board = (await stack.client.get("/api/v1/requests/dashboard", headers=csr)).json()
    assert board == {
        "pending_connection": 1, "completed_connection": 0, "pending_disconnection": 1,
        "completed_disconnection": 0, "sla_at_risk": 0, "sla_breached": 0,
    }  # fmt: skip


async def test_roles_close_rule_counters_and_escalation_queue(stack: Stack) -> None:
    csr, supervisor = stack.as_("csr"), stack.as_("supervisor")
    made = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": "Seasonal return"},
        headers=supervisor,
    )
    recon = made.json()["request_id"]  # created by the supervisor, so not the CSR's own
    disc = (await _create(stack, stack.active, "Moving out"))["request_id"]

    async def allowed(rid: str, headers: dict[str, str]) -> set[str]:
        return set(
            (await stack.client.get(f"/api/v1/requests/{rid}", headers=headers)).json()["allowed_actions"]
        )

    # the detail offers each role what it may do now
    assert {"acknowledge", "close", "add_note"} <= await allowed(recon, csr)
    assert not {"set_priority", "assign"} & await allowed(recon, csr)
    assert {"set_priority", "assign", "close"} <= await allowed(recon, supervisor)

    # a CSR may close only requests they created or that are theirs or nobody's; a supervisor any
    assert "close" in await allowed(recon, csr)  # unassigned
    await stack.client.post(f"/api/v1/requests/{recon}/assign", json={"user_id": stack.staff["supervisor"].id},
                            headers=supervisor)  # fmt: skip
    refused = await stack.client.post(
        f"/api/v1/requests/{recon}/close", json={"reason": "Cancelled by consumer"}, headers=csr
    )
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert "close" not in await allowed(recon, csr)
    closed = await stack.client.post(
        f"/api/v1/requests/{recon}/close", json={"reason": "Cancelled by consumer"}, headers=supervisor
    )
    assert closed.status_code == 200, closed.text

    # counters: closed is not completed; an SLA state the workflow's timer would write shows up
    async with stack.sessionmaker() as session:
        await session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.request_id == disc)
            .values(sla_status=SlaState.BREACHED)
        )
        await session.commit()
    board = (await stack.client.get("/api/v1/requests/dashboard", headers=csr)).json()
    assert board == {
        "pending_connection": 0, "completed_connection": 0, "pending_disconnection": 1,
        "completed_disconnection": 0, "sla_at_risk": 0, "sla_breached": 1,
    }  # fmt: skip

    queue = await stack.client.get("/api/v1/requests/escalations", headers=supervisor)
    assert queue.status_code == 200
    assert [(r["request_id"], r["sla_status"]) for r in queue.json()["items"]] == [(disc, "Breached")]
    assert (await stack.client.get("/api/v1/requests/escalations", headers=csr)).status_code == 403

    done = await _final_reading(stack, disc, "700")
    assert done.status_code == 409 and "acknowledge" in done.json()["detail"].lower()
    await stack.client.post(f"/api/v1/requests/{disc}/acknowledge", headers=csr)
    done = await _final_reading(stack, disc, "700")
    assert done.status_code == 200, done.text
    board = (await stack.client.get("/api/v1/requests/dashboard", headers=csr)).json()
    assert (board["pending_disconnection"], board["completed_disconnection"], board["sla_breached"]) == (
        0,
        1,
        0,
    )
    assert (await stack.client.get("/api/v1/requests/escalations", headers=supervisor)).json()["items"] == []


async def test_unknown_request_is_404(stack: Stack) -> None:
    response = await stack.client.get("/api/v1/requests/RC-2026-999999", headers=stack.as_("csr"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_customer_lookup_gives_autofill_type_and_eligibility(stack: Stack) -> None:
    csr = stack.as_("csr")
    open_request = await _create(stack, stack.active, "Moving out")

    async def lookup(q: str) -> list[dict[str, object]]:
        response = await stack.client.get("/api/v1/requests/customer-lookup", params={"q": q}, headers=csr)
        assert response.status_code == 200, response.text
        return response.json()

    by_account = await lookup(stack.inactive.account_number.lower())
    assert [m["consumer"]["id"] for m in by_account] == [stack.inactive.id]
    assert by_account[0]["request_type"] == "Reconnection" and by_account[0]["eligible"] is True
    assert by_account[0]["consumer"]["service_address"] == stack.inactive.service_address

    by_name = await lookup(stack.active.last_name.upper())
    assert by_name[0]["request_type"] == "Disconnection" and by_name[0]["eligible"] is False
    assert open_request["request_id"] in by_name[0]["reason"]

    by_phone = await lookup(stack.inactive.phone.replace("-", "")[-6:])
    assert stack.inactive.id in [m["consumer"]["id"] for m in by_phone]
    assert (
        await stack.client.get("/api/v1/requests/customer-lookup", params={"q": "x"}, headers=csr)
    ).status_code == 422


async def test_prefer_return_minimal_answers_writes_without_the_detail(stack: Stack) -> None:
    minimal = {**stack.as_("csr"), "Prefer": "handling=lenient, return=minimal"}
    response = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": "Outstanding balance cleared"},
        headers=minimal,
    )
    assert response.status_code == 201, response.text
    rid = response.json()["request_id"]
    assert response.json() == {"request_id": rid}
    assert response.headers["location"] == f"/api/v1/requests/{rid}"
    assert response.headers["preference-applied"] == "return=minimal"

    acted = await stack.client.post(f"/api/v1/requests/{rid}/acknowledge", headers=minimal)
    assert acted.status_code == 200, acted.text
    assert acted.json()["request"] is None and acted.json()["message"]
    assert acted.headers["preference-applied"] == "return=minimal"

    # The action happened all the same; without the preference the detail comes back.
    full = await stack.client.post(
        f"/api/v1/requests/{rid}/hold", json={"reason": "Awaiting payment"}, headers=stack.as_("csr")
    )
    assert full.json()["request"]["status"] == "On Hold"
    assert "preference-applied" not in full.headers
    detail = (await stack.client.get(f"/api/v1/requests/{rid}", headers=stack.as_("csr"))).json()
    assert [e["kind"] for e in detail["timeline"]][:2] == ["created", "acknowledged"]
