"""The consumer's meters and readings: the Connections tab (each meter with its readings,
consumption and anomalies) and verifying a reading."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.consumers import schemas
from api.consumers.accounts import not_found
from api.consumers.communications import record_change
from db.models import Consumer, Meter, MeterAssignment, MeterReading, UtilityService
from domain.consumers.readings import Anomaly, AnomalyKind, Reading, average_monthly_usage, find_anomalies
from domain.consumers.types import MeterStatus, ReadingStatus, UtilityType, VerificationStatus

USAGE_PERIODS = 12
"""Average monthly usage is taken over at most this many latest reading periods."""

VALUE_ANOMALIES = (AnomalyKind.REGRESSION, AnomalyKind.SPIKE, AnomalyKind.DROP)
"""The anomalies in a reading's value (the others concern its date or status)."""


async def _units(session: AsyncSession) -> dict[UtilityType, str]:
    return {
        UtilityType(code): unit
        for code, unit in (await session.execute(select(UtilityService.code, UtilityService.unit))).all()
    }


def _reading_rows(
    readings: list[Reading], anomalies: list[Anomaly], previous: Reading | None
) -> list[schemas.ReadingRead]:
    """``readings`` as rows; ``previous`` is the reading just before the first one (if any)."""
    by_date: dict[date, list[schemas.AnomalyRead]] = defaultdict(list)
    for anomaly in anomalies:
        by_date[anomaly.reading_date].append(schemas.AnomalyRead(kind=anomaly.kind, why=anomaly.why))
    rows: list[schemas.ReadingRead] = []
    for reading in readings:
        rows.append(
            schemas.ReadingRead(
                reading_date=reading.reading_date,
                value=reading.value,
                verification_status=reading.verification,
                # a regression (value below the previous reading) measures a misread, not consumption
                consumption=None
                if previous is None or reading.value < previous.value
                else reading.value - previous.value,
                anomalies=by_date.get(reading.reading_date, []),
            )
        )
        previous = reading
    return rows


async def meter_connections(
    session: AsyncSession, consumer_id: int, readings_per_meter: int = 24
) -> list[schemas.MeterConnection]:
    """Every meter that serves or served the consumer (current first), with the consumer's readings."""
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
                    shown,
                    [a for a in anomalies if shown_from is not None and a.reading_date >= shown_from],
                    history[cut - 1] if cut else None,
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


async def verify_reading(
    *, session: AsyncSession, consumer: Consumer, meter_number: str, reading_date: date, actor: str
) -> MeterReading:
    """Mark one of the consumer's readings verified (checked against the meter or the customer),
    recording who did in the consumer's communications. 404 for a reading not on this account."""
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
    if row.verification_status != VerificationStatus.VERIFIED:
        row.verification_status = VerificationStatus.VERIFIED
        record_change(
            session, consumer, actor, f"Reading of meter {meter_number.strip().upper()} verified",
            f"{reading_date.isoformat()}: {row.value}",
        )  # fmt: skip
        await session.flush()
    return row
