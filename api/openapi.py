"""An OpenAPI document that tells the truth about errors, with readable operation IDs.

Every error the API sends is ``application/problem+json`` (``api.errors``), so every error response
in the document points at one ``Problem`` schema, and FastAPI's default ``HTTPValidationError``
(a ``detail`` list the API never sends) is gone. The statuses every operation shares are added
here from what the route depends on, so a router only declares the ones particular to it:

- 400 for every operation that takes a body (one that cannot be parsed at all);
- 401 and 403 for every operation that needs a signed-in user (403 also covers the cross-site
  write guard);
- 404 for every operation with a path parameter (the object it names may not exist);
- 422 with field ``errors`` for every operation (a NUL character is refused anywhere, even in the
  query of one that takes no input: ``api.params.refuse_nul_characters``);
- 503 with ``Retry-After`` for every operation that reaches the database or Temporal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.utils import generate_unique_id
from pydantic import BaseModel, ConfigDict, Field

from api.deps import get_session, get_sessionmaker, get_temporal
from api.errors import PROBLEM_JSON, RETRY_AFTER_SECONDS

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problem_responses(reasons: dict[int, str], *codes: int) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=``: 401 and each of ``codes`` as problem+json, described by ``reasons``."""
    return {code: {"description": reasons[code], "content": {PROBLEM_JSON: {}}} for code in (401, *codes)}


class FieldError(BaseModel):
    """One invalid input of a 422."""

    field: str = Field(description="Where: the body field's dotted path, or `query.page`, `path.id`, …")
    message: str = Field(description="What is wrong with it")


class ProblemDocument(BaseModel):
    """RFC 9457 problem details: the body of every error this API returns."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="A URI reference naming the kind of problem (`about:blank` when generic)")
    title: str = Field(description="The HTTP status phrase")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong, in words a user can act on")
    instance: str | None = Field(None, description="The path of the request that failed")
    errors: list[FieldError] | None = Field(None, description="422: each invalid input")
    open_request: str | None = Field(None, description="409: the consumer's open request")
    request_id: str | None = Field(None, description="423: the open request locking the profile")
    reason: str | None = Field(None, description="409/422 from a workflow: the kind of refusal")
    dependency: str | None = Field(None, description="503: which dependency is down")
    reference: str | None = Field(None, description="500: quote it to find the error in the log")
    http_request_id: str | None = Field(
        None, description="The HTTP request's ID (also in `X-Request-ID`): quote it to find its log lines"
    )


DESCRIPTIONS = {
    400: "The request could not be read (a malformed body)",
    401: "Not signed in: no token or session cookie, or an invalid, expired or revoked one",
    403: "Signed in, but your role may not do this (or a write with the session cookie came from another site)",
    404: "Nothing with this ID",
    409: "Conflicts with the current state; `detail` says why",
    413: "The body is too large",
    415: "The content type is not accepted",
    422: "Invalid input: `errors` lists each field and what is wrong with it",
    423: "The consumer's profile is locked by an open request",
    503: f"A dependency (`dependency`: database or Temporal) is unavailable and nothing was changed; "
    f"retry after `Retry-After` seconds (usually {RETRY_AFTER_SECONDS})",
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    503: {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}},
}


LINKS: tuple[tuple[str, str, str, str], ...] = (
    # (operation, status, path parameter, JSON pointer to its value in the answer): an answer that
    # names an object links to every operation on it (OpenAPI links: clients and fuzzers follow them)
    ("requests_create", "201", "request_id", "/request_id"),
    ("requests_create", "200", "request_id", "/request_id"),
    ("requests_list", "200", "request_id", "/items/0/request_id"),
    ("consumers_search", "200", "id_or_account_number", "/items/0/id"),
    ("consumers_create_service_order", "201", "order_number", "/order_number"),
    ("consumers_upload_document", "201", "document_id", "/id"),
    ("consumers_get_documents", "200", "document_id", "/0/id"),
    ("admin_create_time_slot", "201", "slot_id", "/id"),
    ("admin_list_time_slots", "200", "slot_id", "/items/0/id"),
    ("admin_create_plan", "201", "plan_id", "/id"),
    ("admin_list_plans", "200", "plan_id", "/items/0/id"),
    ("admin_create_user", "201", "user_id", "/id"),
)


def operation_id(route: APIRoute) -> str:
    """``<tag>_<function name>``, without the words that repeat the tag (``requests_list``, not
    ``requests_list_requests``); a read named after the resource (``consumer_overview``) becomes
    ``get_…`` (``consumers_get_overview``)."""
    if not route.tags:
        return generate_unique_id(route)  # routes outside the schema (the web UI)
    tag = str(route.tags[0])
    noun = tag.removesuffix("s")
    words = route.name.split("_")
    kept = [word for word in words if word not in (tag, noun)]
    if words[0] == noun and route.methods == {"GET"}:
        kept.insert(0, "get")
    return "_".join([tag, *(kept or [route.name])])


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _reaches_a_dependency(route: APIRoute) -> bool:
    return any(call in (get_session, get_sessionmaker, get_temporal) for call in _calls(route.dependant))


def _document(operation: dict[str, Any], route: APIRoute) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = {int(code) for code in responses if code.isdigit()}
    codes.add(422)  # FastAPI's own rule for operations with input; any other: the app-wide NUL guard
    if "requestBody" in operation:
        codes.add(400)
    if operation.get("security"):
        codes |= {401, 403}
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        codes.add(404)
    if _reaches_a_dependency(route):
        codes.add(503)
    success = str(route.status_code or 200)
    for code in sorted(codes):
        response = responses.setdefault(str(code), {})
        if code >= 400:
            response["description"] = (
                response.get("description")
                if response.get("description") not in (None, "Validation Error")
                else DESCRIPTIONS.get(code, "Error")
            )
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
            if code in HEADERS:
                response["headers"] = HEADERS[code]
        elif code == 204:
            response.pop("content", None)
        elif "content" not in response and success in responses:
            # another success (a replay's 200 beside a create's 201) has the same body
            response["content"] = responses[success].get("content", {})
    operation["responses"] = dict(sorted(responses.items()))


def _path_parameters(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}


def _link(spec: dict[str, Any]) -> None:
    operations = {op["operationId"]: op for item in spec["paths"].values() for op in item.values()}
    for source, status, parameter, pointer in LINKS:
        response = operations[source]["responses"][status]
        known = _path_parameters(operations[source])
        for target, operation in operations.items():
            needed = _path_parameters(operation)
            if target == source or parameter not in needed or not needed - {parameter} <= known:
                continue
            values = {name: f"$request.path.{name}" for name in needed - {parameter}}
            values[parameter] = f"$response.body#{pointer}"
            response.setdefault("links", {})[target] = {"operationId": target, "parameters": values}


def _problem_schemas() -> dict[str, Any]:
    schema = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    schema["additionalProperties"] = True  # some problems add their own members (`required_roles`, …)
    return {**definitions, "Problem": schema}


def _api_routes(app: FastAPI) -> Iterator[Any]:
    try:  # FastAPI ≥ 0.16x keeps included routers nested; their routes are reached through contexts
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: app.routes is flat
        yield from (route for route in app.routes if isinstance(route, APIRoute))
        return
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def document(spec: dict[str, Any], app: FastAPI) -> None:
    """Document every error of ``spec`` (FastAPI's document of ``app``) as a Problem, in place;
    refuses repeated operation IDs."""
    routes = {route.unique_id: route for route in _api_routes(app)}
    ids = Counter(operation["operationId"] for item in spec["paths"].values() for operation in item.values())
    if duplicated := sorted(name for name, count in ids.items() if count > 1):
        raise RuntimeError(f"operation IDs must be unique; repeated: {', '.join(duplicated)}")
    for item in spec["paths"].values():
        for operation in item.values():
            _document(operation, routes[operation["operationId"]])
    _link(spec)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas.update(_problem_schemas())
    spec["components"]["schemas"] = dict(sorted(schemas.items()))


def install(app: FastAPI) -> None:
    """Serve FastAPI's document, passed through :func:`document`, at /openapi.json."""
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        spec = FastAPI.openapi(app)  # cached by FastAPI until the routes change
        if not documented or documented[0] is not spec:
            document(spec, app)
            documented[:] = [spec]
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
