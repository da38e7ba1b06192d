"""Logging, configured once by the entry point.

Handler modules log through ``restate.getLogger(__name__)`` so a replay does not log twice. Each
record carries the invocation id and object key of the handler it comes from (set by
``common.handlers``). On a terminal the output is for people; otherwise one JSON object a line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

invocation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("invocation_id", default=None)
object_key: contextvars.ContextVar[str | None] = contextvars.ContextVar("object_key", default=None)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.invocation_id = invocation_id.get()
        record.object_key = object_key.get()
        return True


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        where = ""
        invocation = getattr(record, "invocation_id", None)
        if invocation:
            key = getattr(record, "object_key", None)
            where = f" [{invocation}{'/' + key if key else ''}]"
        line = f"{stamp} {record.levelname:<7} {record.name}{where}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ("invocation_id", "object_key"):
            value = getattr(record, field, None)
            if value:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Send every log record to stderr in the chosen format. Safe to call twice."""
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _ConsoleFormatter())
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Hypercorn's access log is noise next to the handlers' own lines.
    logging.getLogger("hypercorn.access").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
