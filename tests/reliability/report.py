"""The figures of one fault scenario, what must hold of them, and the table `make prove` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tests.reliability.audit import DUPLICATE_KINDS, Findings
from tests.reliability.load import Script, Traffic


@dataclass
class Result:
    scenario: str
    database: str
    scripts: list[Script]
    traffic: Traffic
    findings: Findings
    seconds: float
    worker_kills: int = 0
    worker_terms: int = 0
    worker_term_seconds_max: float = 0.0
    worker_unplanned_exits: int = 0
    workflow_task_failures: list[str] = field(default_factory=list)
    dev_server_restarts: int = 0
    database_outages: int = 0
    outage_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str]]:
        ends = Counter(s.end_status.value for s in self.scripts if not s.aborted)
        t, f = self.traffic, self.findings
        by_dependency = ", ".join(f"{d} {n}" for d, n in sorted(t.retried_503.items())) or "0"
        return [
            ("database", self.database),
            ("requests (reconnection / disconnection / hold-close)", self._mix()),
            ("at their end state (Completed / Closed)", f"{ends['Completed']} / {ends['Closed']}"),
            ("actions sent / HTTP attempts", f"{t.actions} / {t.attempts}"),
            ("worker SIGKILLs", str(self.worker_kills)),
            ("worker SIGTERMs (longest exit)", f"{self.worker_terms} ({self.worker_term_seconds_max:.1f} s)"),
            ("worker exits nobody caused", str(self.worker_unplanned_exits)),
            ("workflow task failures (worker log)", str(len(self.workflow_task_failures))),
            ("dev server SIGKILL + restarts", str(self.dev_server_restarts)),
            ("database outages (total s)", f"{self.database_outages} ({self.outage_seconds:.0f} s)"),
            ("503s retried (by dependency)", f"{t.retried} ({by_dependency})"),
            ("transport errors / client timeouts retried", f"{t.transport_errors} / {t.client_timeouts}"),
            ("503s without Retry-After", str(t.no_retry_after)),
            ("retries answered 409 (first outcome lost)", str(len(t.refused_on_retry))),
            ("other errors / gave up", f"{len(t.unexpected)} / {len(t.gave_up)}"),
            *((f"duplicated {kind}", str(f.duplicates[kind])) for kind in DUPLICATE_KINDS),
            ("effects missing", str(len(f.missing))),
            ("requests at a wrong end state", str(len(f.wrong_end_state))),
            ("e-mails received", str(f.emails)),
            ("e-mails re-sent under their own Message-ID (receiver drops)", str(f.emails_resent)),
            ("different e-mails sharing a Message-ID", str(f.shared_message_ids)),
            (
                "workflows completed / failed / running",
                f"{f.workflows['COMPLETED']} / {f.failed} / {f.running}",
            ),
            ("wall time", f"{self.seconds:.0f} s"),
        ]

    def _mix(self) -> str:
        kinds = Counter(s.kind.value for s in self.scripts)
        return f"{len(self.scripts)} ({kinds['reconnection']} / {kinds['disconnection']} / {kinds['hold/resume/close']})"

    def violations(self) -> list[str]:
        """Everything that must be zero, with samples; empty when the scenario passed."""
        t, f = self.traffic, self.findings
        out = [f"duplicated {k}: {n}" for k, n in f.duplicates.items() if n]
        out += f.duplicate_samples[:6]
        checks = {
            "wrong end states": f.wrong_end_state,
            "effects missing": f.missing,
            "retries answered 409": t.refused_on_retry,
            "errors other than 503": t.unexpected,
            "actions given up": t.gave_up,
            "workflows failed or left running": f.failures + ([f"{f.running} running"] if f.running else []),
        }
        for what, items in checks.items():
            if items:
                out.append(f"{what}: {len(items)}, e.g. " + " | ".join(items[:4]))
        if f.shared_message_ids:
            out.append(
                f"different e-mails sharing a Message-ID: {f.shared_message_ids}, e.g. "
                + " | ".join(f.message_id_samples)
            )
        if t.no_retry_after:
            out.append(f"503s without Retry-After or problem+json: {t.no_retry_after}")
        return out


def table(results: list[Result]) -> str:
    """A Markdown table: one column per scenario."""
    if not results:
        return ""
    header = ["figure", *(r.scenario for r in results)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    columns = [dict(r.rows()) for r in results]
    for name, _ in results[0].rows():
        lines.append("| " + " | ".join([name, *(c[name] for c in columns)]) + " |")
    for r in results:  # what the figures alone do not say
        samples = r.workflow_task_failures[:3] + r.findings.duplicate_samples[:3] + r.traffic.unexpected[:3]
        lines += [f"{r.scenario}: {sample}" for sample in samples]
    return "\n".join(lines)
