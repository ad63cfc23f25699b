"""The scale-out benchmark's audit (bench/scaleout_bench.py): it must catch what it is there to catch."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
LIFECYCLE = ("created", "acknowledged", "put_on_hold", "resumed", "closed")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # the bench scripts import their helpers as `_support`
    try:
        import scaleout_bench

        return scaleout_bench
    finally:
        sys.path.remove(str(BENCH))


def closed(bench: ModuleType, request_id: str, **changes: object) -> object:
    fields: dict[str, object] = {
        "request_id": request_id,
        "status": "Closed",
        "events": LIFECYCLE,
        "communications": ("Email|Your request|received",),
        "consumer_locked": False,
        "workflow": "COMPLETED",
    }
    return bench.RequestOutcome(**{**fields, **changes})


def test_a_clean_run_passes(bench: ModuleType) -> None:
    found = bench.audit(["RC-1", "DC-2"], [closed(bench, "RC-1"), closed(bench, "DC-2")])

    assert found.passed
    assert found.checked == 2


def test_each_way_a_request_can_end_wrong_is_flagged(bench: ModuleType) -> None:
    outcomes = [
        closed(bench, "RC-1", events=(*LIFECYCLE[:3], "put_on_hold", *LIFECYCLE[3:])),  # hold applied twice
        closed(bench, "RC-2", events=LIFECYCLE[:4]),  # the close's event lost
        closed(bench, "RC-3", status="On Hold", consumer_locked=True, workflow="RUNNING"),  # stuck open
        closed(bench, "RC-4", communications=("Email|x|y", "Email|x|y")),
        bench.RequestOutcome(request_id="RC-5", status=None),  # answered 201, never written
        closed(bench, "RC-6"),  # written, never answered for (a retried create applied twice)
    ]

    found = bench.audit(["RC-1", "RC-2", "RC-3", "RC-4", "RC-5"], outcomes)

    assert not found.passed
    assert found.problems() == {
        "lost": ["RC-5"],
        "unexpected": ["RC-6"],
        "wrong_status": ["RC-3: On Hold"],
        "missing_events": ["RC-2: closed"],
        "duplicate_events": ["RC-1: put_on_hold ×2"],
        "duplicate_communications": ["RC-4: 1 written twice"],
        "still_locked": ["RC-3"],
        "workflow_not_completed": ["RC-3: RUNNING"],
    }


def test_the_options_refuse_a_run_that_cannot_stop_a_worker(bench: ModuleType) -> None:
    args = bench.parse_args(["--lifecycles", "50", "--concurrency", "4"])
    assert (args.lifecycles, args.concurrency, args.workers, args.apis) == (50, 4, 3, 2)

    with pytest.raises(SystemExit) as exc:
        bench.parse_args(["--workers", "2"])  # killing one and stopping another would leave none
    assert exc.value.code == 2
