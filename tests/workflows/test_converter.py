"""The data converter (workflows/converter.py): one TypeAdapter cache per process, whatever number of
converters temporalio builds, and the payloads temporalio's pydantic converter writes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, WorkflowSerializationContext

from domain.request.types import RequestStatus
from workflows.converter import JSON, data_converter
from workflows.schemas import RowChanges


def _per_activation() -> DataConverter:
    """A converter as temporalio's worker builds one for each activation: a new DataConverter of the
    same classes (which instantiates the payload converter class), with the run's context."""
    context = WorkflowSerializationContext(namespace="default", workflow_id="RC-2026-000001")
    return dataclasses.replace(data_converter).with_context(context)


def test_a_new_converter_builds_no_type_adapter_the_process_has_built() -> None:
    payloads = data_converter.payload_converter.to_payloads([RowChanges(status=RequestStatus.IN_PROGRESS)])
    _per_activation().payload_converter.from_payloads(payloads, [RowChanges])
    # temporalio's cache: functools.lru_cache over pydantic.TypeAdapter, one per JSON converter
    before = JSON._type_adapter.cache_info()

    decoded = _per_activation().payload_converter.from_payloads(payloads, [RowChanges])

    assert decoded == [RowChanges(status=RequestStatus.IN_PROGRESS)]
    after = JSON._type_adapter.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


def test_the_payloads_are_the_pydantic_converters_bytes() -> None:
    """Histories written before this converter replay with it, and the other way round."""
    values = [
        RowChanges(status=RequestStatus.ON_HOLD, close_notes="Awaiting parts", escalation_level=2),
        {"amount": Decimal("12.50"), "at": datetime(2026, 12, 3, 9, 30, tzinfo=UTC)},
        None,
        b"\x00raw",
        ["a", 1, 2.5, True],
    ]

    ours = data_converter.payload_converter.to_payloads(values)

    assert ours == pydantic_data_converter.payload_converter.to_payloads(values)
    assert pydantic_data_converter.payload_converter.from_payloads(
        ours, [RowChanges, dict, None, bytes, list]
    ) == (data_converter.payload_converter.from_payloads(ours, [RowChanges, dict, None, bytes, list]))
