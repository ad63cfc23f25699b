"""The FastAPI application: JSON API under /api/v1, health probes, and (later) the CSR web UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.admin.router import router as admin_router
from api.auth.router import router as auth_router
from api.consumers.router import router as consumers_router
from api.csrf import CrossSiteWriteGuard
from api.health.router import router as health_router
from api.reference.router import router as reference_router
from api.requests.router import router as requests_router
from api.temporal import TemporalGateway
from api.ui.router import install as install_ui
from db.session import make_engine, make_sessionmaker
from settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.db_url, **settings.db_pool)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.temporal = TemporalGateway(
            settings.temporal_address, settings.temporal_namespace, settings.temporal_rpc_timeout_seconds
        )
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="ConnectDesk",
        summary="Reconnection and disconnection requests for water and electricity consumers",
        version="0.1.0",
        lifespan=lifespan,
    )
    errors.install(app)
    for router in (
        health_router,
        auth_router,
        requests_router,
        consumers_router,
        reference_router,
        admin_router,
    ):
        app.include_router(router)
    install_ui(app)  # the web UI at / and its static files at /static
    app.add_middleware(CrossSiteWriteGuard, public_url=settings.public)
    return app
