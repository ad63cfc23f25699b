"""The reads of requests: the list (search, filters, sort and its page planner), the escalation
queue, the dashboard's counters, one request's detail, and the consumer lookup for a new request."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, Subquery, and_, bindparam, func, literal_column, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from api.csv_export import EXPORT_BATCH
from api.errors import Problem
from api.pagination import Page, offset, window_total
from api.requests import schemas
from api.requests.actions import may
from api.requests.create import eligibility
from db import follow_ups, search
from db.disconnection import load_profile
from db.models import (
    Communication,
    Consumer,
    Meter,
    MeterAssignment,
    Plan,
    RequestCount,
    RequestEvent,
    ServiceRequest,
    SlotBooking,
    TimeSlot,
    User,
)
from db.models.request import PRIORITY_RANK, open_condition
from domain.consumers.types import UtilityType
from domain.disconnection.fees import reconnection_fee
from domain.request import rules
from domain.request.sla import live_state, recorded_clocks
from domain.request.types import OPEN_STATUSES, Priority, RequestStatus, RequestType, SlaState
from settings import Settings
from workflows.schemas import NoticesView

Assignee = aliased(User)
SORTS: dict[str, Any] = {
    "created_at": ServiceRequest.created_at,
    "priority": literal_column(f"({PRIORITY_RANK})"),  # the text of the expression index
    "resolution_due_at": ServiceRequest.resolution_due_at,
    "status": ServiceRequest.status,
    "request_id": ServiceRequest.request_id,
}


def _rows_query() -> Select[Any]:
    return (
        select(
            ServiceRequest,
            Consumer.account_number,
            Consumer.first_name,
            Consumer.last_name,
            Assignee.username,
        )
        .join(Consumer, Consumer.id == ServiceRequest.consumer_id)
        .outerjoin(Assignee, Assignee.id == ServiceRequest.assigned_to)
    )


def _row(
    req: ServiceRequest, account: str, first: str, last: str, assignee: str | None
) -> schemas.RequestRow:
    return schemas.RequestRow(
        request_id=req.request_id,
        request_type=req.request_type,
        status=req.status,
        priority=req.priority,
        reason=req.reason,
        consumer_id=req.consumer_id,
        account_number=account,
        consumer_name=f"{first} {last}",
        created_at=req.created_at,
        sla_status=req.sla_status,
        resolution_due_at=req.resolution_due_at,
        escalation_level=req.escalation_level,
        assignee=assignee,
        preferred_date=req.preferred_date,
    )


async def list_requests(
    *,
    session: AsyncSession,
    q: str | None = None,
    status: list[RequestStatus] | None = None,
    request_type: RequestType | None = None,
    priority: list[Priority] | None = None,
    sla_status: list[SlaState] | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    assignee_id: int | None = None,
    history: bool = False,
    sort: str = "-created_at",
    page: int = 1,
    size: int = 25,
) -> Page[schemas.RequestRow]:
    """Search (request ID, or the consumer's name, account number, phone in any formatting,
    service address or meter or device number; partial, case-insensitive: db/search.py), filter,
    sort and paginate; ``history`` keeps Completed and Closed requests only."""
    totals_columns = _totals_filters(ServiceRequest, request_type, status, priority, sla_status, history)
    others = _other_filters(created_from, created_to, assignee_id)  # the running totals cannot answer
    filters = [*totals_columns, *others]
    found = search.request_condition(q, session.get_bind().dialect.name)
    conditions = [found, *filters] if found is not None else filters
    where = and_(*conditions) if conditions else None

    key, descending = sort_order(sort)
    order = _ordering(SORTS[key], ServiceRequest.id, key, descending)

    # The page's ids first, sorted and cut on the requests table alone; then its rows with their
    # consumer and assignee (joining first would join every match before the sort). The total:
    # - filters on the running totals' columns only: from the totals, and the page walks its sort
    #   index (for open requests by creation date, the open-requests index, already in order);
    # - few matches (a search, open requests in another order or with more filters): read them
    #   all, then sort and count that one set (a window). Materialised, so that no planner walks
    #   a sort index through 90,000 closed requests hoping to meet the rare, bunched open ones;
    # - a search alone: ``search.find_page``, where a broad one's page is a short walk down the
    #   sort index;
    # - anything else (a date range, an assignee, an ID prefix): counted apart.
    only_totals = not others and not q
    open_only = bool(status and set(status) <= set(OPEN_STATUSES))
    walks_open_index = open_only and only_totals and key == "created_at"
    windowed = bool(q and search.id_prefix(q) is None) or (open_only and not walks_open_index)
    counted = not windowed and only_totals
    skip = offset(page, size)
    total = None if windowed or counted else await _count(session, where)
    exact = True
    page_ids: Select[Any] | None = None
    if total is not None and total > BROAD and (prefix := search.id_prefix(q)) is not None:
        # Thousands share this ID prefix. Where they are dense early in the sort order (recent
        # IDs, newest first), a short walk of the sort index fills the page; where not (last
        # year's IDs, newest first), gather them through the ID index and sort them instead.
        walked = await _walked(
            session, filters, lambda head: func.substr(head.c.request_id, 1, len(prefix)) == prefix,
            key, descending, skip, size, min(size, total - skip), WALK * (skip + size),
        )  # fmt: skip
        page_ids = None if walked is None else select(ServiceRequest.id).where(ServiceRequest.id.in_(walked))
        windowed = page_ids is None
    elif windowed and q and not filters:
        # A search alone: a broad one finds its page down the sort index (search.find_page).
        total, exact, page_ids = await _searched(session, q, where, key, descending, skip, size)
        windowed = False
    if windowed:
        matched = select(ServiceRequest.id, SORTS[key].label("sort_key")).where(where).cte("matches")
        matched = matched.prefix_with("MATERIALIZED")
        page_ids = (
            select(matched.c.id, func.count().over().label("total"))
            .order_by(*_ordering(matched.c.sort_key, matched.c.id, key, descending))
            .limit(size)
            .offset(skip)
        )
    elif page_ids is None:
        page_ids = select(ServiceRequest.id).order_by(*order).limit(size).offset(skip)
        if where is not None:
            page_ids = page_ids.where(where)
    ids = page_ids.subquery()
    counts = windowed and total is None
    rows = (
        await session.execute(
            _rows_query()
            .add_columns(*([ids.c.total] if counts else []))
            .join(ids, ids.c.id == ServiceRequest.id)
            .order_by(*order)
        )
    ).all()

    if counted:
        total = await _counted(session, request_type, status, priority, sla_status, history)
    elif counts:
        total = await window_total(rows, page, lambda: _count(session, where))
    assert total is not None
    return Page(items=[_row(*r[:5]) for r in rows], total=total, total_exact=exact, page=page, size=size)


def _other_filters(created_from: date | None, created_to: date | None, assignee_id: int | None) -> list[Any]:
    """The filters on columns the running totals do not have: the creation dates, the assignee."""
    others: list[Any] = []
    if created_from:
        others.append(ServiceRequest.created_at >= datetime.combine(created_from, datetime.min.time(), UTC))
    if created_to:
        others.append(
            ServiceRequest.created_at
            < datetime.combine(created_to + timedelta(days=1), datetime.min.time(), UTC)
        )
    if assignee_id is not None:
        others.append(ServiceRequest.assigned_to == assignee_id)
    return others


def sort_order(sort: str) -> tuple[str, bool]:
    """``sort`` ("-created_at") as its key and whether descending; 422 for an unknown key."""
    key = sort.lstrip("-")
    if key not in SORTS:
        raise Problem(
            422, f"Cannot sort by '{key}'; use one of {', '.join(SORTS)}.", type_="/problems/validation",
            errors=[{"field": "sort", "message": "unknown sort key"}],
        )  # fmt: skip
    return key, sort.startswith("-")


EXPORT_COLUMNS = (*schemas.RequestRow.model_fields, *schemas.RequestRow.model_computed_fields)
"""The columns of a request list's CSV export: the fields of a list row."""


def _cells(row: schemas.RequestRow) -> list[Any]:
    return [getattr(row, column) for column in EXPORT_COLUMNS]


async def export_requests(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    q: str | None = None,
    status: list[RequestStatus] | None = None,
    request_type: RequestType | None = None,
    priority: list[Priority] | None = None,
    sla_status: list[SlaState] | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    assignee_id: int | None = None,
    history: bool = False,
    sort: str = "-created_at",
    batch: int = EXPORT_BATCH,
) -> AsyncIterator[list[list[Any]]]:
    """Every request the list with these filters holds, in its order, as rows of
    ``EXPORT_COLUMNS``: ``batch`` at a time, each batch one keyset query (after the last sort key
    and id) in a session of its own, so memory stays constant however many match.

    Refuses an unknown sort key (422) at once, before anything is read."""
    key, descending = sort_order(sort)
    sort_key = SORTS[key]
    filters = [
        *_totals_filters(ServiceRequest, request_type, status, priority, sla_status, history),
        *_other_filters(created_from, created_to, assignee_id),
    ]
    after = (lambda column, value: column < value) if descending else (lambda column, value: column > value)

    async def batches() -> AsyncIterator[list[list[Any]]]:
        last: tuple[Any, int] | None = None
        while True:
            async with sessionmaker() as session:
                found = search.request_condition(q, session.get_bind().dialect.name)
                conditions = [*filters, *([found] if found is not None else [])]
                if last is not None:  # keyset: after the last row of the previous batch
                    if key == "request_id":  # unique: the key alone orders
                        conditions.append(after(sort_key, last[0]))
                    else:
                        conditions.append(
                            or_(
                                after(sort_key, last[0]),
                                and_(sort_key == last[0], after(ServiceRequest.id, last[1])),
                            )
                        )
                keys = (
                    await session.execute(
                        select(ServiceRequest.id, sort_key.label("sort_key"))
                        .where(*conditions)
                        .order_by(*_ordering(sort_key, ServiceRequest.id, key, descending))
                        .limit(batch)
                    )
                ).all()
                if not keys:
                    return
                rows = {
                    row[0].id: row
                    for row in await session.execute(
                        _rows_query().where(ServiceRequest.id.in_([row_id for row_id, _ in keys]))
                    )
                }
            yield [_cells(_row(*rows[row_id])) for row_id, _ in keys]
            if len(keys) < batch:
                return
            last = (keys[-1][1], keys[-1][0])

    return batches()


async def matching_ids(
    *,
    session: AsyncSession,
    limit: int,
    q: str | None = None,
    status: list[RequestStatus] | None = None,
    request_type: RequestType | None = None,
    priority: list[Priority] | None = None,
    sla_status: list[SlaState] | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    assignee_id: int | None = None,
    history: bool = False,
) -> tuple[list[str], int]:
    """The IDs of the requests the list with these filters holds, newest first, at most ``limit``
    of them, and how many match in all (a bulk action's selection: "all N matching")."""
    filters = [
        *_totals_filters(ServiceRequest, request_type, status, priority, sla_status, history),
        *_other_filters(created_from, created_to, assignee_id),
    ]
    found = search.request_condition(q, session.get_bind().dialect.name)
    conditions = [*filters, *([found] if found is not None else [])]
    ids = list(
        await session.scalars(
            select(ServiceRequest.request_id)
            .where(*conditions)
            .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
            .limit(limit)
        )
    )
    total = len(ids) if len(ids) < limit else await _count(session, and_(true(), *conditions))
    return ids, total


def _ordering(sort_key: Any, row_id: Any, key: str, descending: bool) -> list[Any]:
    """ORDER BY the sort key, ties in id order the same way round (so that an index on (key, id)
    walks the page in order); request IDs are unique already."""
    direction = (lambda column: column.desc()) if descending else (lambda column: column.asc())
    return [direction(sort_key)] + ([] if key == "request_id" else [direction(row_id)])


BROAD = 1_000
"""More matches than this and a list's page is first looked for by walking its sort index."""
WALK = 20
"""How many rows per match wanted a walk reads before it gives up (a sparse stretch)."""


async def _searched(
    session: AsyncSession, q: str, where: Any, key: str, descending: bool, skip: int, size: int
) -> tuple[int, bool, Select[Any]]:
    """A search with no other filter: its total, whether exact, and its page's IDs
    (``search.find_page``); where thousands match ("road", "lin": reading and sorting them all
    took 30-40 ms), from a short walk of the sort index."""
    dialect = session.get_bind().dialect.name
    keys = select(ServiceRequest.id, SORTS[key].label("sort_key")).where(where)

    async def walk(matches: int, exact: bool) -> list[int] | None:
        length = search.walk_length(
            skip + size, matches, await _counted(session, None, None, None, None, False)
        )
        if length is None:
            return None
        return await _walked(
            session, [], lambda head: search.request_condition(q, dialect, head.c.get("search_text"), head.c.id),
            key, descending, skip, size, min(size, matches - skip) if exact else size, length,
            search_text=search.reads_text(q, dialect),
        )  # fmt: skip

    matches, exact, ids = await search.find_page(
        session, keys, lambda t: _ordering(t.c.sort_key, t.c.id, key, descending), skip, size,
        search.count_from_index(q, dialect, "request_search"), walk,
    )  # fmt: skip
    return matches, exact, select(ServiceRequest.id).where(ServiceRequest.id.in_(ids))


async def _walked(
    session: AsyncSession,
    filters: list[Any],
    test: Callable[[Subquery], Any],
    key: str,
    descending: bool,
    skip: int,
    size: int,
    wanted: int,
    length: int,
    *,
    search_text: bool = False,
) -> list[int] | None:
    """The page's IDs, read off the first ``length`` rows of the sort index that pass
    ``filters``, keeping those that pass ``test`` (of the walked rows: their id, request_id and,
    with ``search_text``, search text); None when those rows hold fewer than the ``wanted``
    matches (then the page lies further on, and gathering them all is cheaper).

    Exact: every match before the page lies within the rows walked, in the same order."""
    text_ = [ServiceRequest.search_text] if search_text else []
    head = (
        select(ServiceRequest.id, ServiceRequest.request_id, SORTS[key].label("sort_key"), *text_)
        .where(*filters)
        .order_by(*_ordering(SORTS[key], ServiceRequest.id, key, descending))
        .limit(length)
        .subquery()
    )
    found = list(
        await session.scalars(
            select(head.c.id)
            .where(test(head))
            .order_by(*_ordering(head.c.sort_key, head.c.id, key, descending))
            .limit(size)
            .offset(skip)
        )
    )
    if len(found) < wanted:
        return None
    return found


async def _count(session: AsyncSession, where: Any) -> int:
    return await session.scalar(select(func.count()).select_from(ServiceRequest).where(where)) or 0


def _totals_filters(
    table: type[ServiceRequest] | type[RequestCount],
    request_type: RequestType | None,
    status: list[RequestStatus] | None,
    priority: list[Priority] | None,
    sla_status: list[SlaState] | None,
    history: bool,
) -> list[Any]:
    """The filters on the columns both the requests and their running totals have."""
    filters: list[Any] = []
    if history:
        filters.append(table.status.in_([RequestStatus.COMPLETED, RequestStatus.CLOSED]))
    if status:
        open_ = table is ServiceRequest and set(status) == set(OPEN_STATUSES)
        filters.append(open_condition() if open_ else table.status.in_(status))
    if request_type:
        filters.append(table.request_type == request_type)
    if priority:
        filters.append(table.priority.in_(priority))
    if sla_status:
        filters.append(table.sla_status.in_(sla_status))
    return filters


async def _counted(
    session: AsyncSession,
    request_type: RequestType | None,
    status: list[RequestStatus] | None,
    priority: list[Priority] | None,
    sla_status: list[SlaState] | None,
    history: bool,
) -> int:
    """A list's total from the running totals, when it filters on nothing else."""
    filters = _totals_filters(RequestCount, request_type, status, priority, sla_status, history)
    return await session.scalar(select(func.coalesce(func.sum(RequestCount.n), 0)).where(*filters)) or 0


async def escalation_queue(
    *, session: AsyncSession, page: int = 1, size: int = 25
) -> Page[schemas.RequestRow]:
    """Open requests whose SLA is breached or at risk, oldest first: what supervisors work through."""
    return await list_requests(
        session=session,
        status=list(OPEN_STATUSES),
        sla_status=[SlaState.BREACHED, SlaState.AT_RISK],
        sort="created_at",
        page=page,
        size=size,
    )


async def dashboard(*, session: AsyncSession) -> schemas.Dashboard:
    """The four counters and the open requests' SLA at-risk / breached counts, from the running
    totals the database's triggers keep (a few dozen rows, whatever the number of requests)."""
    pending, completed, open_sla = Counter[RequestType](), Counter[RequestType](), Counter[SlaState]()
    for kept in await session.scalars(select(RequestCount).where(RequestCount.n != 0)):
        if kept.status in OPEN_STATUSES:
            pending[kept.request_type] += kept.n
            open_sla[kept.sla_status] += kept.n
        elif kept.status is RequestStatus.COMPLETED:
            completed[kept.request_type] += kept.n
    return schemas.Dashboard(
        pending_connection=pending[RequestType.RECONNECTION],
        completed_connection=completed[RequestType.RECONNECTION],
        pending_disconnection=pending[RequestType.DISCONNECTION],
        completed_disconnection=completed[RequestType.DISCONNECTION],
        sla_at_risk=open_sla[SlaState.AT_RISK],
        sla_breached=open_sla[SlaState.BREACHED],
    )


# The detail's statements, built once: every action's answer runs them, and building a statement
# (and its cache key) each time cost about as much as running it.
_DETAIL = (  # the request with its consumer, assignee, plan and booked slot: one statement
    select(ServiceRequest, Consumer, Assignee.username, Plan, SlotBooking.day, TimeSlot)
    .join(Consumer, Consumer.id == ServiceRequest.consumer_id)
    .outerjoin(Assignee, Assignee.id == ServiceRequest.assigned_to)
    .outerjoin(Plan, Plan.id == ServiceRequest.plan_id)
    .outerjoin(SlotBooking, SlotBooking.request_id == ServiceRequest.request_id)
    .outerjoin(TimeSlot, TimeSlot.id == SlotBooking.slot_id)
    .where(ServiceRequest.request_id == bindparam("request_id"))
)
_TIMELINE = (
    select(RequestEvent).where(RequestEvent.request_id == bindparam("request_id")).order_by(RequestEvent.id)
)
_COMMUNICATIONS = (
    select(Communication)
    .where(Communication.request_id == bindparam("request_id"))
    .order_by(Communication.created_at.desc(), Communication.id.desc())
)
_SERVICES = (  # per utility: the meter serving now first, then the latest to have served
    select(Meter, MeterAssignment)
    .join(MeterAssignment, MeterAssignment.meter_id == Meter.id)
    .where(MeterAssignment.consumer_id == bindparam("consumer_id"))
    .order_by(
        Meter.utility, MeterAssignment.unassigned_on.is_(None).desc(),
        MeterAssignment.unassigned_on.desc(), MeterAssignment.id.desc(),
    )
)  # fmt: skip


async def _service_info(session: AsyncSession, consumer: Consumer) -> list[schemas.ServiceInfo]:
    """Per utility, the meter serving the consumer now, or else the last one that did: a
    reconnection shows the meter and reading the service was disconnected with."""
    assignments = await session.execute(_SERVICES, {"consumer_id": consumer.id})
    services: dict[UtilityType, schemas.ServiceInfo] = {}
    for meter, held in assignments:
        if meter.utility in services:
            continue
        current = held.unassigned_on is None
        services[meter.utility] = schemas.ServiceInfo(
            utility=meter.utility, meter_number=meter.meter_number, device_number=meter.device_number,
            meter_type=meter.meter_type, model=meter.model,
            current_reading=meter.last_reading if current else held.final_reading,
            reading_date=meter.last_reading_date if current else held.unassigned_on,
            service_status=(
                ("Active" if consumer.status.value == "Active" else consumer.status.value) if current
                else f"Disconnected on {held.unassigned_on.isoformat()}"  # type: ignore[union-attr]
            ),
        )  # fmt: skip
    return list(services.values())


async def _fee(
    session: AsyncSession, req: ServiceRequest, events: Sequence[RequestEvent], now: datetime
) -> schemas.ReconnectionFee | None:
    """A reconnection's fee: charged (from its timeline) once completed, else the quote for work
    done now and whether a supervisor waived it."""
    if req.request_type is not RequestType.RECONNECTION:
        return None
    waived = next((e.detail for e in reversed(events) if e.kind == "fee_waived"), None)
    charged = next((e.detail for e in events if e.kind == "fee_charged"), None)
    if charged is not None or req.status not in OPEN_STATUSES:
        return schemas.ReconnectionFee(amount=None, basis=charged, waived=waived, charged=charged is not None)
    quote = reconnection_fee(await load_profile(session), at=now, urgent=req.priority is Priority.CRITICAL)
    if quote is None:
        return None
    return schemas.ReconnectionFee(amount=quote.amount, basis=quote.basis, waived=waived, charged=False)


async def detail(
    *, session: AsyncSession, settings: Settings, user: User, request_id: str
) -> schemas.RequestDetail:
    """The whole request: consumer auto-fill, services and meters, SLA clocks, plan, timeline,
    communications, and the actions the caller's role may take now."""
    found = (await session.execute(_DETAIL, {"request_id": request_id})).first()
    if found is None:
        raise Problem(404, f"No request {request_id}.", type_="/problems/not-found")
    req, consumer, assignee, plan, booked_day, slot = found
    now = datetime.now(UTC)

    services = await _service_info(session, consumer)
    sla = [
        schemas.SlaClock(
            target=clock.target, due_at=clock.due_at, met_at=clock.met_at,
            state=live_state(clock.state, clock.due_at, clock.met_at, now),
            seconds_remaining=int((clock.due_at - now).total_seconds()),
        )
        for clock in recorded_clocks(req)
    ]  # fmt: skip
    events = (await session.scalars(_TIMELINE, {"request_id": req.request_id})).all()
    comms = (await session.scalars(_COMMUNICATIONS, {"request_id": req.request_id})).all()
    allowed = [
        a.value
        for a in rules.allowed_actions(req.status, req.request_type, plan_selected=req.plan_id is not None)
        if may(user, a, req)
    ]
    base = _row(req, consumer.account_number, consumer.first_name, consumer.last_name, assignee)
    return schemas.RequestDetail(
        **base.model_dump(),
        consumer=consumer_card(consumer),
        services=services,
        sla=sla,
        plan=schemas.PlanSummary(
            id=plan.id, name=plan.name, short_name=plan.short_name, monthly_fee=plan.monthly_fee
        )
        if plan
        else None,
        slot=schemas.SlotSummary(id=slot.id, label=slot.label, day=booked_day)
        if slot and booked_day
        else None,
        notes=req.notes,
        close_reason=req.close_reason,
        close_notes=req.close_notes,
        resolution_basis=req.resolution_basis,
        reconnection_fee=await _fee(session, req, events, now),
        timeline=[
            schemas.TimelineEntry(occurred_at=e.occurred_at, actor=e.actor, kind=e.kind, detail=e.detail)
            for e in events
        ],
        communications=[
            schemas.CommunicationEntry(
                created_at=c.created_at,
                channel=c.channel,
                direction=c.direction.value,
                visibility=c.visibility,
                subject=c.subject,
                body=c.body,
                author=c.author,
                duration_seconds=c.duration_seconds,
                outcome=c.outcome,
            )
            for c in comms
        ],
        follow_ups=[
            schemas.FollowUpEntry(due_at=f.due_at, note=f.note, set_by=f.set_by, state=f.state)  # type: ignore[arg-type]
            for f in await follow_ups.for_request(session, req.request_id)
        ],
        allowed_actions=allowed,
        notices=NoticesView.model_validate(req.notices) if req.notices else None,
        temporal_url=(
            f"{settings.temporal_ui}/namespaces/{settings.temporal_namespace}/workflows/"
            f"{settings.workflow_id(req.request_id)}"
        ),
    )


async def lookup_customers(
    *, session: AsyncSession, settings: Settings, q: str, limit: int = 10
) -> list[schemas.CustomerMatch]:
    """Consumers whose name, account number, phone (any formatting), service address or meter or
    device number contains ``q`` (db/search.py; case-insensitive), with the request type they
    would get and whether a request can be created now."""
    found = search.consumer_condition(q, session.get_bind().dialect.name)
    if found is None:
        return []
    consumers = (
        await session.scalars(
            select(Consumer).where(found).order_by(Consumer.last_name, Consumer.first_name).limit(limit)
        )
    ).all()
    matches = []
    for consumer in consumers:
        request_type, refusal = eligibility(consumer, settings)
        matches.append(
            schemas.CustomerMatch(
                consumer=consumer_card(consumer),
                request_type=request_type,
                eligible=refusal is None,
                reason=refusal,
            )
        )
    return matches


def consumer_card(consumer: Consumer) -> schemas.ConsumerCard:
    return schemas.ConsumerCard(
        id=consumer.id,
        account_number=consumer.account_number,
        name=consumer.full_name,
        service_address=consumer.service_address,
        phone=consumer.phone,
        email=consumer.email,
        category=consumer.category.value,
        sub_category=consumer.sub_category,
        status=consumer.status.value,
        balance=consumer.balance,
        is_vip=consumer.is_vip,
    )


async def follow_ups_due(
    *, session: AsyncSession, until: datetime, user: User | None, limit: int = 50, now: datetime | None = None
) -> list[schemas.FollowUpDue]:
    """Pending follow-ups due by ``until`` (overdue included), soonest first; with ``user``, only
    theirs: on requests assigned to them, or unassigned ones they set."""
    now = now or datetime.now(UTC)
    due = await follow_ups.due_by(
        session, until, user_id=user.id if user else None, username=user.username if user else None,
        limit=limit,
    )  # fmt: skip
    return [
        schemas.FollowUpDue(
            request_id=f.request_id, due_at=f.due_at, note=f.note, set_by=f.set_by, assignee=f.assignee,
            overdue=f.due_at <= now,
        )
        for f in due
    ]  # fmt: skip
