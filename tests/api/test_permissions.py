"""The permission matrix: every JSON endpoint × anonymous / csr / supervisor / admin.

The policy below is written out by hand; an endpoint added without a decision here fails
`test_every_endpoint_has_a_policy`.
"""

from __future__ import annotations

import re

import pytest

from api.main import create_app
from tests.api.conftest import Stack

PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/session"),
    ("DELETE", "/api/v1/auth/session"),
    # signed with the billing system's shared secret instead of a sign-in (tests/api/test_payments.py)
    ("POST", "/api/v1/webhooks/billing/payments"),
}
SUPERVISOR_ONLY = {
    ("GET", "/api/v1/requests/escalations"),
    ("GET", "/api/v1/audit"),
    ("POST", "/api/v1/notifications/{notification_id}/acknowledge"),
    ("POST", "/api/v1/requests/{request_id}/priority"),
    ("POST", "/api/v1/requests/{request_id}/assign"),
    ("PATCH", "/api/v1/consumers/{id_or_account_number}/documents/{document_id}"),
    (
        "POST",
        "/api/v1/consumers/{id_or_account_number}/meters/{meter_number}/readings/{reading_date}/tampering/clearance",
    ),
    # nightly dunning: supervisors run and pause it too (tests/api/test_dunning.py)
    ("GET", "/api/v1/admin/dunning-runs"),
    ("POST", "/api/v1/admin/dunning-runs"),
    ("GET", "/api/v1/admin/dunning-schedule"),
    ("POST", "/api/v1/admin/dunning-schedule/pause"),
    ("POST", "/api/v1/admin/dunning-schedule/resume"),
}
ROLES = ("csr", "supervisor", "admin")


def policy(method: str, path: str) -> set[str] | None:
    """Who may call it: None for public, else the set of roles."""
    if (method, path) in PUBLIC:
        return None
    if (method, path) in SUPERVISOR_ONLY:
        return {"supervisor", "admin"}
    if path.startswith("/api/v1/admin"):
        return {"admin"}
    return set(ROLES)


def endpoints() -> list[tuple[str, str]]:
    paths = create_app().openapi()["paths"]
    return sorted(
        (method.upper(), path) for path, ops in paths.items() if path.startswith("/api/v1") for method in ops
    )


def test_every_endpoint_has_a_policy() -> None:
    found = endpoints()
    assert len(found) >= 30
    for method, path in found:
        if path.startswith("/api/v1/admin") or (method, path) in PUBLIC | SUPERVISOR_ONLY:
            continue
        # everything else is open to every signed-in role: say so explicitly for the new ones
        assert path.startswith(("/api/v1/requests", "/api/v1/consumers", "/api/v1/auth/me", "/api/v1/reasons",
                                "/api/v1/plans", "/api/v1/meters", "/api/v1/time-slots", "/api/v1/auth/logout",
                                "/api/v1/auth/password", "/api/v1/events", "/api/v1/notifications")), (method, path)  # fmt: skip


# Sign-out ends the caller's tokens: walked last, so the calls after it still carry a live token.
SIGNS_OUT = {("POST", "/api/v1/auth/logout")}
BODIES = {
    "/api/v1/requests/{request_id}/priority": {"priority": "High"},
    "/api/v1/requests/{request_id}/assign": "assign",
}


# Endpoints whose answer is an endless stream (server-sent events).
STREAMS = {"/api/v1/events"}


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
async def test_permission_matrix(stack: Stack, role: str) -> None:
    created = await stack.client.post(
        "/api/v1/requests",
        json={"consumer_id": stack.inactive.id, "reason": "Other"},
        headers=stack.as_("csr"),
    )
    request_id = created.json()["request_id"]
    headers = {} if role == "anonymous" else stack.as_(role)
    wrong: list[str] = []
    for method, path in sorted(endpoints(), key=lambda endpoint: endpoint in SIGNS_OUT):
        if path in STREAMS and role != "anonymous":
            continue  # it never ends: tests/ui/test_live_push.py reads it signed in
        url = re.sub(r"\{request_id\}", request_id, path)
        url = re.sub(r"\{[^}]+\}", "1", url)
        body = BODIES.get(path, {})
        if body == "assign":
            body = {"user_id": stack.staff["csr"].id}
        response = await stack.client.request(method, url, json=body if method in ("POST", "PUT", "PATCH") else None,
                                              headers=headers)  # fmt: skip
        allowed = policy(method, path)
        if allowed is None:
            continue
        code = response.status_code
        if role == "anonymous":
            ok = code == 401 and response.headers["content-type"] == "application/problem+json"
        elif role in allowed:
            ok = code not in (401, 403)
        else:
            ok = code == 403 and response.headers["content-type"] == "application/problem+json"
        if not ok:
            wrong.append(f"{role} {method} {path} → {code} {response.text[:120]}")
    assert wrong == []
