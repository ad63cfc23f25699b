"""The FastAPI application: JSON API under /api/v1, health probes, and (later) the CSR web UI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from opentelemetry.sdk.trace import TracerProvider

import logs
import tracing
from api import errors, idempotency, observability, openapi, params
from api.admin.router import router as admin_router
from api.audit.router import router as audit_router
from api.auth import service as auth_service
from api.auth.cookies import SlidingSession
from api.auth.router import router as auth_router
from api.clock import use_time_zone
from api.complaints.router import router as complaints_router
from api.consumers.router import router as consumers_router
from api.csrf import CrossSiteWriteGuard
from api.disconnection import router as disconnection
from api.dunning.router import router as dunning_router
from api.events import EventHub
from api.events import router as events_router
from api.headers import SecurityHeaders
from api.health.router import router as health_router
from api.notifications.router import router as notifications_router
from api.payments import router as payments
from api.reference.router import router as reference_router
from api.requests.router import router as requests_router
from api.temporal import TemporalGateway
from api.ui.router import install as install_ui
from db.session import make_engine, make_sessionmaker
from settings import Settings, server_settings


def create_app(settings: Settings | None = None, *, tracer_provider: TracerProvider | None = None) -> FastAPI:
    """The app. Refuses (``MissingSecret``) settings without a signing key; from the environment
    (``settings`` None, as under ``uvicorn --factory``) a wrong or missing setting exits in one line,
    and the process's logging is set up as the settings say (JSON lines, or text). Traces go to
    ``tracer_provider`` (tests), else to the settings' OTLP endpoint, else nowhere."""
    if settings is None:
        settings = server_settings()
        logs.configure(settings.log_format, settings.log_level)
    settings.jwt_keyring  # noqa: B018 - raises MissingSecret: no app that cannot sign in safely
    tracer_provider = tracer_provider or tracing.provider_for(settings.otlp_endpoint, "connectdesk-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.db_url, **settings.db_pool)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.events = EventHub(settings.db_url, app.state.sessionmaker)
        app.state.temporal = TemporalGateway(
            settings.temporal_address,
            settings.temporal_namespace,
            settings.temporal_rpc_timeout_seconds,
            tracing.interceptors(tracer_provider),
        )
        await asyncio.to_thread(auth_service.dummy_hash)  # the first unknown username is not slower
        try:
            yield
        finally:
            await app.state.events.close()
            await engine.dispose()

    app = FastAPI(
        title="ConnectDesk",
        summary="Reconnection and disconnection requests for water and electricity consumers",
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        dependencies=[Depends(params.refuse_nul_characters)],
    )
    openapi.install(app)
    errors.install(app)
    idempotency.install(app)
    for router in (
        health_router,
        auth_router,
        requests_router,
        consumers_router,
        complaints_router,
        disconnection.consumer_router,
        payments.consumer_router,
        payments.webhook_router,
        reference_router,
        admin_router,
        disconnection.admin_router,
        audit_router,
        dunning_router,
        events_router,
        notifications_router,
    ):
        app.include_router(router)
    install_ui(app)  # the web UI at / and its static files at /static
    use_time_zone(settings.time_zone)
    app.add_middleware(CrossSiteWriteGuard, public_url=settings.public)
    app.add_middleware(SlidingSession, settings=settings)
    app.add_middleware(SecurityHeaders, https=settings.public.startswith("https://"))
    tracing.instrument(app, tracer_provider)
    observability.install(app)  # outermost: the request ID is set before anything else runs
    return app
