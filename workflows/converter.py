"""The data converter every ConnectDesk client, worker and replayer uses: temporalio's pydantic
converter, with one JSON converter, and so one TypeAdapter cache, per process.

temporalio's worker builds a new ``DataConverter`` for each workflow activation, twice (to decode
the activation and to encode its completion, each with the run's serialization context), and a
``DataConverter`` instantiates its payload converter class. ``PydanticPayloadConverter`` makes a
new JSON converter each time: a schema serializer and an empty TypeAdapter cache, so every
activation rebuilt the converter and the adapters of the types it decoded. That was 6-9 % of the
worker's CPU on an action (py-spy, bench/api_bench.py). ``PayloadConverter`` hands every instance
the same converters instead. The payloads are byte for byte the ones ``pydantic_data_converter``
writes, so histories recorded with either replay with either.
"""

from __future__ import annotations

from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)

JSON = PydanticJSONPlainPayloadConverter(max_cached_type_adapters=None)
"""The process's JSON converter: its adapters are one per type hint, and the hints are the
workflows' and activities' own (a bounded set), so the cache needs no bound. functools.lru_cache
is thread-safe, and workflow activations run on threads."""

CONVERTERS = tuple(
    JSON if isinstance(c, JSONPlainPayloadConverter) else c
    for c in DefaultPayloadConverter.default_encoding_payload_converters
)


class PayloadConverter(CompositePayloadConverter):
    """``PydanticPayloadConverter``'s converters, in its order, built once per process."""

    def __init__(self) -> None:
        super().__init__(*CONVERTERS)


data_converter = DataConverter(payload_converter_class=PayloadConverter)
