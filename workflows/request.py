"""The request workflow: one durable execution per reconnection / disconnection request.

It owns the lifecycle (status, SLA clocks, plan, meters). CSR actions arrive as Updates with
validators (refused synchronously, with a CSR-readable reason) or as Signals (a refused signal is
written to the timeline and ignored). Every change is projected to the database by an activity
before the Update returns, so the caller reads what they just did: a local activity (run in this
worker, no round trip through the server) from the ``local-activities`` patch on; e-mails stay
regular activities. Durable timers drive the SLA
warnings and escalations; nothing polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.disconnection import DisconnectionActivities
    from activities.request import RequestActivities
    from domain.business_time import BusinessCalendar
    from domain.consumers.types import PaymentMode
    from domain.disconnection import notices as notice_rules
    from domain.disconnection.lawful import CutBlocked, NoticesSent, check_cut, earliest_lawful_moment
    from domain.disconnection.payments import PaymentEffect, PaymentVerdict, payment_effect
    from domain.disconnection.profile import JurisdictionProfile
    from domain.disconnection.protections import Hold, holds_at
    from domain.disconnection.rules import DisconnectionKind, kind_of_request
    from domain.disconnection.window import at_local
    from domain.request import rules, sla
    from domain.request.due import Pause
    from domain.request.follow_ups import follow_up_due
    from domain.request.rules import Action, TransitionRefused
    from domain.request.types import (
        OPEN_STATUSES,
        RESPONSE_CHANNELS,
        Channel,
        CloseReason,
        Direction,
        Priority,
        RequestStatus,
        RequestType,
        SlaState,
        SlaTarget,
        Visibility,
    )
    from workflows import checks, metrics, policies
    from workflows import search_attributes as sa
    from workflows.actions import (
        ACTIONS,
        Acknowledge,
        ActedBy,
        ActionSpec,
        Activate,
        AddNote,
        Assign,
        Close,
        CreateServiceOrder,
        Escalate,
        FollowUp,
        LogContact,
        PutOnHold,
        RecordFinalReadings,
        Resume,
        SelectPlan,
        SendResponse,
        SetPriority,
        WaiveFee,
    )
    from workflows.schemas import (
        NOTICE_STAGE_LABELS,
        PAYMENT_RECEIVED,
        PROTECTIONS_CHANGED,
        SLA_POLICY_CHANGED,
        WORKFLOW_NAME,
        ActivationCheck,
        AssignedMeter,
        CommunicationRecord,
        Completion,
        Email,
        Escalation,
        FollowUpChange,
        FollowUpView,
        HoldView,
        LawfulFacts,
        LawfulFactsQuery,
        MeterFactsList,
        MeterLookup,
        NoticeStep,
        NoticesView,
        Outcome,
        PaymentFact,
        PaymentReceived,
        PlanCheck,
        PlanSelection,
        PlanView,
        Projection,
        ProtectionsChanged,
        Release,
        RequestState,
        RowChanges,
        ServiceOrderRecord,
        ServiceOrderView,
        SlaClockView,
        SlaPolicyChanged,
        Sms,
        StartRequest,
    )

# Patch: actions wait until ``record_created`` has written the row they project onto. Before it,
# an action delivered in the first workflow task (update-with-start, or a start that wrote no row)
# could project first and break the timeline's foreign key.
ROW_BEFORE_ACTIONS = "row-before-actions"
# Patch: the database activities run as local activities (no activity task round trip through the
# server); runs begun before it replay with the regular activities they recorded.
LOCAL_ACTIVITIES = "local-activities"
# Patch: a disconnection reads the lawful-cut facts at start; one the profile's rules govern
# (non-payment) sends its final notice and contact attempts on durable timers, holds itself while
# a protection or moratorium is in force, and re-checks the law when its final readings arrive.
NOTICES = "disconnection-notices"
# Patch: a disconnection started before kinds existed (no kind in its start) completes with the kind
# its reason now gives (temporary: Temporarily Disconnected, meters kept); replayed, it stays permanent.
SERVICE_OFF = "service-off-kinds"
# Patch: a final notice that expired (the profile's validity) or came before the payment due date
# allowed is replaced by a new one, and the contact attempts start again after it.
NOTICE_RENEWAL = "final-notice-renewal"
# Patch: only a response delivered to the consumer (e-mail, or SMS now sent through the SMS sender)
# or a logged contact that reached them meets the response target; a consumer-visible note no
# longer does. Runs begun before it keep their notes' effect on the clock and send no SMS.
RESPONSE_DELIVERED = "response-delivered"

# Patch: the run loop keeps its SLA / follow-up timer while the moment it waits for is unchanged
# (before it, every change cancelled the timer and started an identical one), and the search
# attributes are upserted only when one of them changed (before it, all six on every change).
# Runs begun before it replay with the timers and upserts they recorded.
KEPT_TIMER = "kept-timer"

# Patch: the search attributes a request started with (the API's create sets all six) count as
# published, so its first publish upserts only those that differ, usually none; before it, the first
# publish upserted all six again, one more event and visibility write at every create.
START_ATTRIBUTES = "start-attributes-published"

# Patch (a release marker): every patch above, in one marker. A run begun on this release or later
# records this marker alone, at its first patch decision, and has all of them; a run begun before it
# answers each patch by its own marker, or by its absence, as it always did (the SDK remembers a
# patch's answer for the rest of the run: an older run answered "no" to this one while its first
# workflow task replayed). Each patch marker also upserts TemporalChangeVersion, a visibility write:
# a create recorded two or three patches, and a request's first action one more.
RELEASE_2026_12 = "release-2026-12"

# Patches: select-plan, and activate, check their rules in the transaction that writes them, one
# local activity each (before: a lookup, then the write, two local activities, with the database
# free to change between the check and the write). Runs begun before replay with the lookups. Two
# patches, as the SDK keeps a patch's answer for the whole run: a run that replays a plan selected
# without the patch still takes it at its activation.
PLAN_CHECKED_WHERE_WRITTEN = "plan-checked-where-written"
ACTIVATION_CHECKED_WHERE_WRITTEN = "activation-checked-where-written"

# Patch (the next release marker): every patch of the releases before, and the two above.
RELEASE_2026_12_B = "release-2026-12-b"

# Each release's marker, newest first, with the patches it brought. A newer marker stands for every
# patch of the older ones too. A run begun on the newest release records its marker alone.
RELEASES: tuple[tuple[str, frozenset[str]], ...] = (
    (RELEASE_2026_12_B, frozenset({PLAN_CHECKED_WHERE_WRITTEN, ACTIVATION_CHECKED_WHERE_WRITTEN})),
    (
        RELEASE_2026_12,
        frozenset(
            {
                ROW_BEFORE_ACTIONS,
                LOCAL_ACTIVITIES,
                NOTICES,
                SERVICE_OFF,
                NOTICE_RENEWAL,
                RESPONSE_DELIVERED,
                KEPT_TIMER,
                START_ATTRIBUTES,
            }
        ),
    ),
)

MANUAL = "manual"  # an escalation a person asked for, not a breach

_In = TypeVar("_In")
_Out = TypeVar("_Out")
_W = TypeVar("_W")

_ROW_STATE = {
    SlaTarget.ACKNOWLEDGEMENT: "ack_state",
    SlaTarget.RESPONSE: "response_state",
    SlaTarget.RESOLUTION: "resolution_state",
}


def _since(patch: str) -> bool:
    """Whether this run has the behaviour ``patch`` brought: the marker of its release or of a later
    one says yes to it (asked newest first, so a new run records the newest alone), else its own."""
    for release, brought in RELEASES:
        if workflow.patched(release):
            return True
        if patch in brought:  # no older release has it
            break
    return workflow.patched(patch)


def _written_channel(facts: LawfulFacts) -> Channel:
    """How a written word reaches the consumer: e-mail, else SMS, else a letter to the address."""
    return Channel.EMAIL if facts.email else Channel.SMS if facts.phone else Channel.LETTER


def _update_for(spec: ActionSpec) -> object:
    """The update that runs ``spec``'s action, named as the action, with its validator."""

    async def update(self: RequestWorkflow, a: ActedBy) -> Outcome:
        return await self._serialised(spec, a)

    def validate(self: RequestWorkflow, a: ActedBy) -> None:
        self._validate(spec, a)

    update.__name__ = spec.name.value
    update.__qualname__ = f"RequestWorkflow.{spec.name.value}"
    # The SDK converts an update's input to its handler's (and validator's) annotated parameter type.
    update.__annotations__ = {"a": spec.message, "return": Outcome}
    validate.__annotations__ = {"a": spec.message, "return": None}
    handler = workflow.update(name=spec.name.value, description=spec.summary)(update)
    handler.validator(validate)
    return handler


def _action_updates(cls: type[_W]) -> type[_W]:
    """Give the workflow one update per action of the registry (``RequestWorkflow.acknowledge`` …);
    their names are the ones running requests have recorded."""
    missing = set(Action) - set(ACTIONS)
    if missing:
        raise TypeError(f"actions without an ActionSpec: {sorted(missing)}")
    for spec in ACTIONS.values():
        for method in (spec.handler, spec.check_data):
            if method is not None and not callable(getattr(cls, method, None)):
                raise TypeError(f"{cls.__name__} has no method {method} for action {spec.name}")
        setattr(cls, spec.name.value, _update_for(spec))
    return cls


@workflow.defn(name=WORKFLOW_NAME)
@_action_updates
class RequestWorkflow:
    @workflow.init
    def __init__(self, start: StartRequest) -> None:
        self.start = start
        self.status = RequestStatus.PENDING
        self.priority = start.priority
        self.assignee: str | None = None
        self.escalation_level = 0
        self.policy = start.sla.policy()
        # Due times are computed from data (creation, targets, calendars, pauses), never shifted.
        self.pauses: list[Pause] = []
        self.clocks = sla.clocks_from_data(start.created_at, self.policy)
        self.held_since: datetime | None = None
        self.plan: PlanView | None = None
        self.meters: list[AssignedMeter] = []
        self.service_orders: list[ServiceOrderView] = []
        self.close_reason: Any = None
        self.re_escalated = False
        self.seq = 0
        self.changed = False
        self.recorded = False  # record_created has written the row
        self.kept_timer = False  # the KEPT_TIMER patch: decided once, when the row is recorded
        self.published: dict[str, object] = {}  # the search attributes as last upserted
        self.emails: list[asyncio.Future[Any]] = []
        self.lock = asyncio.Lock()
        # Lawful disconnection (the NOTICES patch): the facts last read, the steps taken, the
        # hold the system put on (None: not held by the system), and whether to re-read.
        self.governed = False
        self.facts: LawfulFacts | None = None
        self.final_notice: NoticeStep | None = None
        self.contact_attempts: list[NoticeStep] = []
        self.auto_hold: str | None = None
        self.facts_stale = False
        self.notices: NoticesView | None = None
        self.lawful: asyncio.Task[None] | None = None
        self.payments: set[str] = set()  # references of the payments already weighed
        self.notice_due_on: date | None = None  # the day the final notice waits for, once announced
        self.fee_waived: str | None = None  # the reconnection fee waived: by whom and why
        self.follow_ups: list[FollowUpView] = []  # "remind me": pending ones wait on the run loop's timer

    # ---- run: SLA timers until the request is resolved -----------------------------------------

    @workflow.run
    async def run(self, start: StartRequest) -> RequestState:
        await self._activity(RequestActivities.record_created, start)
        self.recorded = True
        self.kept_timer = _since(KEPT_TIMER)
        if self.kept_timer and _since(START_ATTRIBUTES):
            self.published = {pair.key.name: pair.value for pair in workflow.info().typed_search_attributes}
        metrics.count("connectdesk_requests_created_total", request_type=start.request_type.value)
        self._publish()
        if start.request_type is RequestType.DISCONNECTION and _since(NOTICES):
            self.lawful = asyncio.create_task(self._lawful_disconnection())
        if self.kept_timer:
            await self._watch_keeping_the_timer()
        else:
            await self._watch_restarting_the_timer()
        await self._cancel_follow_ups()
        if self.lawful is not None:
            await self.lawful  # it stops once the request is no longer open
        await workflow.wait_condition(workflow.all_handlers_finished)
        # Activities still running when a workflow completes are dropped: see the e-mails out.
        await asyncio.gather(*self.emails, return_exceptions=True)
        return self.state()

    def _next_wake(
        self,
    ) -> tuple[datetime | None, tuple[datetime, SlaTarget, str] | None, FollowUpView | None]:
        """When the run loop wakes next, and for what: an SLA deadline or a follow-up (the earlier)."""
        deadline = self._next_deadline()
        reminder = self._next_follow_up()
        if reminder is not None and (deadline is None or reminder.due_at < deadline[0]):
            return reminder.due_at, None, reminder
        return (None, None, None) if deadline is None else (deadline[0], deadline, None)

    async def _woken(
        self, deadline: tuple[datetime, SlaTarget, str] | None, reminder: FollowUpView | None
    ) -> None:
        if reminder is not None:
            await self._follow_up_due(reminder)
        else:
            assert deadline is not None
            await self._on_deadline(deadline[1], deadline[2])

    async def _watch_restarting_the_timer(self) -> None:
        """Before KEPT_TIMER: every change ends the wait, and with it its timer; a new one starts."""
        while self.status in OPEN_STATUSES:
            wake, deadline, reminder = self._next_wake()
            timeout = None if wake is None else max(wake - workflow.now(), timedelta(0))
            try:
                await workflow.wait_condition(lambda: self.changed, timeout=timeout)
            except TimeoutError:
                await self._woken(deadline, reminder)
            self.changed = False

    async def _watch_keeping_the_timer(self) -> None:
        """Until the request is resolved, wake at the next deadline or follow-up. A change that
        leaves that moment where it was leaves its durable timer running; one that moves it
        cancels the timer and starts another. A timer that fires together with a change is
        weighed on the next turn, against the state after the change."""
        timer: asyncio.Task[None] | None = None
        timer_at: datetime | None = None
        while self.status in OPEN_STATUSES:
            wake, deadline, reminder = self._next_wake()
            if wake != timer_at:
                if timer is not None:
                    timer.cancel()
                timer, timer_at = None, wake
                if wake is not None and wake > workflow.now():
                    timer = asyncio.create_task(workflow.sleep(wake - workflow.now()))
            due = wake is not None and (timer is None or timer.done())
            if not due:
                await workflow.wait_condition(self._changed_or_fired(timer))
                due = not self.changed
            if due:
                timer, timer_at = None, None
                await self._woken(deadline, reminder)
            self.changed = False
        if timer is not None:
            timer.cancel()

    def _changed_or_fired(self, timer: asyncio.Task[None] | None) -> Callable[[], bool]:
        return lambda: self.changed or (timer is not None and timer.done())

    def _next_deadline(self) -> tuple[datetime, SlaTarget, str] | None:
        now = workflow.now()
        clocks = [
            c
            for t, c in self.clocks.items()
            if not (
                t is SlaTarget.RESOLUTION
                and self.held_since is not None
                and self.policy.pause_resolution_on_hold
            )
        ]
        found = sla.next_deadline(clocks, now)
        best = None if found is None else (found.at, found.target, str(found.kind))
        resolution = self.clocks[SlaTarget.RESOLUTION]
        if not self.re_escalated and resolution.met_at is None and any(c is resolution for c in clocks):
            again = sla.re_escalation_at(resolution, self.policy)
            if again > now and (best is None or again < best[0]):
                best = (again, SlaTarget.RESOLUTION, "re_escalate")
            elif again <= now:
                best = (now, SlaTarget.RESOLUTION, "re_escalate")
        return best

    async def _on_deadline(self, target: SlaTarget, kind: str) -> None:
        async with self.lock:
            now = workflow.now()
            clock = self.clocks[target]
            if self.status not in OPEN_STATUSES or clock.is_met(now):
                return
            if kind == "at_risk":
                metrics.count("connectdesk_sla_at_risk_total", target=target.value)
                await self._project(
                    "sla_at_risk",
                    f"{target.value.capitalize()} SLA is at risk: due {clock.due_at:%Y-%m-%d %H:%M} UTC.",
                    "system",
                    RowChanges(),
                )
            else:
                if kind == "re_escalate":
                    self.re_escalated = True
                again = kind == "re_escalate"
                if not again:
                    metrics.count("connectdesk_sla_breaches_total", target=target.value)
                what = (
                    f"still unresolved {self.policy.re_escalate_after} after its resolution SLA breach"
                    if again
                    else f"{target.value} SLA breached (due {self.clocks[target].due_at:%Y-%m-%d %H:%M} UTC)"
                )
                await self._escalate(target.value, what, "system", now)
            self._publish()

    async def _escalate(self, cause: str, what: str, actor: str, now: datetime) -> None:
        """Up one level: the priority raised, the timeline, the chain's in-app notices and e-mail.
        ``cause``: the SLA target breached, or ``manual``."""
        level = self.escalation_level + 1
        metrics.count("connectdesk_escalations_total", target=cause, level=level)
        priority = rules.raise_priority(self.priority)
        detail = f"Escalated to level {level}: {what}. Priority {self.priority.value} → {priority.value}."
        projection = self._projection(
            "escalated",
            detail,
            actor,
            self._refresh_sla(RowChanges(escalation_level=level, priority=priority)),
            now=now,
        )
        notice = CommunicationRecord(
            request_id=self.start.request_id,
            consumer_id=self.start.consumer_id,
            key=f"{projection.event_key}:notice",
            channel=Channel.SYSTEM,
            direction=Direction.INTERNAL,
            visibility=Visibility.INTERNAL,
            subject=f"Escalation level {level}: {self.start.request_id}",
            body=f"{self.start.request_id} ({self.start.request_type.value}, {self.start.account_number}): {detail}",
            author="system",
            occurred_at=now,
        )
        await self._activity(
            RequestActivities.escalate,
            Escalation(
                request_id=self.start.request_id,
                consumer_id=self.start.consumer_id,
                level=level,
                target=None if cause == MANUAL else SlaTarget(cause),
                projection=projection,
                notice=notice,
            ),
        )
        self.escalation_level, self.priority = level, priority
        self._email(
            Email(
                key=notice.key,
                subject=notice.subject or "",
                body=notice.body,
                to_supervisors=True,
                escalation_level=level,
                request_id=self.start.request_id,
            )
        )

    # ---- lawful disconnection: notice steps on durable timers, holds, the check at the cut -------

    @workflow.signal(name=PROTECTIONS_CHANGED)
    def protections_changed(self, change: ProtectionsChanged) -> None:
        """A protection or weather emergency changed (the API signals after its commit): re-read."""
        workflow.logger.info("protections changed: %s (by %s)", change.what, change.by)
        self.facts_stale = True

    @workflow.signal(name=SLA_POLICY_CHANGED)
    async def sla_policy_changed(self, change: SlaPolicyChanged) -> None:
        """An admin applied a new SLA policy: each unmet clock is recomputed from the creation, the new
        targets and calendars and every pause so far (nothing already paused is lost); met clocks stay."""
        await workflow.wait_condition(lambda: self.recorded)
        async with self.lock:
            if self.status not in OPEN_STATUSES:
                return
            policy = change.settings.policy()
            if change.keep_resolution:
                calendars: dict[SlaTarget, BusinessCalendar] = {
                    t: c for t, c in policy.calendars.items() if t is not SlaTarget.RESOLUTION
                }
                if SlaTarget.RESOLUTION in self.policy.calendars:
                    calendars[SlaTarget.RESOLUTION] = self.policy.calendars[SlaTarget.RESOLUTION]
                policy = dataclasses.replace(policy, resolution=self.policy.resolution, calendars=calendars)
            if policy == self.policy:
                return  # told again (a repeated apply): nothing changes, nothing to record
            self.policy = policy
            self.clocks = self._clocks_from_data()
            due = {t: c.due_at for t, c in self.clocks.items()}
            await self._project(
                "sla_policy_changed",
                f"SLA policy changed by {change.by}: due "
                + ", ".join(f"{t.value} {d:%Y-%m-%d %H:%M} UTC" for t, d in due.items())
                + f" ({self._paused_total(workflow.now())} paused so far).",
                "system",
                RowChanges(
                    ack_due_at=due[SlaTarget.ACKNOWLEDGEMENT],
                    response_due_at=due[SlaTarget.RESPONSE],
                    resolution_due_at=due[SlaTarget.RESOLUTION],
                ),
            )
            self._after_change()

    @workflow.signal(name=PAYMENT_RECEIVED)
    async def payment_received(self, payment: PaymentReceived) -> None:
        """A payment for the consumer was recorded (the API signals after its commit; a retried call
        signals again). A non-payment disconnection it leaves too little to cut for closes at once,
        wherever it waits; a partial payment is noted; after the cut nothing changes here."""
        if payment.reference in self.payments or self.start.request_type is not RequestType.DISCONNECTION:
            return
        self.payments.add(payment.reference)
        await workflow.wait_condition(lambda: self.recorded)
        async with self.lock:
            if self.status not in OPEN_STATUSES:
                return
            facts = await self._read_facts()
            balance = payment.balance if facts.balance is None else facts.balance
            verdict = payment_effect(facts.profile, reason=self.start.reason, balance=balance)
            if verdict.effect is PaymentEffect.CANCELS:
                await self._close_paid(payment, verdict, facts)
            elif verdict.effect is PaymentEffect.PARTIAL:
                await self._project(
                    "payment_received",
                    f"{self._payment_words(payment)} {verdict.message}",
                    "system",
                    RowChanges(),
                )
            self._publish()

    async def _cancel_if_paid(self, facts: LawfulFacts) -> bool:
        """The backstop of the signal: facts re-read (at a timer or at the cut) showing a payment
        taken in since the request began that left too little to cut for close it. True if closed."""
        paid = facts.last_payment
        if facts.balance is None or paid is None or paid.received_at < self.start.created_at:
            return False
        verdict = payment_effect(facts.profile, reason=self.start.reason, balance=facts.balance)
        if verdict.effect is not PaymentEffect.CANCELS:
            return False
        self.payments.add(paid.reference)
        await self._close_paid(paid, verdict, facts)
        self._publish()
        return True

    @staticmethod
    def _payment_words(payment: PaymentFact) -> str:
        return (
            f"Payment {payment.reference} of ${payment.amount:,.2f} received "
            f"{payment.received_at:%Y-%m-%d %H:%M} UTC (recorded by {payment.by})."
        )

    async def _close_paid(self, payment: PaymentFact, verdict: PaymentVerdict, facts: LawfulFacts) -> None:
        """Tell the consumer the disconnection is off, then close: Payment received."""
        channel = _written_channel(facts)
        subject = f"Disconnection cancelled — account {self.start.account_number}"
        body = (
            f"Thank you: we received your payment {payment.reference} of ${payment.amount:,.2f}. The "
            f"disconnection of your service for non-payment is cancelled (request {self.start.request_id})."
        )
        await self._communicate(
            "system", channel, Direction.TO_CUSTOMER, Visibility.CONSUMER, subject, body,
            kind="consumer_notified", detail=f"Consumer told by {channel.value} that the disconnection is cancelled.",
            responds=False,
        )  # fmt: skip
        if channel is Channel.EMAIL:
            self._email(
                Email(
                    key=f"{self.start.request_id}:payment:{payment.reference}",
                    subject=subject,
                    body=body,
                    consumer_id=self.start.consumer_id,
                )
            )
        await self._close_as(
            "system", CloseReason.PAYMENT_RECEIVED, verdict.message, f"{self._payment_words(payment)}"
        )

    async def _read_facts(self) -> LawfulFacts:
        self.facts = await workflow.execute_local_activity_method(
            DisconnectionActivities.lawful_facts,
            LawfulFactsQuery(
                consumer_id=self.start.consumer_id, reason=self.start.reason, now=workflow.now()
            ),
            start_to_close_timeout=policies.LOCAL_DB_TIMEOUT,
            retry_policy=policies.DB_LOOKUP,
        )
        return self.facts

    async def _lawful_disconnection(self) -> None:
        """A non-payment disconnection's way to the field: the final notice, the notice period, the
        contact attempts, then ready once the cut is lawful; on hold while a protection holds.
        Wakes on its timers and on ``protections_changed`` or a status change; never polls."""
        facts = await self._read_facts()
        if not facts.governed:
            return
        self.governed = True
        while self.status in OPEN_STATUSES:
            async with self.lock:
                if self.status not in OPEN_STATUSES:
                    break
                wake = await self._lawful_step(facts)
                self._publish()
            status = self.status
            timeout = None if wake is None else max(wake - workflow.now(), timedelta(seconds=1))
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda status=status: self.facts_stale or self.status is not status,  # type: ignore[misc]
                    timeout=timeout,
                )
            self.facts_stale = False
            if self.status in OPEN_STATUSES:
                facts = await self._read_facts()

    def _notices_sent(self, attempts: list[datetime] | None = None) -> NoticesSent:
        return NoticesSent(
            payment_due_on=self.facts.payment_due_on if self.facts else None,
            final_notice_on=self.final_notice.local_day if self.final_notice else None,
            contact_attempts=tuple(
                attempts if attempts is not None else [a.at for a in self.contact_attempts]
            ),
        )

    async def _lawful_step(self, facts: LawfulFacts) -> datetime | None:
        """Take the notice step due now, hold or resume, project what changed; the next wake-up."""
        if await self._cancel_if_paid(facts):
            return None
        now = workflow.now()
        profile = facts.profile
        today = now.astimezone(profile.zone).date()
        holds = holds_at(
            profile, facts.protections, at=now, reason=self.start.reason, service_area=facts.service_address
        )
        renewal = None
        if self.final_notice is not None and not holds:  # a new notice once no protection holds
            renewal = notice_rules.new_notice_needed(
                profile, self.final_notice.local_day, payment_due_on=facts.payment_due_on, today=today
            )
            if renewal is not None and _since(NOTICE_RENEWAL):
                self.final_notice, self.contact_attempts = None, []
        if self.final_notice is None:
            first = notice_rules.first_notice_day(profile, facts.payment_due_on)
            if first is not None and today < first:
                return await self._notice_not_yet(profile, first)
            await self._send_final_notice(facts, now, renewal=renewal)
        assert self.final_notice is not None
        period_ends = notice_rules.notice_period_ends(profile, self.final_notice.local_day, facts.calendar)
        due = None
        if now >= period_ends:
            attempts = [a.at for a in self.contact_attempts]
            due = notice_rules.next_contact_attempt(profile, not_before=now, attempts=attempts)
            if due is not None and due <= now and not holds:  # no reminders while a protection holds
                await self._contact_attempt(facts, now)
                attempts = [a.at for a in self.contact_attempts]
                due = notice_rules.next_contact_attempt(profile, not_before=now, attempts=attempts)
        await self._apply_holds(holds)
        view = self._notices_view(facts, holds, now, period_ends)
        if self.notices is None or view.model_dump(exclude={"checked_at"}) != self.notices.model_dump(
            exclude={"checked_at"}
        ):
            await self._project_notices(view)
        self.notices = view
        valid_until = notice_rules.notice_valid_until(profile, self.final_notice.local_day)
        expires = None if valid_until is None else at_local(profile, valid_until + timedelta(days=1), time())
        later = [period_ends, due, view.earliest_lawful_moment, expires, *(h.until for h in holds)]
        future = [moment for moment in later if moment is not None and moment > now]
        return min(future) if future else None

    async def _notice_not_yet(self, profile: JurisdictionProfile, first: date) -> datetime:
        """Wait for the first day a final notice may be issued (``min_days_after_due``), saying so once."""
        if self.notice_due_on != first:
            self.notice_due_on = first
            await self._project(
                "lawful_check",
                f"Final notice to be sent on {first.isoformat()}: {profile.name} allows it only "
                f"{profile.final_notice.min_days_after_due} days after the payment due date.",
                "system",
                RowChanges(),
            )
        return at_local(profile, first, time())

    async def _send_final_notice(
        self, facts: LawfulFacts, now: datetime, *, renewal: str | None = None
    ) -> None:
        profile = facts.profile
        channel = Channel.LETTER if profile.final_notice.by_letter else _written_channel(facts)
        day = now.astimezone(profile.zone).date()
        first_day = notice_rules.notice_day(profile, day, facts.calendar)
        subject = f"Final notice before disconnection — account {self.start.account_number}"
        body = (
            f"Your account {self.start.account_number} is past due. Unless it is paid or a payment "
            f"arrangement is agreed, your service may be disconnected on or after {first_day:%A %d %B %Y}. "
            "If someone in your home is seriously ill or relies on life-support equipment, or you dispute "
            "the amount, contact us: a medical certificate or a dispute postpones the disconnection. "
            f"Request {self.start.request_id}."
        )
        again = f"New final notice ({renewal})" if renewal else "Final notice"
        sent = f"by {channel.value}"
        if channel is Channel.LETTER:
            sent = f"by letter to {facts.service_address or 'the address on file'} (queued for printing)"
        await self._communicate(
            "system", channel, Direction.TO_CUSTOMER, Visibility.CONSUMER, subject, body,
            kind="final_notice_sent",
            detail=f"{again} sent {sent}: no disconnection before {first_day.isoformat()} "
            f"({profile.name}: {profile.final_notice.days} days' notice).",
            responds=False,
        )  # fmt: skip
        self.final_notice = NoticeStep(kind="final_notice", channel=channel, at=now, local_day=day)
        if channel is Channel.EMAIL:
            self._email(
                Email(
                    key=f"{self.start.request_id}:final-notice" + (f":{day.isoformat()}" if renewal else ""),
                    subject=subject,
                    body=body,
                    consumer_id=self.start.consumer_id,
                )
            )

    async def _contact_attempt(self, facts: LawfulFacts, now: datetime) -> None:
        """An automatic contact attempt (SMS to the phone on file, else e-mail) inside contact hours."""
        rule = facts.profile.contact_attempt
        assert rule is not None
        channel = (
            Channel.SMS if facts.phone else Channel.EMAIL if facts.email else Channel.IN_PERSON
        )  # a visit
        number = len(self.contact_attempts) + 1
        body = (
            f"Contact attempt {number} of {rule.attempts} about account {self.start.account_number}: your "
            "service may be disconnected for non-payment. Call us to pay, to agree a payment arrangement, "
            f"or to tell us about a medical emergency. Request {self.start.request_id}."
        )
        await self._communicate(
            "system", channel, Direction.TO_CUSTOMER, Visibility.CONSUMER,
            f"Disconnection notice: contact attempt {number}", body,
            kind="contact_attempt",
            detail=f"Contact attempt {number} of {rule.attempts} by {channel.value} "
            f"(the cut must follow the last by at least {rule.lead}).",
            responds=False,
        )  # fmt: skip
        day = now.astimezone(facts.profile.zone).date()
        self.contact_attempts.append(
            NoticeStep(kind="contact_attempt", channel=channel, at=now, local_day=day)
        )

    async def _apply_holds(self, holds: tuple[Hold, ...]) -> None:
        """On hold (by the system) while a protection or moratorium holds; resume what the system held."""
        if holds:
            message = " ".join(h.message for h in holds)
            if self.status is RequestStatus.IN_PROGRESS:
                await self._transition(
                    "put_on_hold", f"Put on hold automatically: {message}", "system",
                    RequestStatus.ON_HOLD, self.clocks, RowChanges(),
                )  # fmt: skip
                self._pause_started()
                self.auto_hold = message
            elif self.status is RequestStatus.ON_HOLD and self.auto_hold not in (None, message):
                await self._project("hold_updated", f"Still on hold: {message}", "system", RowChanges())
                self.auto_hold = message
        elif self.auto_hold is not None:
            if self.status is RequestStatus.ON_HOLD:
                await self._resume_as(
                    "system", f"Resumed automatically: the hold lifted. Was: {self.auto_hold}"
                )
            self.auto_hold = None

    def _notices_view(
        self, facts: LawfulFacts, holds: tuple[Hold, ...], now: datetime, period_ends: datetime
    ) -> NoticesView:
        profile = facts.profile
        rule = profile.contact_attempt
        required = rule.attempts if rule else 0
        # The earliest lawful moment if the attempts still to come are made as scheduled.
        planned = [a.at for a in self.contact_attempts]
        while len(planned) < required:
            following = notice_rules.next_contact_attempt(
                profile, not_before=max(period_ends, now), attempts=planned
            )
            assert following is not None
            planned.append(following)
        found = earliest_lawful_moment(
            profile,
            now=now,
            reason=self.start.reason,
            notices=self._notices_sent(planned),
            protections=facts.protections,
            service_area=facts.service_address,
            calendar=facts.calendar,
        )
        earliest = None if isinstance(found, CutBlocked) else found.at
        assert self.final_notice is not None
        return NoticesView(
            profile=profile.name,
            stage=notice_rules.stage_at(
                now,
                period_ends=period_ends,
                attempts_made=len(self.contact_attempts),
                attempts_required=required,
                earliest=earliest,
            ),
            final_notice=self.final_notice,
            notice_period_ends_on=period_ends.date(),
            contact_attempts=list(self.contact_attempts),
            contact_attempts_required=required,
            contact_lead_hours=rule.lead.total_seconds() / 3600 if rule else 0,
            holds=[HoldView(kind=h.kind, label=h.label, until=h.until, message=h.message) for h in holds],
            earliest_lawful_moment=earliest,
            blocked=found.message if isinstance(found, CutBlocked) else None,
            checked_at=now,
        )

    async def _project_notices(self, view: NoticesView) -> None:
        label = NOTICE_STAGE_LABELS[view.stage]
        if view.earliest_lawful_moment is not None:
            when = f"earliest lawful moment {view.earliest_lawful_moment:%A %Y-%m-%d %H:%M %Z}"
        else:
            when = f"no lawful moment yet: {view.blocked}"
        ready = view.stage is notice_rules.Stage.READY_FOR_FIELD_WORK
        await self._project(
            "ready_for_field_work" if ready else "lawful_check",
            f"{label}; {when}.",
            "system",
            RowChanges(disconnection_stage=view.stage, notices=view.model_dump(mode="json")),
        )

    async def _check_lawful_cut(self) -> None:
        """Refuse a cut that is not lawful at this very moment (the world changes while a request
        waits), naming every problem and the earliest lawful moment."""
        if not self.governed:
            return
        facts = await self._read_facts()
        if await self._cancel_if_paid(facts):
            raise TransitionRefused(
                "Not cut: a payment received since the request began leaves too little owed; "
                "the request was closed (Payment received).",
                "payment_received",
            )
        try:
            check_cut(
                facts.profile,
                at=workflow.now(),
                reason=self.start.reason,
                notices=self._notices_sent(),
                protections=facts.protections,
                service_area=facts.service_address,
                calendar=facts.calendar,
            )
        except TransitionRefused:
            # a notice that expired or came too early: the notice steps send a new one now
            today = workflow.now().astimezone(facts.profile.zone).date()
            stale = self.final_notice is not None and notice_rules.new_notice_needed(
                facts.profile, self.final_notice.local_day, payment_due_on=facts.payment_due_on, today=today
            )
            if stale and _since(NOTICE_RENEWAL):
                self.facts_stale = True
            raise

    # ---- query ---------------------------------------------------------------------------------

    @workflow.query
    def state(self) -> RequestState:
        now = workflow.now()
        return RequestState(
            request_id=self.start.request_id,
            request_type=self.start.request_type,
            status=self.status,
            priority=self.priority,
            escalation_level=self.escalation_level,
            sla_status=self._sla_status(now),
            sla=[
                SlaClockView(
                    target=c.target,
                    due_at=c.due_at,
                    at_risk_at=c.at_risk_at,
                    met_at=c.met_at,
                    state=c.state(now),
                    seconds_remaining=int(c.time_remaining(now).total_seconds()),
                )
                for c in self.clocks.values()
            ],
            plan=self.plan,
            meters=self.meters,
            service_orders=self.service_orders,
            assignee=self.assignee,
            allowed_actions=[str(a) for a in self._allowed()],
            close_reason=self.close_reason,
            notices=self.notices,
            fee_waived=self.fee_waived,
            follow_ups=self.follow_ups,
        )

    # ---- updates: one per action of workflows.actions.ACTIONS, added by _action_updates ----------

    def _allowed(self) -> list[Action]:
        return rules.allowed_actions(
            self.status, self.start.request_type, plan_selected=self.plan is not None
        )

    def _check(self, action: Action) -> None:
        rules.check_action(action, self.status, self.start.request_type, plan_selected=self.plan is not None)

    def _validate(self, spec: ActionSpec, a: ActedBy) -> None:
        """Every action's validator: the request's state allows it, then (a 422) its data is sound."""
        try:
            self._check(spec.name)
        except TransitionRefused as exc:
            _count_refusal(spec.name, exc.code)
            raise
        if spec.check_data is not None:
            try:
                getattr(self, spec.check_data)(a)
            except TransitionRefused as exc:
                _count_refusal(spec.name, exc.code)
                raise _data_refused(exc) from None

    # ---- signals: the same actions, for operators in the Temporal UI or CLI -----------------------

    @workflow.signal(dynamic=True)
    async def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        """Accept any action by name; a refused or malformed signal is logged to the timeline, never a failure."""
        actor = "operator (signal)"
        await self._until_recorded()
        try:
            spec = ACTIONS.get(name)
            if spec is None:
                raise TransitionRefused(f"Unknown action '{name}'.", "unknown_action")
            try:
                payload = (
                    workflow.payload_converter().from_payload(args[0].payload, spec.message) if args else None
                )
            except Exception as exc:
                raise TransitionRefused(f"Malformed '{name}' signal: {exc}", "malformed_signal") from None
            if payload is None:
                raise TransitionRefused(f"'{name}' signal carried no input.", "malformed_signal")
            actor = payload.actor
            async with self.lock:
                self._validate(spec, payload)
                await getattr(self, spec.handler)(payload)
                self._after_change()
        except (TransitionRefused, ApplicationError, ActivityError) as exc:
            reason = _reason(exc)
            workflow.logger.info("signal %s refused: %s", name, reason)
            async with self.lock:
                await self._project(
                    "signal_refused", f"Signal '{name}' ignored: {reason}", actor, RowChanges()
                )

    # ---- the actions themselves (called with the lock held, after validation) ---------------------

    async def _until_recorded(self) -> None:
        """Actions write onto the request row: let the first activity claim it before any of them runs."""
        if _since(ROW_BEFORE_ACTIONS):
            await workflow.wait_condition(lambda: self.recorded)

    async def _serialised(self, spec: ActionSpec, a: ActedBy) -> Outcome:
        await self._until_recorded()
        async with self.lock:
            # The state may have moved while this update waited for the lock: check again.
            try:
                self._check(spec.name)
                message = await getattr(self, spec.handler)(a)
            except TransitionRefused as exc:
                _count_refusal(spec.name, exc.code)
                raise ApplicationError(exc.message, type="TransitionRefused", non_retryable=True) from None
            except (ActivityError, ApplicationError) as exc:
                # A local activity's refusal arrives as the ApplicationError itself, a regular one's
                # wrapped in an ActivityError: the CSR gets the same reason and type either way.
                code = _refusal_code(exc)
                if code is not None:
                    _count_refusal(spec.name, code)
                raise ApplicationError(_reason(exc), type=_refusal_type(exc), non_retryable=True) from None
            self._after_change()
            return Outcome(message=message, state=self.state(), digest=a.digest)

    def _after_change(self) -> None:
        self.changed = True
        self._publish()

    async def _acknowledge(self, a: Acknowledge) -> str:
        now = workflow.now()
        clocks = {**self.clocks, SlaTarget.ACKNOWLEDGEMENT: self.clocks[SlaTarget.ACKNOWLEDGEMENT].met(now)}
        await self._transition(
            "acknowledged", "Request acknowledged; status In Progress.", a.actor, RequestStatus.IN_PROGRESS, clocks,
            RowChanges(acknowledged_at=now),
        )  # fmt: skip
        return "Request acknowledged"

    async def _put_on_hold(self, a: PutOnHold) -> str:
        await self._transition(
            "put_on_hold",
            f"Put on hold: {a.reason}",
            a.actor,
            RequestStatus.ON_HOLD,
            self.clocks,
            RowChanges(),
        )
        self._pause_started()
        return "Request put on hold"

    def _pause_started(self) -> None:
        """On Hold from now: a pause interval opens (it stops the clocks the policy pauses)."""
        self.held_since = workflow.now()
        self.pauses.append(Pause(self.held_since))

    async def _resume(self, a: Resume) -> str:
        await self._resume_as(a.actor, "Resumed; status In Progress.")
        return "Request resumed"

    async def _resume_as(self, actor: str, detail: str) -> None:
        now = workflow.now()
        if self.pauses and self.pauses[-1].end is None:
            self.pauses[-1] = Pause(self.pauses[-1].start, now)
        clocks = self._clocks_from_data()
        changes = RowChanges()
        before = self.clocks[SlaTarget.RESOLUTION].due_at
        if self.held_since is not None and clocks[SlaTarget.RESOLUTION].due_at != before:
            changes = RowChanges(resolution_due_at=clocks[SlaTarget.RESOLUTION].due_at)
            detail += (
                f" Resolution due moved by {clocks[SlaTarget.RESOLUTION].due_at - before} held"
                f" ({self._paused_total(now)} paused in all)."
            )
        await self._transition("resumed", detail, actor, RequestStatus.IN_PROGRESS, clocks, changes)
        self.held_since = None

    def _clocks_from_data(self) -> dict[SlaTarget, sla.SlaClock]:
        """Every unmet clock recomputed from the creation, the policy and all the pauses so far."""
        return sla.clocks_from_data(
            self.start.created_at, self.policy, pauses=self.pauses, previous=self.clocks
        )

    def _paused_total(self, now: datetime) -> timedelta:
        return sum(((p.end or now) - p.start for p in self.pauses), timedelta(0))

    async def _select_plan(self, a: SelectPlan) -> str:
        check = PlanCheck(
            plan_id=a.plan_id,
            consumer_category=self.start.consumer_category,
            consumer_sub_category=self.start.consumer_sub_category,
        )
        if _since(PLAN_CHECKED_WHERE_WRITTEN):  # checked and recorded in one transaction, named there
            projection = self._projection_of("plan_selected", "", a.actor, RowChanges(plan_id=a.plan_id))
            plan = await self._activity(
                RequestActivities.select_plan, PlanSelection(check=check, projection=projection)
            )
        else:
            plan = await self._activity(RequestActivities.check_plan, check, lookup=True)
            await self._project(
                "plan_selected", checks.plan_selected(plan), a.actor, RowChanges(plan_id=plan.plan_id)
            )
        self.plan = plan
        return f"Plan {plan.short_name} selected"

    def _check_activation_data(self, a: Activate, facts: MeterFactsList | None = None) -> None:
        assert self.plan is not None  # _check(ACTIVATE) refuses without a plan
        checks.check_activation(
            self.plan.services,
            _assigned(a),
            facts,
            today=workflow.now().date(),
            payment_mode=a.payment_method,
            payment_reference=a.payment_reference,
        )

    async def _activate(self, a: Activate) -> str:
        assert self.plan is not None
        meters = _assigned(a)
        auto_pay = a.payment_method is PaymentMode.AUTO_PAY
        billing = f"{a.billing_cycle.value} billing, {a.payment_method.value}" + (
            f" ({a.payment_reference})" if auto_pay else ""
        )
        check: ActivationCheck | None = None
        if _since(ACTIVATION_CHECKED_WHERE_WRITTEN):
            # the completion reads the meters, checks them and says which it re-energises in place
            check = ActivationCheck(
                services=self.plan.services, plan_short_name=self.plan.short_name, billing=billing
            )
            detail = ""
        else:
            facts = await self._activity(
                RequestActivities.lookup_meters,
                # With the consumer: their own meters, service off, are re-energised in place.
                MeterLookup(
                    meter_numbers=[m.meter_number for m in a.meters], consumer_id=self.start.consumer_id
                ),
                lookup=True,
            )
            self._check_activation_data(a, None if facts.completed_by_this_request else facts)
            in_place = {f.meter_number for f in facts.meters if f.in_place}
            detail = checks.activated(self.plan.short_name, meters, in_place, billing)
        await self._complete(
            a.actor,
            detail,
            "Service restored",
            f"Your {self._utilities(meters)} service has been reconnected on plan {self.plan.name}. "
            f"Billing starts today. Request {self.start.request_id}.",
            meters,
            activation=a,
            check=check,
        )
        return "Reconnected and activated"

    def _check_final_data(self, a: RecordFinalReadings, facts: MeterFactsList | None = None) -> None:
        known = {f.meter_number: f for f in facts.meters} if facts else {}
        rules.check_final_readings(
            [
                rules.FinalReading(
                    meter_number=r.meter_number,
                    reading=r.reading,
                    reading_date=r.reading_date,
                    meter_last_reading=known[r.meter_number].last_reading
                    if r.meter_number in known
                    else None,
                )
                for r in a.readings
            ],
            today=workflow.now().date(),
            assigned_meters=list(known) if facts is not None else None,
        )

    async def _record_final_readings(self, a: RecordFinalReadings) -> str:
        await self._check_lawful_cut()
        facts = await self._activity(RequestActivities.consumer_meters, self.start.consumer_id, lookup=True)
        self._check_final_data(a, None if facts.completed_by_this_request else facts)
        utility = {f.meter_number: f.utility for f in facts.meters}
        meters = [
            AssignedMeter(
                utility=utility[r.meter_number],
                meter_number=r.meter_number,
                reading=r.reading,
                reading_date=r.reading_date,
            )
            for r in a.readings
        ]
        kind = self.start.disconnection_kind
        if kind is None and _since(SERVICE_OFF):
            kind = kind_of_request(self.start.request_type, self.start.reason)
        listing = ", ".join(f"{m.meter_number} final {m.reading} on {m.reading_date}" for m in meters)
        if kind is DisconnectionKind.TEMPORARY:
            await self._complete(
                a.actor,
                f"Temporarily disconnected ({self.start.reason}): service off, meters stay assigned; "
                f"readings: {listing}.",
                "Service temporarily disconnected",
                f"Your {self._utilities(meters)} service has been temporarily disconnected "
                f"(request {self.start.request_id}, {self.start.reason}). Your meters stay in place; "
                f"ask us to reconnect when the reason is resolved. Readings: {listing}.",
                meters,
                kind,
            )
            return "Final readings recorded; temporarily disconnected"
        await self._complete(
            a.actor,
            f"Disconnected; final readings: {listing}.",
            "Service disconnected",
            f"Your {self._utilities(meters)} service has been disconnected as requested "
            f"(request {self.start.request_id}). Final readings: {listing}.",
            meters,
            kind,
        )
        return "Final readings recorded; disconnected"

    async def _complete(
        self,
        actor: str,
        detail: str,
        subject: str,
        body: str,
        meters: list[AssignedMeter],
        kind: DisconnectionKind | None = None,
        *,
        activation: Activate | None = None,
        check: ActivationCheck | None = None,
    ) -> None:
        now = workflow.now()
        clocks = {**self.clocks, SlaTarget.RESOLUTION: self.clocks[SlaTarget.RESOLUTION].met(now)}
        projection = self._projection(
            "completed",
            detail,
            actor,
            self._status_changes(RequestStatus.COMPLETED, clocks, RowChanges(resolved_at=now)),
        )
        notice = CommunicationRecord(
            request_id=self.start.request_id,
            consumer_id=self.start.consumer_id,
            key=f"{projection.event_key}:confirmation",
            channel=Channel.EMAIL,
            direction=Direction.TO_CUSTOMER,
            visibility=Visibility.CONSUMER,
            subject=subject,
            body=body,
            author="system",
            occurred_at=now,
        )
        await self._activity(
            RequestActivities.complete,
            Completion(
                request_id=self.start.request_id,
                consumer_id=self.start.consumer_id,
                request_type=self.start.request_type,
                plan_id=self.plan.plan_id if self.plan else None,
                meters=meters,
                projection=projection,
                notice=notice,
                disconnection_kind=kind,
                activation=check,
                charge_fee=self.start.request_type is RequestType.RECONNECTION and self.fee_waived is None,
                urgent=self.priority is Priority.CRITICAL,
                **(
                    {}
                    if activation is None
                    else {
                        "billing_cycle": activation.billing_cycle,
                        "payment_mode": activation.payment_method,
                        "payment_reference": activation.payment_reference
                        if activation.payment_method is PaymentMode.AUTO_PAY
                        else None,
                    }
                ),
            ),
        )
        self.status, self.clocks, self.meters = RequestStatus.COMPLETED, clocks, meters
        metrics.count("connectdesk_requests_completed_total", request_type=self.start.request_type.value)
        self._email(Email(key=notice.key, subject=subject, body=body, consumer_id=self.start.consumer_id))

    async def _close(self, a: Close) -> str:
        await self._close_as(a.actor, a.reason, a.notes)
        return "Request closed"

    async def _close_as(self, actor: str, reason: CloseReason, notes: str, why: str = "") -> None:
        """Close: the resolution clock met, the profile lock and the slot seat released."""
        now = workflow.now()
        clocks = {**self.clocks, SlaTarget.RESOLUTION: self.clocks[SlaTarget.RESOLUTION].met(now)}
        detail = " ".join(part for part in (f"Closed: {reason.value}.", why, notes) if part)
        changes = RowChanges(resolved_at=now, close_reason=reason, close_notes=notes or None)
        projection = self._projection(
            "closed", detail, actor, self._status_changes(RequestStatus.CLOSED, clocks, changes)
        )
        await self._activity(
            RequestActivities.release, Release(consumer_id=self.start.consumer_id, projection=projection)
        )
        self.status, self.clocks, self.close_reason = RequestStatus.CLOSED, clocks, reason
        self.changed = True
        metrics.count(
            "connectdesk_requests_closed_total",
            request_type=self.start.request_type.value,
            reason=reason.value,
        )

    async def _escalate_by_hand(self, a: Escalate) -> str:
        await self._escalate(MANUAL, f"asked by {a.actor}: {a.reason}", a.actor, workflow.now())
        return f"Escalated to level {self.escalation_level}"

    # ---- follow-ups: "remind me", a durable timer on the run loop --------------------------------

    def _follow_up_at(self, a: FollowUp) -> datetime:
        calendar = self.start.sla.calendar or BusinessCalendar()
        return follow_up_due(
            workflow.now(), at=a.at, in_business_hours=a.in_business_hours, calendar=calendar
        )

    def _check_follow_up_data(self, a: FollowUp) -> None:
        self._follow_up_at(a)

    async def _follow_up(self, a: FollowUp) -> str:
        due = self._follow_up_at(a)
        what = f"Follow-up set for {due:%Y-%m-%d %H:%M} UTC" + (f": {a.note}" if a.note else "")
        projection = self._projection("follow_up_set", what + ".", a.actor, self._refresh_sla(RowChanges()))
        view = FollowUpView(key=projection.event_key, due_at=due, note=a.note, by=a.actor)
        await self._record_follow_up(view, projection)
        self.follow_ups.append(view)
        return what

    def _next_follow_up(self) -> FollowUpView | None:
        pending = [f for f in self.follow_ups if f.state == "pending"]
        return min(pending, key=lambda f: f.due_at) if pending else None

    async def _record_follow_up(self, view: FollowUpView, projection: Projection) -> None:
        await self._activity(
            RequestActivities.record_follow_up,
            FollowUpChange(request_id=self.start.request_id, follow_up=view, projection=projection),
        )

    def _settle_follow_up(self, view: FollowUpView, state: str) -> FollowUpView:
        settled = view.model_copy(update={"state": state})
        self.follow_ups = [settled if f.key == view.key else f for f in self.follow_ups]
        return settled

    async def _follow_up_due(self, view: FollowUpView) -> None:
        """The reminder's moment: the assignee (or whoever set it) is told, the timeline says so."""
        async with self.lock:
            if self.status not in OPEN_STATUSES:
                return
            detail = f"Follow-up due (set by {view.by})" + (f": {view.note}" if view.note else "") + "."
            projection = self._projection("follow_up_due", detail, "system", self._refresh_sla(RowChanges()))
            await self._record_follow_up(view.model_copy(update={"state": "done"}), projection)
            self._settle_follow_up(view, "done")
            self._publish()

    async def _cancel_follow_ups(self) -> None:
        """The request was resolved first: its pending follow-ups will not fire."""
        async with self.lock:
            for view in [f for f in self.follow_ups if f.state == "pending"]:
                detail = f"Follow-up for {view.due_at:%Y-%m-%d %H:%M} UTC cancelled: the request is {self.status.value}."
                projection = self._projection("follow_up_cancelled", detail, "system", RowChanges())
                await self._record_follow_up(view.model_copy(update={"state": "cancelled"}), projection)
                self._settle_follow_up(view, "cancelled")

    async def _waive_fee(self, a: WaiveFee) -> str:
        if self.fee_waived is not None:
            raise TransitionRefused(
                f"The reconnection fee is already waived ({self.fee_waived}).", "fee_waived"
            )
        waived = f"by {a.actor}: {a.reason}"
        await self._project("fee_waived", f"Reconnection fee waived {waived}", a.actor, RowChanges())
        self.fee_waived = waived
        return "Reconnection fee waived"

    async def _add_note(self, a: AddNote) -> str:
        consumer_facing = a.visibility is Visibility.CONSUMER
        # A note is not delivered to anyone: from the patch on it leaves the response clock running.
        responds = consumer_facing and not _since(RESPONSE_DELIVERED)
        await self._communicate(
            a.actor,
            Channel.NOTE,
            Direction.TO_CUSTOMER if consumer_facing else Direction.INTERNAL,
            a.visibility,
            None,
            a.text,
            kind="note_added",
            detail=f"{'Consumer-visible' if consumer_facing else 'Internal'} note: {a.text}",
            responds=responds,
        )
        return "Note added"

    def _check_response_data(self, a: SendResponse) -> None:
        rules.check_response_channel(a.channel)

    async def _send_response(self, a: SendResponse) -> str:
        # Only e-mail and SMS pass the validator now; a call or a visit recorded as a response
        # before the patch met the target then, and does so when replayed.
        delivered = a.channel in RESPONSE_CHANNELS
        await self._communicate(
            a.actor,
            a.channel,
            Direction.TO_CUSTOMER,
            Visibility.CONSUMER,
            a.subject,
            a.message,
            kind="response_sent",
            detail=f"Response sent by {a.channel.value}: {a.message}",
            responds=delivered or not _since(RESPONSE_DELIVERED),
        )
        if a.channel is Channel.SMS and _since(RESPONSE_DELIVERED):
            self._sms(
                Sms(
                    key=f"{self.start.request_id}:{self.seq:04d}:response",
                    body=a.message,
                    consumer_id=self.start.consumer_id,
                )
            )
        if a.channel is Channel.EMAIL:
            self._email(
                Email(
                    key=f"{self.start.request_id}:{self.seq:04d}:response",
                    subject=a.subject or f"About your request {self.start.request_id}",
                    body=a.message,
                    consumer_id=self.start.consumer_id,
                )
            )
        return "Response sent"

    def _check_contact_data(self, a: LogContact) -> None:
        rules.check_contact(a.channel, a.direction, a.outcome, a.duration_seconds, a.notes)

    async def _log_contact(self, a: LogContact) -> str:
        what = {
            Channel.PHONE: "call",
            Channel.SMS: "SMS",
            Channel.EMAIL: "e-mail",
            Channel.IN_PERSON: "visit",
        }[a.channel]
        way = "Inbound" if a.direction is Direction.FROM_CUSTOMER else "Outbound"
        written = a.channel in (Channel.SMS, Channel.EMAIL)
        if written:
            summary = f"{what} received from the consumer"
        else:
            summary = f"{way} {what}"
            if a.duration_minutes is not None:
                summary += f" ({a.duration_minutes} min)"
            summary += f": {a.outcome.value if a.outcome else ''}"
        meets = rules.contact_meets_response(a.channel, a.outcome)
        await self._communicate(
            a.actor, a.channel, a.direction,
            # the consumer's own words are theirs to see; a CSR's notes on a call are the team's
            Visibility.CONSUMER if a.channel in (Channel.SMS, Channel.EMAIL) else Visibility.INTERNAL,
            a.subject, a.notes or summary,
            kind="contact_logged",
            detail=f"{summary[0].upper()}{summary[1:]}" + (f" — {a.notes}" if a.notes else "") + ".",
            responds=meets,
            duration_seconds=a.duration_seconds,
            outcome=a.outcome,
        )  # fmt: skip
        return f"{what[:1].upper() + what[1:] + ' received' if written else f'{way} {what}'} logged"

    async def _communicate(
        self,
        actor: str,
        channel: Channel,
        direction: Direction,
        visibility: Visibility,
        subject: str | None,
        body: str,
        *,
        kind: str,
        detail: str,
        responds: bool,
        duration_seconds: int | None = None,
        outcome: Any = None,
    ) -> None:
        now = workflow.now()
        clocks = dict(self.clocks)
        changes = RowChanges()
        response = clocks[SlaTarget.RESPONSE]
        if responds and response.met_at is None:
            clocks[SlaTarget.RESPONSE] = response.met(now)
            changes = RowChanges(first_response_at=now)
        projection = self._projection(kind, detail, actor, self._status_changes(self.status, clocks, changes))
        await self._activity(
            RequestActivities.communicate,
            CommunicationRecord(
                request_id=self.start.request_id,
                consumer_id=self.start.consumer_id,
                key=f"{projection.event_key}:communication",
                channel=channel,
                direction=direction,
                visibility=visibility,
                subject=subject,
                body=body,
                author=actor,
                occurred_at=now,
                projection=projection,
                duration_seconds=duration_seconds,
                outcome=outcome,
            ),
        )
        self.clocks = clocks

    async def _create_service_order(self, a: CreateServiceOrder) -> str:
        projection = self._projection(
            "service_order_created",
            f"Service order ({a.service_type.value}): {a.description}",
            a.actor,
            RowChanges(),
        )
        order = await self._activity(
            RequestActivities.create_service_order,
            ServiceOrderRecord(
                request_id=self.start.request_id,
                consumer_id=self.start.consumer_id,
                key=f"{projection.event_key}:order",
                service_type=a.service_type,
                description=a.description,
                scheduled_date=a.scheduled_date,
                occurred_at=projection.occurred_at,
                projection=projection,
            ),
        )
        self.service_orders.append(order)
        return f"Service order {order.order_number} created"

    async def _set_priority(self, a: SetPriority) -> str:
        await self._project(
            "priority_changed",
            f"Priority {self.priority.value} → {a.priority.value}.",
            a.actor,
            RowChanges(priority=a.priority),
        )
        self.priority = a.priority
        return f"Priority set to {a.priority.value}"

    async def _assign(self, a: Assign) -> str:
        await self._project(
            "assigned", f"Assigned to {a.user_name}.", a.actor, RowChanges(assigned_to=a.user_id)
        )
        self.assignee = a.user_name
        return f"Assigned to {a.user_name}"

    # ---- projection plumbing -----------------------------------------------------------------

    def _sla_status(self, now: datetime) -> SlaState:
        return sla.overall_state(c.state(now) for c in self.clocks.values())

    def _status_changes(
        self, status: RequestStatus, clocks: dict[SlaTarget, sla.SlaClock], extra: RowChanges
    ) -> RowChanges:
        now = workflow.now()
        states = {_ROW_STATE[t]: c.state(now) for t, c in clocks.items()}
        return extra.model_copy(
            update={"status": status, "sla_status": sla.overall_state(states.values()), **states}
        )

    async def _transition(
        self,
        kind: str,
        detail: str,
        actor: str,
        status: RequestStatus,
        clocks: dict[SlaTarget, sla.SlaClock],
        extra: RowChanges,
    ) -> None:
        await self._project(kind, detail, actor, self._status_changes(status, clocks, extra))
        self.status, self.clocks = status, clocks

    def _projection(
        self, kind: str, detail: str, actor: str, changes: RowChanges, *, now: datetime | None = None
    ) -> Projection:
        self.seq += 1
        return Projection(
            request_id=self.start.request_id,
            event_key=f"{self.start.request_id}:{self.seq:04d}:{kind}",
            occurred_at=now or workflow.now(),
            actor=actor,
            kind=kind,
            detail=detail,
            changes=changes,
        )

    async def _project(self, kind: str, detail: str, actor: str, changes: RowChanges) -> None:
        await self._activity(RequestActivities.project, self._projection_of(kind, detail, actor, changes))

    def _projection_of(self, kind: str, detail: str, actor: str, changes: RowChanges) -> Projection:
        """The next projection; a change that keeps the status carries the SLA states as they are now."""
        if kind in ("sla_at_risk",) or (changes.status is None and kind not in ("signal_refused",)):
            changes = self._refresh_sla(changes)
        return self._projection(kind, detail, actor, changes)

    def _refresh_sla(self, changes: RowChanges) -> RowChanges:
        now = workflow.now()
        states = {_ROW_STATE[t]: c.state(now) for t, c in self.clocks.items()}
        return changes.model_copy(update={"sla_status": sla.overall_state(states.values()), **states})

    async def _activity(
        self,
        method: Callable[[RequestActivities, _In], Awaitable[_Out]],
        arg: _In,
        *,
        lookup: bool = False,
    ) -> _Out:
        """Run a database activity: a local one (in this worker, no server round trip) from the patch on."""
        retry = policies.DB_LOOKUP if lookup else policies.DB_WRITE
        if _since(LOCAL_ACTIVITIES):
            return await workflow.execute_local_activity_method(
                method, arg, start_to_close_timeout=policies.LOCAL_DB_TIMEOUT, retry_policy=retry
            )
        return await workflow.execute_activity_method(
            method, arg, start_to_close_timeout=policies.DB_TIMEOUT, retry_policy=retry
        )

    def _email(self, email: Email) -> None:
        """Send in the background: a slow SMTP relay never holds up an update or the lifecycle."""
        self.emails.append(
            workflow.start_activity_method(
                RequestActivities.send_email,
                email,
                start_to_close_timeout=policies.EMAIL_TIMEOUT,
                retry_policy=policies.EMAIL,
            )
        )

    def _sms(self, sms: Sms) -> None:
        """Send in the background, like an e-mail (the run waits for both before it returns)."""
        self.emails.append(
            workflow.start_activity_method(
                RequestActivities.send_sms,
                sms,
                start_to_close_timeout=policies.SMS_TIMEOUT,
                retry_policy=policies.SMS,
            )
        )

    @staticmethod
    def _utilities(meters: list[AssignedMeter]) -> str:
        return " and ".join(sorted({m.utility.value for m in meters})) or "utility"

    def _publish(self) -> None:
        """Keep the Temporal UI current: search attributes and a human summary."""
        now = workflow.now()
        status = self._sla_status(now)
        values: list[tuple[SearchAttributeKey[Any], Any]] = [
            (sa.REQUEST_TYPE, self.start.request_type.value),
            (sa.REQUEST_STATUS, self.status.value),
            (sa.SLA_STATUS, status.value),
            (sa.PRIORITY, self.priority.value),
            (sa.ESCALATION_LEVEL, self.escalation_level),
            (sa.ACCOUNT_NUMBER, self.start.account_number),
        ]
        if self.kept_timer:  # only what changed, and nothing when nothing did
            values = [(key, value) for key, value in values if self.published.get(key.name) != value]
        if values:
            workflow.upsert_search_attributes([key.value_set(value) for key, value in values])
            self.published.update((key.name, value) for key, value in values)
        lines = [
            f"**{self.start.request_type.value} {self.start.request_id}** — {self.status.value}",
            f"Consumer: {self.start.consumer_name} ({self.start.account_number})",
            f"Priority: {self.priority.value} · escalation level {self.escalation_level} · SLA {status.value}",
            *(
                f"- {c.target.value}: {c.state(now).value}, due {c.due_at:%Y-%m-%d %H:%M} UTC"
                for c in self.clocks.values()
            ),
        ]
        if self.plan:
            lines.append(f"Plan: {self.plan.name} ({self.plan.short_name})")
        if self.assignee:
            lines.append(f"Assignee: {self.assignee}")
        if self.notices is not None:
            lines.append(f"Disconnection: {NOTICE_STAGE_LABELS[self.notices.stage]}")
        workflow.set_current_details("\n".join(lines))


def _assigned(a: Activate) -> list[AssignedMeter]:
    return [
        AssignedMeter(
            utility=m.utility, meter_number=m.meter_number, reading=m.reading, reading_date=m.reading_date
        )
        for m in a.meters
    ]


def _count_refusal(action: str, reason: str) -> None:
    metrics.count("connectdesk_actions_refused_total", action=action, reason=reason)


def _data_refused(exc: TransitionRefused) -> ApplicationError:
    """Refused data, with each problem's field, so the API can answer 422 with field errors.

    Raised from update validators only: a rejected update leaves no trace in the history.
    """
    problems = [{"field": p.field, "message": p.message, "code": p.code} for p in exc.problems]
    return ApplicationError(
        exc.message, {"code": exc.code, "problems": problems}, type="TransitionRefused", non_retryable=True
    )


def _cause(exc: BaseException) -> BaseException:
    """The error inside the SDK's wrappers (a regular activity's is wrapped in an ActivityError)."""
    while isinstance(exc, ActivityError) and exc.cause is not None:
        exc = exc.cause
    return exc


def _reason(exc: BaseException) -> str:
    """The CSR-readable reason inside a refusal, however deeply the SDK wrapped it."""
    if isinstance(exc, TransitionRefused):
        return exc.message
    cause = _cause(exc)
    return cause.message if isinstance(cause, ApplicationError) else str(cause)


def _refusal_type(exc: BaseException) -> str:
    cause = _cause(exc)
    return cause.type or "ActivityFailed" if isinstance(cause, ApplicationError) else "ActivityFailed"


def _refusal_code(exc: BaseException) -> str | None:
    """The rule's code of a refusal an activity checked where it writes (``{"code": …}``), else None."""
    cause = _cause(exc)
    if isinstance(cause, ApplicationError) and cause.type == "TransitionRefused" and cause.details:
        details = cause.details[0]
        return str(details.get("code")) if isinstance(details, dict) else None
    return None
