"""The audit log as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor: str = Field(description="Username, 'system', or the operator who sent a signal")
    action: str = Field(description="create, update, delete, or a request action (acknowledged, closed, …)")
    object_type: str = Field(description="consumer, document, meter_reading, plan, request, service_order, …")
    object_id: str
    changes: dict[str, list[Any]] = Field(description="Each changed field: [before, after]; secrets masked")
