"""schemathesis hooks for the fuzz run (loaded through ``SCHEMATHESIS_HOOKS``).

The fuzzer learns its own user ID from responses (``/auth/me``, the user list) and, as an admin,
may then rename itself or set its own password through ``PATCH /admin/users/{user_id}``, both
lawful; from then on it can no longer sign itself in (seed 393537275 did that, and every later
case failed with "Token fetch failed"). Cases aimed at its own account go to a user that does not
exist instead: the endpoint is still fuzzed, on every other ID, and its self-edit rules have tests
of their own (tests/api/test_admin.py).
"""

from __future__ import annotations

from typing import Any

import schemathesis

FUZZ_ADMIN_ID = 1_987_654_321
"""The admin the fuzzer signs in as: far from the IDs it guesses (small ones and the bounds)."""
NOBODY = FUZZ_ADMIN_ID + 1


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    parameters = case.path_parameters
    if parameters and str(parameters.get("user_id")) == str(FUZZ_ADMIN_ID):
        parameters["user_id"] = NOBODY
