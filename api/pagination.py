"""A page of results with its total, shared by every list endpoint."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int


PAGE_MAX = 1_000_000
SIZE_MAX = 200
# PAGE_MAX × SIZE_MAX stays far below 2^31 - 1: no OFFSET can overflow, on any database.
PageNumber = Annotated[int, Query(ge=1, le=PAGE_MAX, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=SIZE_MAX, description="Rows per page")]
