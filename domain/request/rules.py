"""What may be done to a request, and whether the data for it is acceptable.

Pure and deterministic: no I/O, no clock (callers pass ``today``), stdlib and ``domain`` only,
so the workflow sandbox can import it and the API can pre-check with the very same rules.

Lifecycle (DESIGN.md, "Request lifecycle")::

    Pending --acknowledge--> In Progress --put_on_hold--> On Hold --resume--> In Progress
    In Progress --activate (reconnection, plan selected)--> Completed
    In Progress --record_final_readings (disconnection)--> Completed
    any open status --close--> Closed

Completed and Closed are *finished*: every action on a finished request is refused, adding a
note included (code ``request_closed``). A finished request's history is read-only.

Every refusal is a :class:`TransitionRefused` whose message a CSR can read as is and whose
``code`` a program can branch on (the API maps them to 409, or 422 for bad activation data).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.consumers.types import ConsumerStatus, PaymentMode, UtilityType
from domain.request.types import (
    CONTACT_CHANNELS,
    OPEN_STATUSES,
    RESPONSE_CHANNELS,
    Channel,
    ContactOutcome,
    Direction,
    Priority,
    RequestStatus,
    RequestType,
)

__all__ = [
    "Action",
    "FinalReading",
    "MeterChoice",
    "RefusalCode",
    "RefusalReason",
    "TransitionRefused",
    "allowed_actions",
    "check_action",
    "check_activation",
    "check_contact",
    "check_final_readings",
    "check_plan",
    "check_response_channel",
    "contact_meets_response",
    "raise_priority",
    "request_type_for",
]


class Action(StrEnum):
    """Everything a CSR (or an operator's signal) can do to a request."""

    ACKNOWLEDGE = "acknowledge"
    PUT_ON_HOLD = "put_on_hold"
    RESUME = "resume"
    SELECT_PLAN = "select_plan"
    ACTIVATE = "activate"
    RECORD_FINAL_READINGS = "record_final_readings"
    CLOSE = "close"
    ADD_NOTE = "add_note"
    SEND_RESPONSE = "send_response"
    CREATE_SERVICE_ORDER = "create_service_order"
    SET_PRIORITY = "set_priority"
    ASSIGN = "assign"
    WAIVE_FEE = "waive_fee"
    LOG_CONTACT = "log_contact"
    ESCALATE = "escalate"
    FOLLOW_UP = "follow_up"


class RefusalCode(StrEnum):
    """Machine codes carried by :class:`TransitionRefused` (and each :class:`RefusalReason`)."""

    # the action itself
    INVALID_TRANSITION = "invalid_transition"
    INVALID_CHANNEL = "invalid_channel"
    PLAN_REQUIRED = "plan_required"
    WRONG_REQUEST_TYPE = "wrong_request_type"
    REQUEST_CLOSED = "request_closed"
    # the plan
    PLAN_INACTIVE = "plan_inactive"
    PLAN_CATEGORY_MISMATCH = "plan_category_mismatch"
    PLAN_HAS_NO_SERVICES = "plan_has_no_services"
    # meters and readings
    METER_REQUIRED = "meter_required"
    METER_NUMBER_BLANK = "meter_number_blank"
    UTILITY_NOT_IN_PLAN = "utility_not_in_plan"
    SERVICE_UNMETERED = "service_unmetered"
    DUPLICATE_UTILITY = "duplicate_utility"
    DUPLICATE_METER = "duplicate_meter"
    METER_UTILITY_MISMATCH = "meter_utility_mismatch"
    METER_UNAVAILABLE = "meter_unavailable"
    METER_NOT_ASSIGNED = "meter_not_assigned"
    READING_INVALID = "reading_invalid"
    READING_NEGATIVE = "reading_negative"
    READING_BELOW_LAST = "reading_below_last"
    READING_DATE_FUTURE = "reading_date_future"
    READING_DATE_BEFORE_LAST = "reading_date_before_last"
    READINGS_REQUIRED = "readings_required"
    FINAL_READING_MISSING = "final_reading_missing"
    # billing set up at activation
    PAYMENT_REFERENCE_REQUIRED = "payment_reference_required"
    PAYMENT_REFERENCE_INVALID = "payment_reference_invalid"
    # a logged contact
    CONTACT_DIRECTION_INVALID = "contact_direction_invalid"
    OUTCOME_REQUIRED = "outcome_required"
    OUTCOME_NOT_APPLICABLE = "outcome_not_applicable"
    DURATION_NOT_APPLICABLE = "duration_not_applicable"
    CONTACT_NOTES_REQUIRED = "contact_notes_required"
    # a follow-up reminder
    FOLLOW_UP_TIME = "follow_up_time"


@dataclass(frozen=True, slots=True)
class RefusalReason:
    """One reason an action or its data was refused; ``field`` locates bad data (``meters[1].reading``)."""

    code: str
    message: str
    field: str | None = None


class TransitionRefused(Exception):
    """An action or its data was refused.

    ``message`` is for the CSR, ``code`` for programs. Data validators report *every* problem
    they find in ``problems`` (in input order); then ``message`` joins their messages and
    ``code`` is the first problem's code. For a refused action ``problems`` holds that one refusal.
    """

    def __init__(
        self,
        message: str,
        code: str = RefusalCode.INVALID_TRANSITION,
        *,
        problems: Sequence[RefusalReason] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = str(code)
        self.problems: tuple[RefusalReason, ...] = tuple(problems) or (RefusalReason(self.code, message),)

    @classmethod
    def from_problems(cls, problems: Sequence[RefusalReason]) -> TransitionRefused:
        if not problems:
            raise ValueError("TransitionRefused.from_problems needs at least one problem")
        return cls(" ".join(p.message for p in problems), problems[0].code, problems=problems)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep code and problems across pickling (the default would keep only the message).
        return (_rebuild_refusal, (self.message, self.code, self.problems))

    def __repr__(self) -> str:
        return f"TransitionRefused({self.message!r}, code={self.code!r})"


def _rebuild_refusal(message: str, code: str, problems: tuple[RefusalReason, ...]) -> TransitionRefused:
    return TransitionRefused(message, code, problems=problems)


# ---------------------------------------------------------------------------------------------
# Request type


def request_type_for(consumer_status: ConsumerStatus) -> RequestType:
    """Service off (Inactive, Disconnected, Temporarily Disconnected) → Reconnection; service on
    (Active, Collection) → Disconnection; refuses a Pending account (code ``consumer_pending``).

    The rule lives in :mod:`domain.disconnection.rules`; this name stays for existing callers.
    """
    # Imported here: the disconnection rules import TransitionRefused from this module.
    from domain.disconnection.rules import request_type_for_service

    return request_type_for_service(consumer_status)


# ---------------------------------------------------------------------------------------------
# Transitions

_FINISHED: tuple[RequestStatus, ...] = (RequestStatus.COMPLETED, RequestStatus.CLOSED)

# Actions that never change status and are allowed in every open status.
_ANYTIME: frozenset[Action] = frozenset(
    {
        Action.CLOSE,
        Action.ADD_NOTE,
        Action.SEND_RESPONSE,
        Action.CREATE_SERVICE_ORDER,
        Action.SET_PRIORITY,
        Action.ASSIGN,
        Action.WAIVE_FEE,
        Action.LOG_CONTACT,
        Action.ESCALATE,
        Action.FOLLOW_UP,
    }
)

# Which request type an action is restricted to (absent: both types).
_ONLY_FOR: dict[Action, RequestType] = {
    Action.SELECT_PLAN: RequestType.RECONNECTION,
    Action.ACTIVATE: RequestType.RECONNECTION,
    Action.RECORD_FINAL_READINGS: RequestType.DISCONNECTION,
    Action.WAIVE_FEE: RequestType.RECONNECTION,
}

_WRONG_TYPE_MESSAGES: dict[Action, str] = {
    Action.SELECT_PLAN: (
        "Billing plans apply to reconnection requests; this is a Disconnection request — "
        "record final readings instead."
    ),
    Action.ACTIVATE: (
        "Activate applies to reconnection requests; this is a Disconnection request — "
        "record final readings instead."
    ),
    Action.RECORD_FINAL_READINGS: (
        "Final readings apply to disconnection requests; this is a Reconnection request — "
        "select a plan and activate instead."
    ),
    Action.WAIVE_FEE: "Only a reconnection carries a fee; this is a Disconnection request.",
}

# Status-only refusals for open statuses: (status, action) -> message.
_STATUS_REFUSALS: dict[tuple[RequestStatus, Action], str] = {
    (RequestStatus.PENDING, Action.PUT_ON_HOLD): (
        "Cannot put request on hold: it is Pending; acknowledge it first."
    ),
    (RequestStatus.PENDING, Action.RESUME): (
        "Cannot resume request: it is Pending, not On Hold; acknowledge it instead."
    ),
    (RequestStatus.PENDING, Action.SELECT_PLAN): (
        "Cannot select a billing plan: request is Pending; acknowledge it first."
    ),
    (RequestStatus.PENDING, Action.ACTIVATE): "Cannot activate: request is Pending; acknowledge it first.",
    (RequestStatus.PENDING, Action.RECORD_FINAL_READINGS): (
        "Cannot record final readings: request is Pending; acknowledge it first."
    ),
    (RequestStatus.IN_PROGRESS, Action.ACKNOWLEDGE): "Request is already acknowledged: it is In Progress.",
    (RequestStatus.IN_PROGRESS, Action.RESUME): "Cannot resume request: it is In Progress, not On Hold.",
    (RequestStatus.ON_HOLD, Action.ACKNOWLEDGE): (
        "Request is already acknowledged: it is On Hold; resume it instead."
    ),
    (RequestStatus.ON_HOLD, Action.PUT_ON_HOLD): "Request is already On Hold.",
    (RequestStatus.ON_HOLD, Action.SELECT_PLAN): (
        "Cannot select a billing plan: request is On Hold; resume it first."
    ),
    (RequestStatus.ON_HOLD, Action.ACTIVATE): "Cannot activate: request is On Hold; resume it first.",
    (RequestStatus.ON_HOLD, Action.RECORD_FINAL_READINGS): (
        "Cannot record final readings: request is On Hold; resume it first."
    ),
}

_PLAN_REQUIRED_MESSAGE = "Cannot activate: select and save a billing plan first."


def _status_refusal(action: Action, status: RequestStatus) -> TransitionRefused | None:
    """The refusal that ``status`` alone imposes on ``action`` (type and plan aside)."""
    if status in _FINISHED:
        return TransitionRefused(
            f"Request is {status}; no further actions are possible.", RefusalCode.REQUEST_CLOSED
        )
    if status not in OPEN_STATUSES:  # pragma: no cover - RequestStatus has no other members
        raise ValueError(f"unknown request status {status!r}")
    message = _STATUS_REFUSALS.get((status, action))
    if message is not None:
        return TransitionRefused(message, RefusalCode.INVALID_TRANSITION)
    return None


def _refusal(
    action: Action, status: RequestStatus, request_type: RequestType, plan_selected: bool
) -> TransitionRefused | None:
    # Order matters: a finished request first, then an action that never fits this type,
    # then the status, and the plan last.
    action = Action(action)
    status = RequestStatus(status)
    request_type = RequestType(request_type)
    if status in _FINISHED:
        return _status_refusal(action, status)
    only_for = _ONLY_FOR.get(action)
    if only_for is not None and only_for != request_type:
        return TransitionRefused(_WRONG_TYPE_MESSAGES[action], RefusalCode.WRONG_REQUEST_TYPE)
    refused = _status_refusal(action, status)
    if refused is not None:
        return refused
    if action == Action.ACTIVATE and not plan_selected:
        return TransitionRefused(_PLAN_REQUIRED_MESSAGE, RefusalCode.PLAN_REQUIRED)
    return None


def allowed_actions(status: RequestStatus, request_type: RequestType, *, plan_selected: bool) -> list[Action]:
    """The actions that may be done next, in :class:`Action` declaration order."""
    return [a for a in Action if _refusal(a, status, request_type, plan_selected) is None]


def check_action(
    action: Action, status: RequestStatus, request_type: RequestType, *, plan_selected: bool
) -> None:
    """Raise :class:`TransitionRefused` unless ``action`` may be done now.

    Codes: ``request_closed`` (Completed or Closed), ``wrong_request_type`` (e.g. activate on a
    disconnection), ``invalid_transition`` (wrong status), ``plan_required`` (activate with no plan).
    """
    refused = _refusal(action, status, request_type, plan_selected)
    if refused is not None:
        raise refused


_PRIORITY_ORDER: tuple[Priority, ...] = (Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.CRITICAL)


def raise_priority(p: Priority) -> Priority:
    """One step up: Low → Medium → High → Critical; Critical stays Critical."""
    i = _PRIORITY_ORDER.index(Priority(p))
    return _PRIORITY_ORDER[min(i + 1, len(_PRIORITY_ORDER) - 1)]


# ---------------------------------------------------------------------------------------------
# Responses


def check_response_channel(channel: Channel) -> None:
    """A response is delivered to the consumer by e-mail or SMS; a call or a visit is logged as a
    contact, with its outcome (:func:`check_contact`). Refuses every other channel."""
    channel = Channel(channel)
    if channel in (Channel.PHONE, Channel.IN_PERSON):
        message = (
            f"A response is sent by email or SMS. A {'call' if channel is Channel.PHONE else 'visit'} "
            "is logged as a contact, with its outcome: use Log contact."
        )
    elif channel not in RESPONSE_CHANNELS:
        message = f"A response goes by email or SMS, not '{channel.value}'."
    else:
        return
    raise TransitionRefused.from_problems([RefusalReason(RefusalCode.INVALID_CHANNEL, message, "channel")])


# ---------------------------------------------------------------------------------------------
# Logged contacts


def check_contact(
    channel: Channel,
    direction: Direction,
    outcome: ContactOutcome | None,
    duration_seconds: int | None,
    notes: str,
) -> None:
    """Refuse a contact log that does not describe one: a call (either way) or a visit with its
    outcome, or an SMS or e-mail received from the consumer with what it said. Outgoing SMS and
    e-mail are sent as responses, not logged; only calls and visits have an outcome and a duration.
    All problems at once, each with its field."""
    problems: list[RefusalReason] = []
    channel, direction = Channel(channel), Direction(direction)
    if channel not in CONTACT_CHANNELS:
        problems.append(
            RefusalReason(
                RefusalCode.INVALID_CHANNEL,
                f"A contact is a call, an SMS, an e-mail or a visit, not '{channel.value}'.",
                "channel",
            )
        )
    elif direction is Direction.INTERNAL:
        problems.append(
            RefusalReason(
                RefusalCode.CONTACT_DIRECTION_INVALID,
                "A contact is from or to the consumer; an internal remark is a note.",
                "direction",
            )
        )
    written = channel in (Channel.SMS, Channel.EMAIL)
    if written and direction is Direction.TO_CUSTOMER:
        problems.append(
            RefusalReason(
                RefusalCode.CONTACT_DIRECTION_INVALID,
                f"An {channel.value if channel is Channel.SMS else 'e-mail'} to the consumer is sent "
                "with Send response; log only one received.",
                "direction",
            )
        )
    if channel in (Channel.PHONE, Channel.IN_PERSON) and outcome is None:
        what = "call" if channel is Channel.PHONE else "visit"
        problems.append(
            RefusalReason(RefusalCode.OUTCOME_REQUIRED, f"Say how the {what} went (its outcome).", "outcome")
        )
    if written and outcome is not None:
        problems.append(
            RefusalReason(
                RefusalCode.OUTCOME_NOT_APPLICABLE,
                "Only a call or a visit has an outcome; leave it empty for a message received.",
                "outcome",
            )
        )
    if written and duration_seconds is not None:
        problems.append(
            RefusalReason(
                RefusalCode.DURATION_NOT_APPLICABLE,
                "Only a call or a visit has a duration.",
                "duration_minutes",
            )
        )
    if written and not notes.strip():
        problems.append(
            RefusalReason(RefusalCode.CONTACT_NOTES_REQUIRED, "Write down what the message said.", "notes")
        )
    if problems:
        raise TransitionRefused.from_problems(problems)


def contact_meets_response(channel: Channel, outcome: ContactOutcome | None) -> bool:
    """Whether a logged contact meets the response target: a call or a visit that reached the
    consumer. A message received, an unanswered call or an empty doorstep does not; neither does
    a note, consumer-visible or not (only a delivered response or a contact counts)."""
    return Channel(channel) in (Channel.PHONE, Channel.IN_PERSON) and outcome is ContactOutcome.REACHED


# ---------------------------------------------------------------------------------------------
# Plan


def check_plan(
    plan_category: str,
    plan_sub_category: str,
    plan_active: bool,
    consumer_category: str,
    consumer_sub_category: str,
    *,
    plan_name: str | None = None,
) -> None:
    """Refuse an inactive plan, or one made for another category / sub-category.

    Categories are :class:`~domain.consumers.types.Category` values (plain strings work too);
    comparison is exact. Both problems are reported when both apply.
    """
    label = f"Plan {plan_name}" if plan_name else "The selected plan"
    problems: list[RefusalReason] = []
    if not plan_active:
        problems.append(
            RefusalReason(
                RefusalCode.PLAN_INACTIVE,
                f"{label} is inactive; choose an active plan.",
                "plan",
            )
        )
    if plan_category != consumer_category or plan_sub_category != consumer_sub_category:
        problems.append(
            RefusalReason(
                RefusalCode.PLAN_CATEGORY_MISMATCH,
                f"{label} is for {plan_category} / {plan_sub_category} consumers; "
                f"this consumer is {consumer_category} / {consumer_sub_category}.",
                "plan",
            )
        )
    if problems:
        raise TransitionRefused.from_problems(problems)


# ---------------------------------------------------------------------------------------------
# Meters and readings


@dataclass(frozen=True, slots=True)
class MeterChoice:
    """A meter chosen for one utility service of the plan at activation, with its reading.

    The ``meter_*`` facts are optional: an activity fills them from the database (the meter's
    own utility, its last recorded reading and date, whether it is free to assign); when they
    are given they are checked too.
    """

    utility: UtilityType
    meter_number: str
    reading: Decimal
    reading_date: date
    meter_utility: UtilityType | None = None
    meter_last_reading: Decimal | None = None
    meter_available: bool | None = None
    meter_last_reading_date: date | None = None
    # Already assigned to this consumer with service off: re-energised in place, not assigned anew.
    meter_in_place: bool | None = None


@dataclass(frozen=True, slots=True)
class FinalReading:
    """The final reading of one of the consumer's meters, recorded to complete a disconnection.

    ``meter_last_reading`` / ``meter_last_reading_date`` are the meter's last recorded reading,
    looked up by an activity; when given, the final reading may not go below / before them.
    """

    meter_number: str
    reading: Decimal
    reading_date: date
    meter_last_reading: Decimal | None = None
    meter_last_reading_date: date | None = None


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _fmt(value: Decimal) -> str:
    """A reading as a CSR reads it: at least two decimals (``120.00``), more if entered."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return f"{value:.2f}"
    return f"{value:f}"


def _reading_problems(
    field: str,
    meter: str,
    reading: Decimal,
    reading_date: date,
    last_reading: Decimal | None,
    last_reading_date: date | None,
    today: date,
) -> list[RefusalReason]:
    """Problems with one reading: not a number, negative, below the last, future, before the last."""
    problems: list[RefusalReason] = []
    if not isinstance(reading, Decimal) or not reading.is_finite():
        problems.append(
            RefusalReason(
                RefusalCode.READING_INVALID,
                f"Reading {reading} for meter {meter} is not a number.",
                f"{field}.reading",
            )
        )
    elif reading < 0:
        problems.append(
            RefusalReason(
                RefusalCode.READING_NEGATIVE,
                f"Reading {_fmt(reading)} for meter {meter} cannot be negative.",
                f"{field}.reading",
            )
        )
    elif last_reading is not None and reading < last_reading:
        problems.append(
            RefusalReason(
                RefusalCode.READING_BELOW_LAST,
                f"Reading {_fmt(reading)} for meter {meter} is below its last reading {_fmt(last_reading)}.",
                f"{field}.reading",
            )
        )
    if reading_date > today:
        problems.append(
            RefusalReason(
                RefusalCode.READING_DATE_FUTURE,
                f"Reading date {reading_date.isoformat()} for meter {meter} is in the future.",
                f"{field}.reading_date",
            )
        )
    elif last_reading_date is not None and reading_date < last_reading_date:
        problems.append(
            RefusalReason(
                RefusalCode.READING_DATE_BEFORE_LAST,
                f"Reading date {reading_date.isoformat()} for meter {meter} is before its last "
                f"reading date {last_reading_date.isoformat()}.",
                f"{field}.reading_date",
            )
        )
    return problems


def _duplicate_meter_problems(field: str, numbers: Sequence[str]) -> list[RefusalReason]:
    """One problem per meter number entered more than once (reported at its second entry)."""
    problems: list[RefusalReason] = []
    seen: set[str] = set()
    reported: set[str] = set()
    for i, number in enumerate(numbers):
        if not number:
            continue
        if number in seen and number not in reported:
            reported.add(number)
            problems.append(
                RefusalReason(
                    RefusalCode.DUPLICATE_METER,
                    f"Meter {number} was chosen more than once.",
                    f"{field}[{i}].meter_number",
                )
            )
        seen.add(number)
    return problems


def check_activation(
    plan_services: Sequence[tuple[UtilityType, bool]],
    meters: Sequence[MeterChoice],
    *,
    today: date,
    payment_mode: PaymentMode = PaymentMode.MANUAL,
    payment_reference: str | None = None,
) -> None:
    """Refuse activation data that would not reconnect the consumer cleanly.

    ``plan_services`` lists the plan's services as ``(utility, metered)``. Every metered
    service needs exactly one meter; a meter may only be chosen for a metered service of the
    plan, and only once. Each reading must be a non-negative number taken no later than
    ``today``; when the optional ``meter_*`` facts are given the meter must be of the service's
    utility, available (or the consumer's own, in place with service off), and the reading may not
    go below (nor be dated before) its last one.

    Billing: Auto-pay needs a payment method reference (``payment_reference``).

    All problems are reported at once (see :class:`TransitionRefused`), in this order:
    missing meters per service, then each chosen meter in input order, then the billing setup.
    """
    problems: list[RefusalReason] = []
    metered: dict[UtilityType, bool] = {}
    for utility, is_metered in plan_services:
        metered[UtilityType(utility)] = metered.get(UtilityType(utility), False) or is_metered
    if not metered:
        raise TransitionRefused.from_problems(
            [
                RefusalReason(
                    RefusalCode.PLAN_HAS_NO_SERVICES, "The selected plan includes no utility services."
                )
            ]
        )

    numbers = [m.meter_number.strip() for m in meters]
    chosen_per_utility: dict[UtilityType, list[str]] = {}
    for a, number in zip(meters, numbers, strict=True):
        if number:
            chosen_per_utility.setdefault(UtilityType(a.utility), []).append(number)

    for utility, is_metered in metered.items():
        if is_metered and utility not in chosen_per_utility:
            problems.append(
                RefusalReason(
                    RefusalCode.METER_REQUIRED,
                    f"Plan includes metered {utility} service but no meter was chosen for it.",
                    "meters",
                )
            )

    problems.extend(_duplicate_meter_problems("meters", numbers))

    reported_utilities: set[UtilityType] = set()
    for i, (a, number) in enumerate(zip(meters, numbers, strict=True)):
        field = f"meters[{i}]"
        utility = UtilityType(a.utility)
        if not number:
            problems.append(
                RefusalReason(
                    RefusalCode.METER_NUMBER_BLANK,
                    f"No meter number was given for {utility} service.",
                    f"{field}.meter_number",
                )
            )
            continue
        if utility not in metered:
            problems.append(
                RefusalReason(
                    RefusalCode.UTILITY_NOT_IN_PLAN,
                    f"Meter {number} was chosen for {utility} service, which the plan does not include.",
                    f"{field}.utility",
                )
            )
        elif not metered[utility]:
            problems.append(
                RefusalReason(
                    RefusalCode.SERVICE_UNMETERED,
                    f"The plan's {utility} service is unmetered; no meter should be chosen for it "
                    f"(meter {number}).",
                    f"{field}.utility",
                )
            )
        distinct = list(dict.fromkeys(chosen_per_utility.get(utility, [])))
        if len(distinct) > 1 and utility not in reported_utilities:
            reported_utilities.add(utility)
            problems.append(
                RefusalReason(
                    RefusalCode.DUPLICATE_UTILITY,
                    f"{len(distinct)} meters were chosen for {utility} service "
                    f"({', '.join(distinct)}); choose one.",
                    f"{field}.utility",
                )
            )
        if a.meter_utility is not None and a.meter_utility != utility:
            problems.append(
                RefusalReason(
                    RefusalCode.METER_UTILITY_MISMATCH,
                    f"Meter {number} is {_a(a.meter_utility)} {a.meter_utility} meter, but it was "
                    f"chosen for {utility} service.",
                    f"{field}.meter_number",
                )
            )
        if a.meter_available is False and not a.meter_in_place:
            problems.append(
                RefusalReason(
                    RefusalCode.METER_UNAVAILABLE,
                    f"Meter {number} is not available for assignment.",
                    f"{field}.meter_number",
                )
            )
        problems.extend(
            _reading_problems(
                field,
                number,
                a.reading,
                a.reading_date,
                a.meter_last_reading,
                a.meter_last_reading_date,
                today,
            )
        )
    problems.extend(_billing_problems(PaymentMode(payment_mode), payment_reference))

    if problems:
        raise TransitionRefused.from_problems(problems)


def _billing_problems(payment_mode: PaymentMode, reference: str | None) -> list[RefusalReason]:
    """Auto-pay draws on a payment method on file: it needs that method's reference (a mandate or
    token ID from the payment provider), never a bare card number."""
    reference = (reference or "").strip()
    if payment_mode is PaymentMode.AUTO_PAY and not reference:
        return [
            RefusalReason(
                RefusalCode.PAYMENT_REFERENCE_REQUIRED,
                "Auto-pay needs a payment method reference (the mandate or token ID of the card or "
                "bank account on file); enter it or choose Manual.",
                "payment_reference",
            )
        ]
    digits = "".join(c for c in reference if c.isdigit())
    if len(digits) >= 12 and len(digits) >= len(reference.replace(" ", "").replace("-", "")):
        return [
            RefusalReason(
                RefusalCode.PAYMENT_REFERENCE_INVALID,
                "This looks like a card or account number: enter the payment method's reference "
                "(mandate or token ID) instead.",
                "payment_reference",
            )
        ]
    return []


def check_final_readings(
    readings: Sequence[FinalReading],
    *,
    today: date,
    assigned_meters: Collection[str] | None = None,
) -> None:
    """Refuse final readings that cannot complete a disconnection.

    At least one reading; each meter once; each reading a non-negative number, not below the
    meter's last reading, dated no later than ``today`` (and not before the last reading's
    date) when those facts are given. When ``assigned_meters`` (the consumer's meters) is given,
    every one of them needs a final reading and no other meter may have one.
    """
    if not readings:
        raise TransitionRefused.from_problems(
            [
                RefusalReason(
                    RefusalCode.READINGS_REQUIRED,
                    "Record at least one final meter reading to complete the disconnection.",
                    "readings",
                )
            ]
        )
    problems: list[RefusalReason] = []
    numbers = [r.meter_number.strip() for r in readings]
    problems.extend(_duplicate_meter_problems("readings", numbers))
    assigned = None if assigned_meters is None else {m.strip() for m in assigned_meters}
    for i, (r, number) in enumerate(zip(readings, numbers, strict=True)):
        field = f"readings[{i}]"
        if not number:
            problems.append(
                RefusalReason(
                    RefusalCode.METER_NUMBER_BLANK,
                    "No meter number was given for a final reading.",
                    f"{field}.meter_number",
                )
            )
            continue
        if assigned is not None and number not in assigned:
            problems.append(
                RefusalReason(
                    RefusalCode.METER_NOT_ASSIGNED,
                    f"Meter {number} is not assigned to this consumer.",
                    f"{field}.meter_number",
                )
            )
        problems.extend(
            _reading_problems(
                field,
                number,
                r.reading,
                r.reading_date,
                r.meter_last_reading,
                r.meter_last_reading_date,
                today,
            )
        )
    if assigned is not None:
        given = set(numbers)
        for number in sorted(assigned):
            if number not in given:
                problems.append(
                    RefusalReason(
                        RefusalCode.FINAL_READING_MISSING,
                        f"No final reading was recorded for meter {number}.",
                        "readings",
                    )
                )
    if problems:
        raise TransitionRefused.from_problems(problems)
