"""Reference data for the request form: reasons, plans, meters, time slots."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth.deps import CsrUser
from api.deps import SessionDep
from api.pagination import Page, PageNumber, PageSize
from api.params import DB_INT_MAX
from api.reference import service
from api.reference.schemas import DayAvailability, MeterRead, PlanSearchResult, ReasonList
from domain.consumers.types import UtilityType
from domain.request.types import RequestType

router = APIRouter(prefix="/api/v1", tags=["reference"])

SIGNED_IN: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (problem+json)"},
    422: {"description": "A query parameter is invalid (problem+json with field errors)"},
}
Search = Annotated[str | None, Query(max_length=120, description="Partial, case-insensitive match")]


@router.get(
    "/reasons",
    summary="Reasons for a reconnection or disconnection request",
    description="The dropdown of reasons on the create-request form, for one request type.",
    responses=SIGNED_IN,
)
async def list_reasons(
    user: CsrUser,
    request_type: Annotated[RequestType, Query(alias="type", description="Reconnection or Disconnection")],
) -> ReasonList:
    return ReasonList(type=request_type, reasons=service.reasons_for(request_type))


@router.get(
    "/plans",
    summary="Search active billing plans",
    description=(
        "Active plans whose name or short name contains `search` (partial, case-insensitive). "
        "With `consumer_id`, only plans for that consumer's category **and** sub-category. "
        "When nothing matches the answer is still 200 with `items: []` and a `message` saying why."
    ),
    responses={**SIGNED_IN, 404: {"description": "Unknown consumer (problem+json)"}},
)
async def search_plans(
    user: CsrUser,
    session: SessionDep,
    search: Search = None,
    consumer_id: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="Filter by this consumer's category")
    ] = None,
) -> PlanSearchResult:
    return await service.search_plans(session=session, search=search, consumer_id=consumer_id)


@router.get(
    "/meters/available",
    summary="Meters free to assign, by utility",
    description=(
        "Meters whose status is `available` for one utility, with their last reading and date; "
        "`search` matches the meter or device number."
    ),
    responses=SIGNED_IN,
)
async def list_available_meters(
    user: CsrUser,
    session: SessionDep,
    utility: Annotated[UtilityType, Query(description="electricity or water")],
    search: Search = None,
    page: PageNumber = 1,
    size: PageSize = 50,
) -> Page[MeterRead]:
    return await service.available_meters(
        session=session, utility=utility, search=search, page=page, size=size
    )


@router.get(
    "/time-slots/availability",
    summary="Seats left in each time slot on a date",
    description=(
        "Every active time slot with its capacity, seats booked and seats remaining on `date`, "
        "earliest first. A date in the past is refused (422)."
    ),
    responses=SIGNED_IN,
)
async def time_slot_availability(
    user: CsrUser,
    session: SessionDep,
    day: Annotated[date, Query(alias="date", description="YYYY-MM-DD, today or later")],
) -> DayAvailability:
    return await service.slot_availability(session=session, day=day)
