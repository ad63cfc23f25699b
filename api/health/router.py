"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import DependencyUnavailable, Problem

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The database and Temporal are reachable",
    responses={503: {"description": "A dependency is down; the body says which"}},
)
async def readyz(session: SessionDep, temporal: TemporalDep, settings: SettingsDep) -> dict[str, object]:
    timeout = settings.temporal_rpc_timeout_seconds
    failures: dict[str, str] = {}
    try:
        await asyncio.wait_for(session.execute(text("SELECT 1")), timeout)
    except Exception as exc:  # any failure to answer means not ready
        failures["database"] = f"{exc.__class__.__name__}: {exc}".strip()[:300]
    try:
        await temporal.check()
    except Problem as exc:
        failures["temporal"] = exc.detail
    if failures:
        problem = DependencyUnavailable(
            ",".join(failures), "Not ready: " + "; ".join(f"{k} — {v}" for k, v in failures.items())
        )
        problem.extra["checks"] = {k: failures.get(k, "ok") for k in ("database", "temporal")}
        raise problem
    return {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}
