"""Every dependency of every route is ``async def``: FastAPI runs a plain ``def`` dependency, or a
class used as one, in its thread pool — a thread hop on every request that does no blocking work.
Only FastAPI's own sign-in form class and the metrics exporter's endpoint are left as they come."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant

from api.main import create_app

LEFT_AS_THEY_COME = {"OAuth2PasswordRequestForm", "PrometheusFastApiInstrumentator.expose.<locals>.metrics"}


def _runs_on_the_loop(call: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    if inspect.isfunction(call) or inspect.ismethod(call) or inspect.isclass(call):
        return False
    return inspect.iscoroutinefunction(type(call).__call__)  # an instance: its __call__


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "original_router"):  # an included router
            yield from _routes(route.original_router.routes)
        elif getattr(route, "dependant", None) is not None:
            yield route


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def test_no_route_sends_a_dependency_or_itself_to_the_thread_pool() -> None:
    routes = list(_routes(create_app().routes))
    in_pool = {
        f"{getattr(call, '__qualname__', repr(call))} ({route.path})"
        for route in routes
        for call in (route.endpoint, *_calls(route.dependant))
        if not _runs_on_the_loop(call) and getattr(call, "__qualname__", "") not in LEFT_AS_THEY_COME
    }

    assert len(routes) > 100  # every API and page route was walked
    assert in_pool == set()
