"""A consumer's complaint: what is opened, changed and answered."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.consumers.types import ComplaintCategory, ComplaintStatus


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: ComplaintCategory
    description: str = Field(min_length=1, max_length=2000)
    request_id: str | None = Field(
        default=None, min_length=1, max_length=32, description="A request of this consumer it concerns"
    )


class ComplaintUpdate(BaseModel):
    """Send only what changes. Resolving needs resolution notes (here or already recorded); a
    resolved complaint may be reopened (status Open or In progress), which clears its resolution."""

    model_config = ConfigDict(extra="forbid")

    category: ComplaintCategory | None = None
    description: str | None = Field(default=None, min_length=1, max_length=2000)
    status: ComplaintStatus | None = None
    resolution_notes: str | None = Field(default=None, min_length=1, max_length=2000)


class ComplaintRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    consumer_id: int
    category: ComplaintCategory
    description: str
    request_id: str | None
    status: ComplaintStatus
    resolution_notes: str | None
    opened_at: datetime
    opened_by: str
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
