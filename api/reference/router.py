"""Reference data for the request form: reasons, plans, meters, time slots."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["reference"])
