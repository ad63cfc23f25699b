"""The consumer's meters and readings: the Connections tab (each meter with its readings,
consumption, anomalies, suspected tampering and the inspection order to raise for a flagged one),
verifying a reading, and marking one *suspected tampering* (cleared by a supervisor)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.consumers import schemas
from api.consumers.accounts import not_found
from api.consumers.communications import record_change
from api.errors import Problem
from db.models import Consumer, Meter, MeterAssignment, MeterReading, ReadingTampering, UtilityService
from domain.consumers.readings import Anomaly, AnomalyKind, Reading, average_monthly_usage, find_anomalies
from domain.consumers.types import (
    MeterStatus,
    ReadingStatus,
    ServiceOrderType,
    UtilityType,
    VerificationStatus,
)

USAGE_PERIODS = 12
"""Average monthly usage is taken over at most this many latest reading periods."""

VALUE_ANOMALIES = (AnomalyKind.REGRESSION, AnomalyKind.SPIKE, AnomalyKind.DROP)
"""The anomalies in a reading's value (the others concern its date or status)."""


async def _units(session: AsyncSession) -> dict[UtilityType, str]:
    return {
        UtilityType(code): unit
        for code, unit in (await session.execute(select(UtilityService.code, UtilityService.unit))).all()
    }


def inspection_order(
    meter_number: str,
    reading_date: date,
    anomalies: list[schemas.AnomalyRead],
    tampering: schemas.TamperingRead | None,
) -> schemas.ServiceOrderCreate | None:
    """The inspection order a flagged reading offers, prefilled: type Inspections, the meter, and
    why it is flagged (the anomalies in its value, and the tampering note); None when not flagged."""
    reasons = [f"{a.kind.value}: {a.why}" for a in anomalies if a.kind in VALUE_ANOMALIES]
    if tampering is not None:
        reasons.append(f"suspected tampering (marked by {tampering.marked_by}): {tampering.note}")
    if not reasons:
        return None
    description = f"Inspect meter {meter_number}, reading of {reading_date.isoformat()} — " + " ".join(
        reasons
    )
    return schemas.ServiceOrderCreate(
        service_type=ServiceOrderType.INSPECTIONS,
        meter_number=meter_number,
        description=description[:2000],
    )


def _reading_rows(
    meter_number: str,
    readings: list[Reading],
    anomalies: list[Anomaly],
    previous: Reading | None,
    tampering: dict[date, schemas.TamperingRead],
) -> list[schemas.ReadingRead]:
    """``readings`` as rows; ``previous`` is the reading just before the first one (if any)."""
    by_date: dict[date, list[schemas.AnomalyRead]] = defaultdict(list)
    for anomaly in anomalies:
        by_date[anomaly.reading_date].append(schemas.AnomalyRead(kind=anomaly.kind, why=anomaly.why))
    rows: list[schemas.ReadingRead] = []
    for reading in readings:
        flags = by_date.get(reading.reading_date, [])
        suspected = tampering.get(reading.reading_date)
        rows.append(
            schemas.ReadingRead(
                reading_date=reading.reading_date,
                value=reading.value,
                verification_status=reading.verification,
                # a regression (value below the previous reading) measures a misread, not consumption
                consumption=None
                if previous is None or reading.value < previous.value
                else reading.value - previous.value,
                anomalies=flags,
                tampering=suspected,
                inspection=inspection_order(meter_number, reading.reading_date, flags, suspected),
            )
        )
        previous = reading
    return rows


async def standing_tampering(session: AsyncSession, consumer_id: int) -> list[schemas.TamperingRead]:
    """The consumer's readings suspected of tampering and not cleared yet, oldest reading first."""
    rows = (
        await session.execute(
            select(ReadingTampering, Meter.meter_number, MeterReading.reading_date, MeterReading.value)
            .join(MeterReading, MeterReading.id == ReadingTampering.reading_id)
            .join(Meter, Meter.id == MeterReading.meter_id)
            .where(ReadingTampering.consumer_id == consumer_id, ReadingTampering.cleared_at.is_(None))
            .order_by(MeterReading.reading_date, Meter.meter_number)
        )
    ).all()
    return [_tampering_read(mark, number, when, value) for mark, number, when, value in rows]


def _tampering_read(
    mark: ReadingTampering, meter_number: str, when: date, value: object
) -> schemas.TamperingRead:
    return schemas.TamperingRead(
        meter_number=meter_number, reading_date=when, value=value, marked_by=mark.marked_by,
        marked_at=mark.marked_at, note=mark.note, cleared_by=mark.cleared_by, cleared_at=mark.cleared_at,
        clearance_note=mark.clearance_note,
    )  # fmt: skip


async def meter_connections(
    session: AsyncSession,
    consumer_id: int,
    readings_per_meter: int = 24,
    tampering: list[schemas.TamperingRead] | None = None,
) -> list[schemas.MeterConnection]:
    """Every meter that serves or served the consumer (current first), with the consumer's readings
    (``tampering``: the consumer's ``standing_tampering``, when the caller has it already)."""
    assignments = (
        await session.execute(
            select(MeterAssignment, Meter)
            .join(Meter, Meter.id == MeterAssignment.meter_id)
            .where(MeterAssignment.consumer_id == consumer_id)
            .order_by(MeterAssignment.assigned_on.desc(), MeterAssignment.id.desc())
        )
    ).all()
    latest: dict[int, tuple[MeterAssignment, Meter]] = {}
    for assignment, meter in assignments:
        latest.setdefault(meter.id, (assignment, meter))  # one line per meter: its latest assignment
    if not latest:
        return []
    readings: dict[int, list[Reading]] = defaultdict(list)
    for meter_id, reading_date, value, verification in (
        await session.execute(
            select(
                MeterReading.meter_id,
                MeterReading.reading_date,
                MeterReading.value,
                MeterReading.verification_status,
            )
            .where(MeterReading.consumer_id == consumer_id, MeterReading.meter_id.in_(latest))
            .order_by(MeterReading.meter_id, MeterReading.reading_date)
        )
    ).all():
        readings[meter_id].append(Reading(reading_date, value, VerificationStatus(verification)))
    units = await _units(session)
    suspected: dict[str, dict[date, schemas.TamperingRead]] = defaultdict(dict)
    for mark in tampering if tampering is not None else await standing_tampering(session, consumer_id):
        suspected[mark.meter_number][mark.reading_date] = mark
    connections: list[schemas.MeterConnection] = []
    for meter_id, (assignment, meter) in sorted(
        latest.items(), key=lambda item: (item[1][0].unassigned_on is not None, item[1][1].meter_number)
    ):
        history = readings.get(meter_id, [])
        anomalies = find_anomalies(history)
        cut = max(0, len(history) - readings_per_meter)
        shown = history[cut:]
        shown_from = shown[0].reading_date if shown else None
        connections.append(
            schemas.MeterConnection(
                meter_number=meter.meter_number,
                device_number=meter.device_number,
                utility=meter.utility,
                unit=units.get(UtilityType(meter.utility), ""),
                meter_type=meter.meter_type,
                model=meter.model,
                installation_date=meter.installation_date,
                assigned_on=assignment.assigned_on,
                unassigned_on=assignment.unassigned_on,
                reading_status=ReadingStatus.of(MeterStatus(meter.status), assignment.unassigned_on is None),
                last_reading=meter.last_reading,
                last_reading_date=meter.last_reading_date,
                average_monthly_usage=average_monthly_usage(history[-(USAGE_PERIODS + 1) :]),
                anomaly_count=sum(1 for a in anomalies if a.kind in VALUE_ANOMALIES),
                readings=_reading_rows(
                    meter.meter_number,
                    shown,
                    [a for a in anomalies if shown_from is not None and a.reading_date >= shown_from],
                    history[cut - 1] if cut else None,
                    suspected[meter.meter_number],
                ),
            )
        )
    return connections


async def connections(
    *, session: AsyncSession, consumer: Consumer, readings_per_meter: int = 24
) -> schemas.ConsumerConnections:
    """Meters (number, device, type, model, dates, reading status, last reading) and each meter's
    latest ``readings_per_meter`` readings with verification status, consumption and anomalies."""
    return schemas.ConsumerConnections(
        meters=await meter_connections(session, consumer.id, readings_per_meter)
    )


async def _reading(
    session: AsyncSession, consumer: Consumer, meter_number: str, reading_date: date
) -> MeterReading:
    """One of the consumer's readings; 404 for a reading not on this account."""
    row = await session.scalar(
        select(MeterReading)
        .join(Meter, Meter.id == MeterReading.meter_id)
        .where(
            Meter.meter_number == meter_number.strip().upper(),
            MeterReading.reading_date == reading_date,
            MeterReading.consumer_id == consumer.id,
        )
    )
    if row is None:
        raise not_found(
            f"Consumer {consumer.account_number} has no reading of meter {meter_number} on {reading_date}."
        )
    return row


async def verify_reading(
    *, session: AsyncSession, consumer: Consumer, meter_number: str, reading_date: date, actor: str
) -> MeterReading:
    """Mark one of the consumer's readings verified (checked against the meter or the customer),
    recording who did in the consumer's communications. 404 for a reading not on this account."""
    row = await _reading(session, consumer, meter_number, reading_date)
    if row.verification_status != VerificationStatus.VERIFIED:
        row.verification_status = VerificationStatus.VERIFIED
        record_change(
            session, consumer, actor, f"Reading of meter {meter_number.strip().upper()} verified",
            f"{reading_date.isoformat()}: {row.value}",
        )  # fmt: skip
        await session.flush()
    return row


async def _standing_mark(session: AsyncSession, reading: MeterReading) -> ReadingTampering | None:
    return await session.scalar(
        select(ReadingTampering).where(
            ReadingTampering.reading_id == reading.id, ReadingTampering.cleared_at.is_(None)
        )
    )


async def mark_tampering(
    *,
    session: AsyncSession,
    consumer: Consumer,
    meter_number: str,
    reading_date: date,
    note: str,
    actor: str,
    now: datetime | None = None,
) -> schemas.TamperingRead:
    """Mark one of the consumer's readings *suspected tampering*, with who, when and why; the
    profile header alerts on it until a supervisor clears it. Recorded in the communications.

    Refuses with 404 a reading not on this account and with 409 one already suspected (its mark
    names who marked it and when).
    """
    number = meter_number.strip().upper()
    reading = await _reading(session, consumer, number, reading_date)
    if (standing := await _standing_mark(session, reading)) is not None:
        raise Problem(
            409,
            f"The {reading_date.isoformat()} reading of meter {number} is already marked suspected "
            f"tampering (by {standing.marked_by} on {standing.marked_at:%Y-%m-%d %H:%M} UTC).",
            type_="/problems/conflict",
        )
    mark = ReadingTampering(
        reading_id=reading.id, consumer_id=consumer.id, marked_by=actor, marked_at=now or datetime.now(UTC),
        note=note,
    )  # fmt: skip
    try:
        async with session.begin_nested():  # a racing mark of the same reading: 409, not a 500
            session.add(mark)
    except IntegrityError:
        raise Problem(
            409,
            f"The {reading_date.isoformat()} reading of meter {number} was just marked suspected tampering "
            "by someone else.",
            type_="/problems/conflict",
        ) from None
    record_change(
        session, consumer, actor, f"Reading of meter {number} marked suspected tampering",
        f"{reading_date.isoformat()} ({reading.value}): {note}",
    )  # fmt: skip
    await session.flush()
    return _tampering_read(mark, number, reading.reading_date, reading.value)


async def clear_tampering(
    *,
    session: AsyncSession,
    consumer: Consumer,
    meter_number: str,
    reading_date: date,
    note: str,
    actor: str,
    now: datetime | None = None,
) -> schemas.TamperingRead:
    """Clear a reading's *suspected tampering* mark (a supervisor's call), saying how it was
    resolved; the mark is kept, cleared, as history. Recorded in the communications.

    Refuses with 404 a reading not on this account and with 409 one that is not suspected.
    """
    number = meter_number.strip().upper()
    reading = await _reading(session, consumer, number, reading_date)
    mark = await _standing_mark(session, reading)
    if mark is None:
        raise Problem(
            409,
            f"The {reading_date.isoformat()} reading of meter {number} is not marked suspected tampering; "
            "there is nothing to clear.",
            type_="/problems/invalid-transition",
        )
    mark.cleared_by = actor
    mark.cleared_at = now or datetime.now(UTC)
    mark.clearance_note = note
    record_change(
        session, consumer, actor, f"Suspected tampering cleared on meter {number}",
        f"{reading_date.isoformat()} ({reading.value}): {note}",
    )  # fmt: skip
    await session.flush()
    return _tampering_read(mark, number, reading.reading_date, reading.value)
