"""The OpenAPI document tells the truth: one Problem schema for every error, readable operation
IDs, bounded integers; and a client generated from it (openapi-python-client) works end to end."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from api.main import create_app
from api.params import DB_INT_MAX
from tests.api.conftest import Stack

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_operation_ids_are_readable_unique_and_stable(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids))
    assert all(name.replace("_", "").isalpha() and name.islower() for name in ids), ids
    assert {
        "requests_create", "requests_list", "requests_detail", "requests_acknowledge", "requests_put_on_hold",
        "requests_resume", "requests_close", "consumers_search", "consumers_get_profile",
        "consumers_get_full_profile", "consumers_update", "consumers_download_document", "reference_search_plans",
        "admin_create_plan", "admin_update_user", "auth_create_token", "health_readyz",
    } <= set(ids)  # fmt: skip


def test_every_error_is_a_documented_problem(spec: dict[str, Any]) -> None:
    text = json.dumps(spec)
    assert "HTTPValidationError" not in text and "#/components/schemas/ValidationError" not in text
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    assert {"instance", "errors", "open_request", "dependency", "reference", "reason", "request_id"} <= set(
        problem["properties"]
    )
    wrong = []
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        codes = {int(code) for code in responses}
        for code, response in responses.items():
            if int(code) >= 400 and response.get("content") != PROBLEM:
                wrong.append(f"{method} {path} {code}: {response.get('content')}")
        if operation.get("security"):
            assert {401, 403} <= codes, (method, path)
        if "{" in path:
            assert 404 in codes, (method, path)
        assert 422 in codes, (method, path)  # invalid input; a NUL character anywhere
        if path != "/healthz" and (method, path) != ("DELETE", "/api/v1/auth/session"):
            assert "Retry-After" in responses["503"]["headers"], (method, path)
        if "204" in responses:
            assert "content" not in responses["204"]
    assert wrong == []


def test_success_content_types_match_what_is_sent(spec: dict[str, Any]) -> None:
    download = spec["paths"]["/api/v1/consumers/{id_or_account_number}/documents/{document_id}/download"]
    assert set(download["get"]["responses"]["200"]["content"]) >= {
        "application/pdf",
        "image/png",
        "text/plain",
    }
    created = spec["paths"]["/api/v1/requests"]["post"]["responses"]
    assert created["200"]["content"] == created["201"]["content"]  # a replay answers the same body
    assert "requests_acknowledge" in created["201"]["links"]
    assert all(path.startswith(("/api/", "/healthz", "/readyz")) for path in spec["paths"])  # no UI pages


def test_every_integer_parameter_is_bounded_for_the_database(spec: dict[str, Any]) -> None:
    unbounded = []
    for method, path, operation in operations(spec):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            for option in schema.get("anyOf", [schema]):
                if option.get("type") == "integer" and not (
                    option.get("minimum", -1) >= 0 and option.get("maximum", DB_INT_MAX + 1) <= DB_INT_MAX
                ):
                    unbounded.append(f"{method} {path} {parameter['name']}")
    assert unbounded == []


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("GET", "/api/v1/consumers/999999999999999999999999999999", None, 404),
        ("GET", "/api/v1/consumers/2147483648/overview", None, 404),
        ("GET", "/api/v1/consumers/%C2%B2", None, 404),  # '²' is a digit to str.isdigit, not to int()
        ("GET", "/api/v1/consumers?page=97885182062444560384", None, 422),
        ("GET", "/api/v1/requests?page=1000001&size=200", None, 422),
        ("GET", "/api/v1/requests?assignee_id=2147483648", None, 422),
        ("GET", "/api/v1/plans?consumer_id=99999999999999999999", None, 422),
        ("PATCH", "/api/v1/admin/plans/2147483648", {"active": False}, 422),
        ("DELETE", "/api/v1/admin/time-slots/999999999999999999999999999999", None, 422),
        ("GET", "/api/v1/consumers/1/documents/2147483648/download", None, 422),
        ("POST", "/api/v1/requests", {"consumer_id": 2**63, "reason": "Other"}, 422),
        (
            "POST",
            "/api/v1/admin/time-slots",
            {"label": "x", "start_time": "08:00+02:00", "end_time": "09:00"},
            422,
        ),
        ("GET", "/api/v1/requests/RC%00", None, 422),  # PostgreSQL text cannot hold NUL
        ("GET", "/api/v1/consumers?q=a%00b", None, 422),
        ("POST", "/api/v1/requests", {"account_number": "WU-1\u0000", "reason": "Other"}, 422),
        ("GET", "/healthz?probe=%00", None, 422),
    ],
)
async def test_out_of_range_input_is_a_problem_never_a_500(
    stack: Stack, method: str, url: str, body: object, status: int
) -> None:
    response = await stack.client.request(method, url, json=body, headers=stack.as_("admin"))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_body_that_is_not_even_utf8_is_a_problem(stack: Stack) -> None:
    response = await stack.client.post(
        "/api/v1/auth/session", content=b"\x92", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_unsupported_method_is_405_with_every_allowed_method(stack: Stack) -> None:
    for method, url, allow in [
        ("PUT", "/api/v1/requests", "GET, POST"),
        ("DELETE", "/api/v1/consumers/1", "GET, PATCH"),
        ("OPTIONS", "/api/v1/consumers/dashboard", "GET"),  # not the PATCH of /consumers/{id}
    ]:
        response = await stack.client.request(method, url, headers=stack.as_("csr"))
        assert response.status_code == 405
        assert response.headers["allow"] == allow
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == f"{method} is not supported on {url}; use {allow}."


# ---- a generated client ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """A client package generated once per session from the app's /openapi.json."""
    root = tmp_path_factory.mktemp("client")
    (root / "openapi.json").write_text(json.dumps(create_app().openapi()))
    (root / "config.yaml").write_text("post_hooks: []\n")  # no formatter run: faster, nothing to install
    subprocess.run(
        [Path(sys.executable).parent / "openapi-python-client", "generate", "--path", "openapi.json",
         "--output-path", "connectdesk_client", "--meta", "none", "--config", "config.yaml"],
        cwd=root, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    sys.path.insert(0, str(root))
    return importlib.import_module("connectdesk_client")


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


async def test_a_generated_client_runs_a_lifecycle_and_parses_problems(
    generated: ModuleType, stack: Stack
) -> None:
    served = (await stack.client.get("/openapi.json")).json()
    assert served == create_app().openapi()  # the client was generated from what the app serves
    api = "api.requests"
    create, detail, acknowledge, hold, resume, close, list_requests = (
        _module(generated, f"{api}.requests_{name}")
        for name in ("create", "detail", "acknowledge", "put_on_hold", "resume", "close", "list")
    )
    models = _module(generated, "models")
    client = generated.AuthenticatedClient(
        base_url="http://testserver",
        token=stack.as_("csr")["Authorization"].removeprefix("Bearer "),
        httpx_args={"transport": stack.client._transport},  # type: ignore[attr-defined]
        raise_on_unexpected_status=True,
    )

    async with client:
        created = await create.asyncio_detailed(
            client=client,
            body=models.RequestCreate(consumer_id=stack.inactive.id, reason="Other"),
            idempotency_key=str(uuid.uuid4()),
        )
        assert created.status_code == 201, created.content
        request_id = created.parsed.request_id
        done = await acknowledge.asyncio(request_id, client=client)
        assert isinstance(done, models.ActionResult) and done.request.status == "In Progress"
        done = await hold.asyncio(
            request_id, client=client, body=models.PutOnHoldBody(reason="Awaiting payment")
        )
        assert done.request.status == "On Hold"
        done = await resume.asyncio(request_id, client=client)
        assert done.request.status == "In Progress"
        done = await close.asyncio(
            request_id,
            client=client,
            body=models.CloseBody(reason=models.CloseReason.ISSUE_RESOLVED, notes=""),
        )
        assert done.request.status == "Closed"

        refused = await acknowledge.asyncio(request_id, client=client)  # 409: closed already
        assert isinstance(refused, models.Problem) and refused.status == 409
        assert refused.type_ == "/problems/action-refused" and refused.detail

        invalid = await list_requests.asyncio(client=client, page=0)  # 422 with field errors
        assert isinstance(invalid, models.Problem) and invalid.status == 422
        assert [error.field for error in invalid.errors] == ["query.page"]

        missing = await detail.asyncio("RC-0000-000000", client=client)  # 404
        assert isinstance(missing, models.Problem) and missing.status == 404
        assert missing.instance == "/api/v1/requests/RC-0000-000000"
