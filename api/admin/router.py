"""Admin endpoints: SLA targets, time slots, plans, users."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
