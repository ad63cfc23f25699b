"""The Consumers module's JSON API."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/consumers", tags=["consumers"])
