"""Recorded histories replay against the current workflow code: a change that would break running
requests fails here (guard such a change with `workflow.patched()`)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.converter import data_converter
from workflows.request import RequestWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
RECORDED = {p.stem: json.loads(p.read_text()) for p in HISTORIES}
# Recorded with the local-activities patch: the database activities are local ones.
LOCAL = [
    "reconnection_completed_local",
    "disconnection_completed_local",
    "escalated_held_closed_local",
    "acknowledged_with_start_closed_local",
]
# Recorded with the kept-timer patch, each beside the same scenario recorded before it.
KEPT_TIMER = {
    "reconnection_completed_kept_timer": "reconnection_completed_local",
    "escalated_held_closed_kept_timer": "escalated_held_closed_local",
    "sla_calendar_follow_ups_closed_kept_timer": "sla_calendar_follow_ups_closed",
}
# Recorded with the process's one data converter and SQLite in one trip a statement, beside the same
# scenario recorded before them: no command may change (no patch guards them).
CONVERTER = {"reconnection_completed_converter": "reconnection_completed_kept_timer"}
# Recorded with the release marker, each beside the same scenario recorded before it where one was
# recorded with every patch it holds (None: no such twin).
RELEASE = {
    "reconnection_completed_release": "reconnection_completed_kept_timer",
    "escalated_held_closed_release": "escalated_held_closed_kept_timer",
    "sla_calendar_follow_ups_closed_release": "sla_calendar_follow_ups_closed_kept_timer",
    "acknowledged_with_start_closed_release": None,
    "disconnection_notices_closed_release": None,
    "started_with_attributes_closed_release": None,  # started with its six search attributes, as the API starts
}
# Recorded with the next release marker: select-plan and activate check their rules where they write
# them, each beside the same scenario recorded before it where there is one.
CHECKED = {
    "reconnection_completed_checked": "reconnection_completed_release",
    "reconnection_in_place_checked": "reconnection_in_place_service_off",
    "activation_refused_checked": None,  # refused by the completion's transaction, then accepted
}
SERVICE_OFF = [
    "disconnection_temporary_service_off",
    "disconnection_no_kind_service_off",
    "reconnection_in_place_service_off",
]


def _marked(name: str, marker: str, detail: str, field: str) -> list[str]:
    """``field`` of each ``marker`` the history recorded, in order, read from its ``detail``."""
    found = []
    for e in RECORDED[name]["events"]:
        attributes = e.get("markerRecordedEventAttributes", {})
        if attributes.get("markerName") == marker:
            found.append(
                json.loads(base64.b64decode(attributes["details"][detail]["payloads"][0]["data"]))[field]
            )
    return found


def _patches(name: str) -> list[str]:
    """The patch IDs a history recorded, in order."""
    return _marked(name, "core_patch", "patch-data", "id")


def _local_activities(name: str) -> list[str]:
    """The local activities a history ran, in order, by their activity type."""
    return _marked(name, "core_local_activity", "data", "activity_type")


def test_only_a_disconnection_started_without_a_kind_records_the_service_off_patch() -> None:
    """Requests started with a kind need no patch; one started before kinds marks its decision."""
    assert "service-off-kinds" in _patches("disconnection_no_kind_service_off")
    assert "service-off-kinds" not in _patches("disconnection_temporary_service_off")
    assert "service-off-kinds" not in _patches("disconnection_completed_local")


def test_histories_are_checked_in() -> None:
    names = {p.stem for p in HISTORIES}
    assert {
        "reconnection_completed",
        "disconnection_completed",
        "escalated_held_closed",
        "acknowledged_with_start_closed",  # recorded with the row-before-actions patch
        "retried_actions_closed",  # update IDs from Idempotency-Keys, digests in payloads and outcomes
        *LOCAL,  # recorded with the local-activities patch
        *SERVICE_OFF,  # recorded with disconnection kinds (issue 15, point 1)
        "disconnection_payment_cancelled",  # a payment cancelling a non-payment disconnection (issue 16)
        "disconnection_notice_renewed",  # the final-notice-renewal patch: a notice expired under a hold
        "reconnection_contacts_billing",  # the response-delivered patch, log_contact, billing at activation
        *KEPT_TIMER,  # the kept-timer patch
        *CONVERTER,  # the shared data converter, the one-trip SQLite driver
        *RELEASE,  # the release marker
        *CHECKED,  # the next release marker: plan and activation checked where they are written
    } <= names


@pytest.mark.parametrize("name", CONVERTER)
def test_the_shared_converter_records_the_same_events_as_before_it(name: str) -> None:
    """Payload encoding and the database driver are no workflow commands: the history recorded
    with them has the same events in the same order, and the same patches, as its twin before."""
    before = CONVERTER[name]
    kinds = {n: [e["eventType"] for e in RECORDED[n]["events"]] for n in (name, before)}
    assert kinds[name] == kinds[before]
    assert _patches(name) == _patches(before)


def test_the_response_delivered_patch_sends_sms_and_histories_before_it_do_not() -> None:
    """From the patch on an SMS response is sent (send_sms); before it an SMS response only logged."""

    def scheduled(name: str) -> set[str]:
        return {
            e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
            for e in RECORDED[name]["events"]
            if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
        }

    assert "response-delivered" in _patches("reconnection_contacts_billing")
    assert "send_sms" in scheduled("reconnection_contacts_billing")
    assert "response-delivered" not in _patches("reconnection_completed")  # its SMS response: logged only
    assert "send_sms" not in scheduled("reconnection_completed")


@pytest.mark.parametrize("name", LOCAL)
def test_local_histories_schedule_only_emails(name: str) -> None:
    """Under the patch the database work runs as local activities (markers): only e-mails are scheduled."""
    scheduled = {
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in RECORDED[name]["events"]
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    }
    markers = [e for e in RECORDED[name]["events"] if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"]

    assert scheduled <= {"send_email"}
    assert markers


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, RECORDED[path.stem])
    replayer = Replayer(workflows=[RequestWorkflow], data_converter=data_converter)

    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)

    assert result.replay_failure is None, result.replay_failure


def test_the_notices_history_records_the_notices_patch_and_its_timers() -> None:
    """A non-payment disconnection under ``disconnection-notices``: the patch, its timers (the
    notice period, the contact hours, the hold's end), no polling activity in between."""
    assert "disconnection-notices" in _patches("disconnection_notices_closed")
    assert "disconnection-notices" not in _patches("disconnection_completed_local")
    events = RECORDED["disconnection_notices_closed"]["events"]
    assert sum(e["eventType"] == "EVENT_TYPE_TIMER_STARTED" for e in events) >= 4


def test_the_renewal_history_records_its_patch() -> None:
    assert "final-notice-renewal" in _patches("disconnection_notice_renewed")
    assert "final-notice-renewal" not in _patches("disconnection_notices_closed")


def _count(name: str, event_type: str) -> int:
    return sum(e["eventType"] == event_type for e in RECORDED[name]["events"])


@pytest.mark.parametrize("name", KEPT_TIMER)
def test_kept_timer_histories_restart_fewer_timers_than_the_same_scenario_before(name: str) -> None:
    """The same actions at the same moments: the patch keeps timers whose moment did not move."""
    before = KEPT_TIMER[name]
    assert "kept-timer" in _patches(name)
    assert "kept-timer" not in _patches(before)
    for event_type in ("EVENT_TYPE_TIMER_CANCELED", "EVENT_TYPE_TIMER_STARTED"):
        assert _count(name, event_type) < _count(before, event_type)
    upserts = "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"
    assert _count(name, upserts) < _count(before, upserts)


def _without_patches(name: str) -> list[str]:
    """The history's event types, patch markers and Temporal's TemporalChangeVersion upserts left out."""
    kept = []
    for e in RECORDED[name]["events"]:
        if e.get("markerRecordedEventAttributes", {}).get("markerName") == "core_patch":
            continue
        upserted = e.get("upsertWorkflowSearchAttributesEventAttributes", {})
        if set(upserted.get("searchAttributes", {}).get("indexedFields", {})) == {"TemporalChangeVersion"}:
            continue
        kept.append(e["eventType"])
    return kept


@pytest.mark.parametrize("name", RELEASE)
def test_release_histories_record_one_patch_marker(name: str) -> None:
    """One marker for every patch, where the run recorded one per patch before it."""
    assert _patches(name) == ["release-2026-12"]
    if (before := RELEASE[name]) is not None:
        assert len(_patches(before)) >= 3
        assert len(RECORDED[name]["events"]) <= len(RECORDED[before]["events"]) - 4


@pytest.mark.parametrize("name", [n for n, before in RELEASE.items() if before is not None])
def test_the_release_marker_changes_no_other_command(name: str) -> None:
    """The same scenario before it, patch markers and their upserts left out: the same events."""
    assert _without_patches(name) == _without_patches(RELEASE[name])  # type: ignore[index]


def test_a_request_started_with_its_search_attributes_upserts_only_what_changed() -> None:
    """``start-attributes-published``: the six the start carried are not upserted again."""
    upserted = [
        set(e["upsertWorkflowSearchAttributesEventAttributes"]["searchAttributes"]["indexedFields"])
        for e in RECORDED["started_with_attributes_closed_release"]["events"]
        if "upsertWorkflowSearchAttributesEventAttributes" in e
    ]
    assert upserted == [
        {"TemporalChangeVersion"},
        {"RequestStatus"},
        {"RequestStatus"},
    ]  # created, acked, closed


@pytest.mark.parametrize("name", CHECKED)
def test_checked_histories_record_the_next_release_marker_alone(name: str) -> None:
    assert _patches(name) == ["release-2026-12-b"]


@pytest.mark.parametrize("name", [n for n, before in CHECKED.items() if before is not None])
def test_plan_and_activation_checked_where_written_drop_their_lookups(name: str) -> None:
    """Before: check_plan then project, lookup_meters then complete. Now: select_plan, complete; the
    other local activities are the same, in the same order."""
    before = _local_activities(CHECKED[name])  # type: ignore[index]
    plan = before.index("check_plan")
    assert before[plan : plan + 2] == ["check_plan", "project"]
    expected = [*before[:plan], "select_plan", *before[plan + 2 :]]
    expected.remove("lookup_meters")
    assert _local_activities(name) == expected
    assert len(RECORDED[name]["events"]) < len(RECORDED[CHECKED[name]]["events"])  # type: ignore[index]


def test_an_activation_refused_where_it_is_written_is_one_failed_local_activity() -> None:
    """Its refusal: a failed 'complete' (no lookup before it), the update rejected, nothing else."""
    assert _local_activities("activation_refused_checked") == [
        "record_created",
        "project",
        "select_plan",
        "complete",
        "complete",
    ]
    completed = [
        e
        for e in RECORDED["activation_refused_checked"]["events"]
        if "workflowExecutionUpdateCompletedEventAttributes" in e
    ]
    outcomes = [e["workflowExecutionUpdateCompletedEventAttributes"]["outcome"] for e in completed]
    assert ["failure" in o for o in outcomes] == [False, False, True, False]
    assert "below its last reading" in outcomes[2]["failure"]["message"]
