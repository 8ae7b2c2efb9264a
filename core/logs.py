"""Structured logs: one logfmt line per event, carrying the mapping and run id, secrets redacted.

ts=2026-11-22T19:40:01Z level=info event=page.applied mapping=crm-person run=42 read=200
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from core.redaction import redact

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("syncline_log_context")


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Attach fields (mapping=, run=) to every event logged inside the block, in this thread."""
    token = _context.set({**_context.get({}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


#: Characters that would break a logfmt line (or forge a new one): escaped, never written raw.
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _quote(value: Any) -> str:
    text = redact(str(value))
    if text == "" or any(c in text for c in ' ="\n\r\t'):
        text = '"' + text.translate(_ESCAPES) + '"'
    return text


class LogfmtFormatter(logging.Formatter):
    """Formats records as ``key=value`` pairs; every value passes through the secret redactor."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pairs: dict[str, Any] = {"ts": ts, "level": record.levelname.lower()}
        pairs["event"] = getattr(record, "event", None) or record.getMessage()
        pairs.update(getattr(record, "context", {}))
        pairs.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            pairs["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return " ".join(f"{k}={_quote(v)}" for k, v in pairs.items() if v is not None)


class RedactingFilter(logging.Filter):
    """Redacts a library's log records (Flask's) in place, tracebacks included.

    Whatever handler writes them: a logger's filters run before its handlers and its parents'.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


#: The one instance, so adding it to a logger twice adds it once.
redacting_filter = RedactingFilter()


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one structured event with the bound context (mapping, run) and extra fields."""
    if logger.isEnabledFor(level):
        logger.log(
            level, name, extra={"event": name, "fields": fields, "context": _context.get({})}
        )


def configure(level: str | int = "INFO", stream: TextIO | None = None) -> None:
    """Send Syncline's loggers to ``stream`` (stderr) as logfmt; idempotent."""
    root = logging.getLogger("syncline")
    root.setLevel(level if isinstance(level, int) else level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_syncline", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    handler._syncline = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.propagate = False


def get_logger(name: str) -> logging.Logger:
    """A logger under the ``syncline`` namespace (``syncline.engine``, ``syncline.scheduler``)."""
    return logging.getLogger(f"syncline.{name}")
