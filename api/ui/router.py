"""The web UI's routes and static files, installed on the app by :func:`install`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from api.ui import (
    admin_pages,
    audit_pages,
    auth_pages,
    consumer_pages,
    dunning_pages,
    inbox_pages,
    request_pages,
)
from api.ui.common import HERE

router = APIRouter(include_in_schema=False)
for pages in (
    auth_pages,
    request_pages,
    consumer_pages,
    admin_pages,
    audit_pages,
    dunning_pages,
    inbox_pages,
):
    router.include_router(pages.router)


def install(app: FastAPI) -> None:
    """Serve the UI at / and its vendored assets (htmx, CSS, the SLA countdown) at /static."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
