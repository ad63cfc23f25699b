"""Custom search attributes supervisors filter on in the Temporal UI.

Registered by the dev stack at start (``--search-attribute``), by the test fixtures, and by
``temporal operator search-attribute create`` in production (see README).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from domain.request.types import RequestStatus, SlaState

if TYPE_CHECKING:
    from workflows.schemas import StartRequest

REQUEST_TYPE = SearchAttributeKey.for_keyword("RequestType")
REQUEST_STATUS = SearchAttributeKey.for_keyword("RequestStatus")
SLA_STATUS = SearchAttributeKey.for_keyword("SlaStatus")
PRIORITY = SearchAttributeKey.for_keyword("Priority")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
ACCOUNT_NUMBER = SearchAttributeKey.for_keyword("AccountNumber")

ALL = (REQUEST_TYPE, REQUEST_STATUS, SLA_STATUS, PRIORITY, ESCALATION_LEVEL, ACCOUNT_NUMBER)


def at_start(start: StartRequest) -> TypedSearchAttributes:
    """The six a request's workflow starts with (the API's create, a dunning run's child): a new
    request is Pending, On Track, at escalation level 0. The workflow counts them as published."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(REQUEST_TYPE, start.request_type.value),
            SearchAttributePair(REQUEST_STATUS, RequestStatus.PENDING.value),
            SearchAttributePair(SLA_STATUS, SlaState.ON_TRACK.value),
            SearchAttributePair(PRIORITY, start.priority.value),
            SearchAttributePair(ESCALATION_LEVEL, 0),
            SearchAttributePair(ACCOUNT_NUMBER, start.account_number),
        ]
    )


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL:
        flags += [
            "--search-attribute",
            f"{key.name}={key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_').title()}",
        ]
    return flags
