"""Logging for the API and the worker: one JSON object per line (production), or readable text.

Each JSON line carries the time, level, logger and message; the HTTP request ID (``http_request_id``)
and the user when
the line is written while serving a request; and, for lines from workflow or activity code, the
workflow ID, run ID, workflow type and activity type (the Temporal SDK's ``temporal_workflow`` and
``temporal_activity`` extras, flattened). ``configure`` replaces only the handler it installed
itself, so a test's capture handler (or anyone else's) stays in place.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["json", "text"]

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The HTTP request being served (set by the API's middleware)."""

_context: list[Callable[[], dict[str, Any]]] = []

_TEMPORAL_EXTRAS = {
    "temporal_workflow": {
        "workflow_id": "workflow_id",
        "run_id": "run_id",
        "workflow_type": "workflow_type",
        "task_queue": "task_queue",
        "attempt": "workflow_task_attempt",
    },
    "temporal_activity": {
        "workflow_id": "workflow_id",
        "workflow_run_id": "run_id",
        "workflow_type": "workflow_type",
        "activity_type": "activity_type",
        "activity_id": "activity_id",
        "attempt": "activity_attempt",
        "task_queue": "task_queue",
    },
}
_TEXT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def add_context(provider: Callable[[], dict[str, Any]]) -> None:
    """Add fields to every line, read when it is written (e.g. the signed-in user)."""
    if provider not in _context:
        _context.append(provider)


def flattened(record: logging.LogRecord) -> dict[str, Any]:
    """The JSON object for ``record``."""
    line: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "message": record.getMessage(),
    }
    if (rid := request_id.get()) is not None:
        line["http_request_id"] = rid
    for provider in _context:
        line.update({k: v for k, v in provider().items() if v is not None})
    for extra, fields in _TEMPORAL_EXTRAS.items():
        info = getattr(record, extra, None)
        if isinstance(info, dict):
            line.update({name: info[key] for key, name in fields.items() if info.get(key) is not None})
    if record.exc_info:
        line["exception"] = logging.Formatter().formatException(record.exc_info)
    return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(flattened(record), default=str, ensure_ascii=False)


class _Ours(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure`` installs (and replaces on the next call)."""


def configure(fmt: LogFormat = "json", level: str = "INFO", *, stream: Any = None) -> None:
    """Send every log line (uvicorn's and the Temporal SDK's included) to ``stream`` (stderr) as
    ``fmt``; uvicorn's per-request access line is dropped (the API logs its own, with the request ID)."""
    handler = _Ours(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Ours)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
