"""domain.request.rules: transitions, refusals and activation / final-reading data checks.

The expected tables below are written out by hand from DESIGN.md ("Request lifecycle") and the
FAQ, not derived from the code under test.
"""

from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal

import pytest

from domain.consumers.types import Category, ConsumerStatus, UtilityType
from domain.request.rules import (
    Action,
    FinalReading,
    MeterChoice,
    RefusalCode,
    RefusalReason,
    TransitionRefused,
    allowed_actions,
    check_action,
    check_activation,
    check_final_readings,
    check_plan,
    raise_priority,
    request_type_for,
)
from domain.request.types import Priority, RequestStatus, RequestType

S = RequestStatus
T = RequestType
A = Action
W = UtilityType.WATER
E = UtilityType.ELECTRICITY

# ---------------------------------------------------------------------------------------------
# The transition table.
#
# Outcome per (status, type) row and action column, with NO plan selected:
#   OK = allowed, IT = invalid_transition, PR = plan_required, WT = wrong_request_type,
#   RC = request_closed.
# With a plan selected the only difference is In Progress / Reconnection / activate: PR -> OK.

OK = "ok"
IT = "invalid_transition"
PR = "plan_required"
WT = "wrong_request_type"
RC = "request_closed"

COLUMNS = (
    A.ACKNOWLEDGE,
    A.PUT_ON_HOLD,
    A.RESUME,
    A.SELECT_PLAN,
    A.ACTIVATE,
    A.RECORD_FINAL_READINGS,
    A.CLOSE,
    A.ADD_NOTE,
    A.SEND_RESPONSE,
    A.CREATE_SERVICE_ORDER,
    A.SET_PRIORITY,
    A.ASSIGN,
    A.WAIVE_FEE,
    A.LOG_CONTACT,
    A.ESCALATE,
    A.FOLLOW_UP,
)

# fmt: off
TABLE: dict[tuple[RequestStatus, RequestType], tuple[str, ...]] = {
    #                                 ack hold resume plan activ final close note resp order prio assign fee contact esc  follow
    (S.PENDING, T.RECONNECTION):      (OK, IT,  IT,    IT,  IT,   WT,   OK,   OK,  OK,  OK,   OK,  OK,  OK,  OK, OK,  OK),
    (S.PENDING, T.DISCONNECTION):     (OK, IT,  IT,    WT,  WT,   IT,   OK,   OK,  OK,  OK,   OK,  OK,  WT,  OK, OK,  OK),
    (S.IN_PROGRESS, T.RECONNECTION):  (IT, OK,  IT,    OK,  PR,   WT,   OK,   OK,  OK,  OK,   OK,  OK,  OK,  OK, OK,  OK),
    (S.IN_PROGRESS, T.DISCONNECTION): (IT, OK,  IT,    WT,  WT,   OK,   OK,   OK,  OK,  OK,   OK,  OK,  WT,  OK, OK,  OK),
    (S.ON_HOLD, T.RECONNECTION):      (IT, IT,  OK,    IT,  IT,   WT,   OK,   OK,  OK,  OK,   OK,  OK,  OK,  OK, OK,  OK),
    (S.ON_HOLD, T.DISCONNECTION):     (IT, IT,  OK,    WT,  WT,   IT,   OK,   OK,  OK,  OK,   OK,  OK,  WT,  OK, OK,  OK),
    (S.COMPLETED, T.RECONNECTION):    (RC, RC,  RC,    RC,  RC,   RC,   RC,   RC,  RC,  RC,   RC,  RC,  RC,  RC, RC,  RC),
    (S.COMPLETED, T.DISCONNECTION):   (RC, RC,  RC,    RC,  RC,   RC,   RC,   RC,  RC,  RC,   RC,  RC,  RC,  RC, RC,  RC),
    (S.CLOSED, T.RECONNECTION):       (RC, RC,  RC,    RC,  RC,   RC,   RC,   RC,  RC,  RC,   RC,  RC,  RC,  RC, RC,  RC),
    (S.CLOSED, T.DISCONNECTION):      (RC, RC,  RC,    RC,  RC,   RC,   RC,   RC,  RC,  RC,   RC,  RC,  RC,  RC, RC,  RC),
}
# fmt: on


def expected(action: Action, status: RequestStatus, rtype: RequestType, plan_selected: bool) -> str:
    outcome = TABLE[(status, rtype)][COLUMNS.index(action)]
    if plan_selected and outcome == PR:
        return OK
    return outcome


def test_table_covers_everything() -> None:
    assert set(COLUMNS) == set(Action) and len(COLUMNS) == len(Action)
    assert set(TABLE) == {(s, t) for s in RequestStatus for t in RequestType}
    assert all(len(row) == len(COLUMNS) for row in TABLE.values())


@pytest.mark.parametrize("plan_selected", [False, True], ids=["no-plan", "plan"])
@pytest.mark.parametrize("rtype", list(RequestType))
@pytest.mark.parametrize("status", list(RequestStatus))
@pytest.mark.parametrize("action", list(Action))
def test_check_action_matches_table(
    action: Action, status: RequestStatus, rtype: RequestType, plan_selected: bool
) -> None:
    want = expected(action, status, rtype, plan_selected)
    if want == OK:
        check_action(action, status, rtype, plan_selected=plan_selected)
        assert action in allowed_actions(status, rtype, plan_selected=plan_selected)
    else:
        with pytest.raises(TransitionRefused) as exc:
            check_action(action, status, rtype, plan_selected=plan_selected)
        assert exc.value.code == want
        assert exc.value.message and str(exc.value) == exc.value.message
        assert action not in allowed_actions(status, rtype, plan_selected=plan_selected)


# The lists spelled out in the brief, in Action order.
ALLOWED_LISTS = {
    (S.PENDING, T.RECONNECTION, False): [
        A.ACKNOWLEDGE, A.CLOSE, A.ADD_NOTE, A.SEND_RESPONSE, A.CREATE_SERVICE_ORDER, A.SET_PRIORITY,
        A.ASSIGN, A.WAIVE_FEE, A.LOG_CONTACT, A.ESCALATE, A.FOLLOW_UP,
    ],
    (S.IN_PROGRESS, T.RECONNECTION, False): [
        A.PUT_ON_HOLD, A.SELECT_PLAN, A.CLOSE, A.ADD_NOTE, A.SEND_RESPONSE, A.CREATE_SERVICE_ORDER,
        A.SET_PRIORITY, A.ASSIGN, A.WAIVE_FEE, A.LOG_CONTACT, A.ESCALATE, A.FOLLOW_UP,
    ],
    (S.IN_PROGRESS, T.RECONNECTION, True): [
        A.PUT_ON_HOLD, A.SELECT_PLAN, A.ACTIVATE, A.CLOSE, A.ADD_NOTE, A.SEND_RESPONSE,
        A.CREATE_SERVICE_ORDER, A.SET_PRIORITY, A.ASSIGN, A.WAIVE_FEE, A.LOG_CONTACT, A.ESCALATE, A.FOLLOW_UP,
    ],
    (S.IN_PROGRESS, T.DISCONNECTION, True): [
        A.PUT_ON_HOLD, A.RECORD_FINAL_READINGS, A.CLOSE, A.ADD_NOTE, A.SEND_RESPONSE,
        A.CREATE_SERVICE_ORDER, A.SET_PRIORITY, A.ASSIGN, A.LOG_CONTACT, A.ESCALATE, A.FOLLOW_UP,
    ],
    (S.ON_HOLD, T.DISCONNECTION, False): [
        A.RESUME, A.CLOSE, A.ADD_NOTE, A.SEND_RESPONSE, A.CREATE_SERVICE_ORDER, A.SET_PRIORITY, A.ASSIGN, A.LOG_CONTACT, A.ESCALATE, A.FOLLOW_UP,
    ],
    (S.COMPLETED, T.RECONNECTION, True): [],
    (S.CLOSED, T.DISCONNECTION, False): [],
}  # fmt: skip


@pytest.mark.parametrize(("status", "rtype", "plan_selected"), list(ALLOWED_LISTS))
def test_allowed_actions_lists_in_action_order(
    status: RequestStatus, rtype: RequestType, plan_selected: bool
) -> None:
    assert (
        allowed_actions(status, rtype, plan_selected=plan_selected)
        == ALLOWED_LISTS[(status, rtype, plan_selected)]
    )


def test_allowed_actions_accepts_plain_strings() -> None:
    assert allowed_actions("On Hold", "Reconnection", plan_selected=False)[0] == A.RESUME  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Refusal messages

MESSAGES: list[tuple[Action, RequestStatus, RequestType, bool, str]] = [
    (A.PUT_ON_HOLD, S.PENDING, T.RECONNECTION, False,
     "Cannot put request on hold: it is Pending; acknowledge it first."),
    (A.RESUME, S.PENDING, T.RECONNECTION, False,
     "Cannot resume request: it is Pending, not On Hold; acknowledge it instead."),
    (A.SELECT_PLAN, S.PENDING, T.RECONNECTION, False,
     "Cannot select a billing plan: request is Pending; acknowledge it first."),
    (A.ACTIVATE, S.PENDING, T.RECONNECTION, True,
     "Cannot activate: request is Pending; acknowledge it first."),
    (A.RECORD_FINAL_READINGS, S.PENDING, T.DISCONNECTION, False,
     "Cannot record final readings: request is Pending; acknowledge it first."),
    (A.ACKNOWLEDGE, S.IN_PROGRESS, T.RECONNECTION, False,
     "Request is already acknowledged: it is In Progress."),
    (A.RESUME, S.IN_PROGRESS, T.DISCONNECTION, False,
     "Cannot resume request: it is In Progress, not On Hold."),
    (A.ACTIVATE, S.IN_PROGRESS, T.RECONNECTION, False,
     "Cannot activate: select and save a billing plan first."),
    (A.ACKNOWLEDGE, S.ON_HOLD, T.RECONNECTION, False,
     "Request is already acknowledged: it is On Hold; resume it instead."),
    (A.PUT_ON_HOLD, S.ON_HOLD, T.DISCONNECTION, False, "Request is already On Hold."),
    (A.SELECT_PLAN, S.ON_HOLD, T.RECONNECTION, False,
     "Cannot select a billing plan: request is On Hold; resume it first."),
    (A.ACTIVATE, S.ON_HOLD, T.RECONNECTION, True,
     "Cannot activate: request is On Hold; resume it first."),
    (A.RECORD_FINAL_READINGS, S.ON_HOLD, T.DISCONNECTION, False,
     "Cannot record final readings: request is On Hold; resume it first."),
    (A.ACTIVATE, S.IN_PROGRESS, T.DISCONNECTION, True,
     "Activate applies to reconnection requests; this is a Disconnection request — "
     "record final readings instead."),
    (A.SELECT_PLAN, S.IN_PROGRESS, T.DISCONNECTION, False,
     "Billing plans apply to reconnection requests; this is a Disconnection request — "
     "record final readings instead."),
    (A.RECORD_FINAL_READINGS, S.IN_PROGRESS, T.RECONNECTION, True,
     "Final readings apply to disconnection requests; this is a Reconnection request — "
     "select a plan and activate instead."),
    (A.CLOSE, S.CLOSED, T.RECONNECTION, False, "Request is Closed; no further actions are possible."),
    (A.ADD_NOTE, S.CLOSED, T.DISCONNECTION, False, "Request is Closed; no further actions are possible."),
    (A.ADD_NOTE, S.COMPLETED, T.RECONNECTION, True,
     "Request is Completed; no further actions are possible."),
    (A.ACTIVATE, S.COMPLETED, T.DISCONNECTION, True,
     "Request is Completed; no further actions are possible."),
]  # fmt: skip


@pytest.mark.parametrize(("action", "status", "rtype", "plan", "message"), MESSAGES)
def test_refusal_messages(
    action: Action, status: RequestStatus, rtype: RequestType, plan: bool, message: str
) -> None:
    with pytest.raises(TransitionRefused) as exc:
        check_action(action, status, rtype, plan_selected=plan)
    assert exc.value.message == message
    assert exc.value.problems == (RefusalReason(exc.value.code, message),)


def test_wrong_type_is_reported_before_status() -> None:
    """Activate on a Pending disconnection: the type is what the CSR must hear about."""
    with pytest.raises(TransitionRefused) as exc:
        check_action(A.ACTIVATE, S.PENDING, T.DISCONNECTION, plan_selected=False)
    assert exc.value.code == "wrong_request_type"


def test_status_is_reported_before_missing_plan() -> None:
    with pytest.raises(TransitionRefused) as exc:
        check_action(A.ACTIVATE, S.ON_HOLD, T.RECONNECTION, plan_selected=False)
    assert exc.value.code == "invalid_transition"
    assert "resume it first" in exc.value.message


def test_transition_refused_defaults_and_repr() -> None:
    e = TransitionRefused("Nope.")
    assert e.code == "invalid_transition"
    assert e.code == RefusalCode.INVALID_TRANSITION.value
    assert str(e) == "Nope."
    assert e.problems == (RefusalReason("invalid_transition", "Nope."),)
    assert "Nope." in repr(e) and "invalid_transition" in repr(e)
    with pytest.raises(ValueError):
        TransitionRefused.from_problems([])


def test_transition_refused_survives_pickling() -> None:
    e = TransitionRefused.from_problems(
        [RefusalReason("duplicate_meter", "Meter M-1 was chosen more than once.", "f")]
    )
    back = pickle.loads(pickle.dumps(e))
    assert (back.message, back.code, back.problems) == (e.message, e.code, e.problems)


def test_full_reconnection_walk() -> None:
    for action, status, plan in [
        (A.ACKNOWLEDGE, S.PENDING, False),
        (A.PUT_ON_HOLD, S.IN_PROGRESS, False),
        (A.RESUME, S.ON_HOLD, False),
        (A.SELECT_PLAN, S.IN_PROGRESS, False),
        (A.ACTIVATE, S.IN_PROGRESS, True),
    ]:
        check_action(action, status, T.RECONNECTION, plan_selected=plan)
    assert allowed_actions(S.COMPLETED, T.RECONNECTION, plan_selected=True) == []


# ---------------------------------------------------------------------------------------------
# Request type and priority


@pytest.mark.parametrize(
    ("consumer_status", "want"),
    [
        (ConsumerStatus.INACTIVE, T.RECONNECTION),  # the FAQ's wording stays true
        (ConsumerStatus.ACTIVE, T.DISCONNECTION),
        (ConsumerStatus.DISCONNECTED, T.RECONNECTION),
        (ConsumerStatus.COLLECTION, T.DISCONNECTION),
        (ConsumerStatus.TEMPORARILY_DISCONNECTED, T.RECONNECTION),
    ],
)
def test_request_type_for(consumer_status: ConsumerStatus, want: RequestType) -> None:
    assert request_type_for(consumer_status) is want


def test_request_type_for_refuses_a_pending_account() -> None:
    with pytest.raises(TransitionRefused) as refused:
        request_type_for(ConsumerStatus.PENDING)
    assert refused.value.code == "consumer_pending"
    assert "Pending" in refused.value.message and "Complete the account set-up" in refused.value.message


def test_request_type_for_covers_every_consumer_status() -> None:
    assert len(ConsumerStatus) == 6


@pytest.mark.parametrize(
    ("p", "want"),
    [
        (Priority.LOW, Priority.MEDIUM),
        (Priority.MEDIUM, Priority.HIGH),
        (Priority.HIGH, Priority.CRITICAL),
        (Priority.CRITICAL, Priority.CRITICAL),
    ],
)
def test_raise_priority(p: Priority, want: Priority) -> None:
    assert raise_priority(p) is want


# ---------------------------------------------------------------------------------------------
# check_plan


def test_check_plan_accepts_matching_active_plan() -> None:
    check_plan(Category.RESIDENTIAL, "Standard", True, Category.RESIDENTIAL, "Standard")


def test_check_plan_refuses_inactive_plan() -> None:
    with pytest.raises(TransitionRefused) as exc:
        check_plan(
            Category.RESIDENTIAL, "Standard", False, Category.RESIDENTIAL, "Standard", plan_name="RES-STD"
        )
    assert exc.value.code == "plan_inactive"
    assert exc.value.message == "Plan RES-STD is inactive; choose an active plan."


@pytest.mark.parametrize(
    ("plan_cat", "plan_sub", "cons_cat", "cons_sub"),
    [
        (Category.COMMERCIAL, "Retail", Category.RESIDENTIAL, "Standard"),
        (Category.RESIDENTIAL, "Low Income", Category.RESIDENTIAL, "Standard"),
        (Category.COMMERCIAL, "Retail", Category.INDUSTRIAL, "Retail"),
    ],
)
def test_check_plan_refuses_category_mismatch(
    plan_cat: Category, plan_sub: str, cons_cat: Category, cons_sub: str
) -> None:
    with pytest.raises(TransitionRefused) as exc:
        check_plan(plan_cat, plan_sub, True, cons_cat, cons_sub)
    assert exc.value.code == "plan_category_mismatch"
    assert exc.value.message == (
        f"The selected plan is for {plan_cat} / {plan_sub} consumers; "
        f"this consumer is {cons_cat} / {cons_sub}."
    )


def test_check_plan_reports_both_problems() -> None:
    with pytest.raises(TransitionRefused) as exc:
        check_plan("Commercial", "Retail", False, "Residential", "Standard")
    assert [p.code for p in exc.value.problems] == ["plan_inactive", "plan_category_mismatch"]
    assert exc.value.code == "plan_inactive"
    assert "inactive" in exc.value.message and "Commercial / Retail" in exc.value.message
    assert "Residential / Standard" in exc.value.message


# ---------------------------------------------------------------------------------------------
# check_activation

TODAY = date(2026, 11, 30)
BOTH_METERED = [(W, True), (E, True)]


def meter(
    utility: UtilityType, number: str, reading: str = "10.00", day: date = TODAY, **facts: object
) -> MeterChoice:
    return MeterChoice(utility, number, Decimal(reading), day, **facts)  # type: ignore[arg-type]


def refused_activation(
    services: list[tuple[UtilityType, bool]], choices: list[MeterChoice]
) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as exc:
        check_activation(services, choices, today=TODAY)
    return exc.value


def test_activation_ok_for_both_metered_services() -> None:
    water = meter(
        W,
        "M-1",
        "130.50",
        date(2026, 11, 29),
        meter_utility=W,
        meter_last_reading=Decimal("130.50"),
        meter_available=True,
        meter_last_reading_date=date(2026, 11, 1),
    )
    electricity = meter(E, "M-2", "0", TODAY, meter_utility=E, meter_available=True)
    check_activation(BOTH_METERED, [water, electricity], today=TODAY)


def test_activation_ok_without_meter_for_unmetered_service() -> None:
    check_activation([(W, False), (E, True)], [meter(E, "M-2")], today=TODAY)


def test_activation_ok_when_nothing_is_metered() -> None:
    check_activation([(W, False)], [], today=TODAY)


def test_activation_refuses_missing_meter_for_metered_service() -> None:
    e = refused_activation(BOTH_METERED, [meter(E, "M-2")])
    assert e.code == "meter_required"
    assert e.message == "Plan includes metered water service but no meter was chosen for it."
    assert e.problems[0].field == "meters"


def test_activation_refuses_missing_meters_for_every_service() -> None:
    e = refused_activation(BOTH_METERED, [])
    assert [p.message for p in e.problems] == [
        "Plan includes metered water service but no meter was chosen for it.",
        "Plan includes metered electricity service but no meter was chosen for it.",
    ]


def test_activation_refuses_meter_for_utility_not_in_plan() -> None:
    e = refused_activation([(W, True)], [meter(W, "M-1"), meter(E, "M-2")])
    assert e.code == "utility_not_in_plan"
    assert e.message == "Meter M-2 was chosen for electricity service, which the plan does not include."
    assert e.problems[0].field == "meters[1].utility"


def test_activation_refuses_meter_for_unmetered_service() -> None:
    e = refused_activation([(W, False), (E, True)], [meter(E, "M-2"), meter(W, "M-1")])
    assert e.code == "service_unmetered"
    assert "water service is unmetered" in e.message and "M-1" in e.message


def test_activation_refuses_two_meters_for_one_utility() -> None:
    e = refused_activation(BOTH_METERED, [meter(W, "M-1"), meter(E, "M-2"), meter(W, "M-3")])
    assert e.code == "duplicate_utility"
    assert e.message == "2 meters were chosen for water service (M-1, M-3); choose one."
    assert len(e.problems) == 1


def test_activation_refuses_duplicated_meter_number() -> None:
    e = refused_activation(BOTH_METERED, [meter(W, "M-1"), meter(E, "M-1")])
    assert e.code == "duplicate_meter"
    assert e.message == "Meter M-1 was chosen more than once."
    assert e.problems[0].field == "meters[1].meter_number"


def test_activation_same_meter_twice_for_one_utility_is_one_problem() -> None:
    e = refused_activation([(W, True)], [meter(W, "M-1"), meter(W, " M-1 ")])
    assert [p.code for p in e.problems] == ["duplicate_meter"]


def test_activation_refuses_blank_meter_number() -> None:
    e = refused_activation([(W, True)], [meter(W, "  ")])
    assert [p.code for p in e.problems] == ["meter_required", "meter_number_blank"]
    assert e.problems[1].message == "No meter number was given for water service."


def test_activation_refuses_negative_reading() -> None:
    e = refused_activation([(W, True)], [meter(W, "M-1", "-5", meter_last_reading=Decimal("3"))])
    assert e.code == "reading_negative"
    assert e.message == "Reading -5.00 for meter M-1 cannot be negative."
    assert len(e.problems) == 1  # not also "below its last reading"


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_activation_refuses_non_numeric_reading(bad: str) -> None:
    e = refused_activation([(W, True)], [meter(W, "M-1", bad)])
    assert e.code == "reading_invalid"
    assert "is not a number" in e.message


def test_activation_refuses_future_reading_date() -> None:
    e = refused_activation([(W, True)], [meter(W, "M-100004", day=date(2026, 12, 1))])
    assert e.code == "reading_date_future"
    assert e.message == "Reading date 2026-12-01 for meter M-100004 is in the future."
    assert e.problems[0].field == "meters[0].reading_date"


def test_activation_accepts_reading_dated_today() -> None:
    check_activation([(W, True)], [meter(W, "M-1", day=TODAY)], today=TODAY)


def test_activation_refuses_meter_of_wrong_utility() -> None:
    e = refused_activation([(W, True)], [meter(W, "M-7", meter_utility=E)])
    assert e.code == "meter_utility_mismatch"
    assert e.message == "Meter M-7 is an electricity meter, but it was chosen for water service."
    e = refused_activation([(E, True)], [meter(E, "M-8", meter_utility=W)])
    assert e.message == "Meter M-8 is a water meter, but it was chosen for electricity service."


def test_activation_refuses_unavailable_meter() -> None:
    e = refused_activation([(W, True)], [meter(W, "M-1", meter_available=False)])
    assert e.code == "meter_unavailable"
    assert e.message == "Meter M-1 is not available for assignment."


def test_activation_accepts_the_consumers_own_meter_in_place() -> None:
    """Service off with meters still assigned: the meter is not Available, but it is re-energised in place."""
    check_activation(
        [(W, True)],
        [
            meter(
                W, "M-1", "140", meter_available=False, meter_in_place=True, meter_last_reading=Decimal("130")
            )
        ],
        today=TODAY,
    )


def test_activation_in_place_still_refuses_a_reading_below_the_last() -> None:
    e = refused_activation(
        [(W, True)],
        [
            meter(
                W, "M-1", "120", meter_available=False, meter_in_place=True, meter_last_reading=Decimal("130")
            )
        ],
    )
    assert [p.code for p in e.problems] == ["reading_below_last"]


def test_activation_refuses_reading_below_last() -> None:
    e = refused_activation([(W, True)], [meter(W, "M-1", "120", meter_last_reading=Decimal("130.5"))])
    assert e.code == "reading_below_last"
    assert e.message == "Reading 120.00 for meter M-1 is below its last reading 130.50."


def test_activation_reading_formatting_keeps_extra_decimals() -> None:
    e = refused_activation([(W, True)], [meter(W, "M-1", "120.125", meter_last_reading=Decimal("120.126"))])
    assert e.message == "Reading 120.125 for meter M-1 is below its last reading 120.126."


def test_activation_accepts_reading_equal_to_last() -> None:
    check_activation(
        [(W, True)], [meter(W, "M-1", "130.50", meter_last_reading=Decimal("130.5"))], today=TODAY
    )


def test_activation_refuses_reading_dated_before_last_reading() -> None:
    e = refused_activation(
        [(W, True)], [meter(W, "M-1", day=date(2026, 1, 1), meter_last_reading_date=date(2026, 2, 1))]
    )
    assert e.code == "reading_date_before_last"
    assert e.message == "Reading date 2026-01-01 for meter M-1 is before its last reading date 2026-02-01."


def test_activation_refuses_plan_without_services() -> None:
    e = refused_activation([], [])
    assert e.code == "plan_has_no_services"


def test_activation_reports_every_problem_in_order() -> None:
    e = refused_activation(
        BOTH_METERED,
        [
            meter(
                W, "M-1", "120", date(2026, 12, 1), meter_last_reading=Decimal("130.5"), meter_available=False
            )
        ],
    )
    assert [(p.code, p.field) for p in e.problems] == [
        ("meter_required", "meters"),
        ("meter_unavailable", "meters[0].meter_number"),
        ("reading_below_last", "meters[0].reading"),
        ("reading_date_future", "meters[0].reading_date"),
    ]
    assert e.code == "meter_required"
    assert e.message == " ".join(p.message for p in e.problems)


def test_meter_choice_is_frozen() -> None:
    m = meter(W, "M-1")
    with pytest.raises(AttributeError):
        m.reading = Decimal(1)  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# check_final_readings


def final(number: str, reading: str = "200", day: date = TODAY, **facts: object) -> FinalReading:
    return FinalReading(number, Decimal(reading), day, **facts)  # type: ignore[arg-type]


def refused_final(readings: list[FinalReading], assigned: list[str] | None = None) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as exc:
        check_final_readings(readings, today=TODAY, assigned_meters=assigned)
    return exc.value


def test_final_readings_ok() -> None:
    check_final_readings(
        [final("M-1", "130.50", meter_last_reading=Decimal("130.5")), final("M-2", "7", date(2026, 11, 2))],
        today=TODAY,
        assigned_meters=["M-1", "M-2"],
    )


def test_final_readings_require_at_least_one() -> None:
    e = refused_final([])
    assert e.code == "readings_required"
    assert e.message == "Record at least one final meter reading to complete the disconnection."


def test_final_reading_below_last_is_refused() -> None:
    e = refused_final([final("M-1", "120", meter_last_reading=Decimal("130.50"))])
    assert e.code == "reading_below_last"
    assert e.message == "Reading 120.00 for meter M-1 is below its last reading 130.50."


def test_final_reading_in_future_is_refused() -> None:
    e = refused_final([final("M-100004", day=date(2026, 12, 1))])
    assert e.message == "Reading date 2026-12-01 for meter M-100004 is in the future."


def test_final_reading_before_last_date_is_refused() -> None:
    e = refused_final([final("M-1", day=date(2026, 1, 1), meter_last_reading_date=date(2026, 1, 2))])
    assert e.code == "reading_date_before_last"


def test_final_reading_negative_is_refused() -> None:
    e = refused_final([final("M-1", "-0.01")])
    assert e.message == "Reading -0.01 for meter M-1 cannot be negative."


def test_final_reading_duplicate_meter_is_refused() -> None:
    e = refused_final([final("M-1"), final("M-1", "300")])
    assert e.code == "duplicate_meter"
    assert e.problems[0].field == "readings[1].meter_number"


def test_final_reading_blank_meter_is_refused() -> None:
    e = refused_final([final("")])
    assert e.code == "meter_number_blank"


def test_final_readings_must_cover_assigned_meters() -> None:
    e = refused_final([final("M-1"), final("M-9")], assigned=["M-1", "M-2"])
    assert [(p.code, p.message) for p in e.problems] == [
        ("meter_not_assigned", "Meter M-9 is not assigned to this consumer."),
        ("final_reading_missing", "No final reading was recorded for meter M-2."),
    ]
