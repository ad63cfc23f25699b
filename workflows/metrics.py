"""ConnectDesk's own metrics, counted by the request workflow through the SDK's metric meter.

Replay-safe (the meter records nothing while a worker replays a history), exported with the SDK's
metrics on the worker's Prometheus endpoint (``CONNECTDESK_WORKER_METRICS_ADDRESS``); the meter
adds ``namespace``, ``task_queue`` and ``workflow_type``. Labels are kinds, never IDs or names.

========================================  ===============================  =======================
metric                                    labels                           counted when
========================================  ===============================  =======================
``connectdesk_requests_created_total``    ``request_type``                 a request's workflow starts
``connectdesk_requests_completed_total``  ``request_type``                 a request completes
``connectdesk_requests_closed_total``     ``request_type``, ``reason``     a request is closed
``connectdesk_sla_at_risk_total``         ``target``                       an SLA clock reaches at-risk
``connectdesk_sla_breaches_total``        ``target``                       an SLA clock is breached
``connectdesk_escalations_total``         ``target``, ``level``            a request is escalated
``connectdesk_actions_refused_total``     ``action``, ``reason``           an action is refused
========================================  ===============================  =======================
"""

from __future__ import annotations

from temporalio import workflow

_DESCRIPTIONS = {
    "connectdesk_requests_created_total": "Requests whose workflow started",
    "connectdesk_requests_completed_total": "Requests completed (reconnected or disconnected)",
    "connectdesk_requests_closed_total": "Requests closed without completing",
    "connectdesk_sla_at_risk_total": "SLA clocks that reached their at-risk point",
    "connectdesk_sla_breaches_total": "SLA clocks breached",
    "connectdesk_escalations_total": "Escalations (a breach, or a re-escalation)",
    "connectdesk_actions_refused_total": "Actions refused by the request's rules",
}


def count(name: str, **labels: str | int) -> None:
    """Add one to ``name`` (one of the table above) with ``labels``."""
    counter = workflow.metric_meter().create_counter(name, _DESCRIPTIONS[name])
    counter.add(1, {key: str(value) for key, value in labels.items()})
