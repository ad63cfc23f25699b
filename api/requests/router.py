"""The Requests module's JSON API."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])
