"""JSON-lines logging with secret redaction.

One event a line on stdout: ``ts``, ``level``, ``logger``, ``event`` (the log message, a stable
snake_case name) and whatever fields the caller passed in ``extra``. Every value that came out of
the vault is registered with :func:`register_secret`; :func:`redact` masks them wherever they
appear, and the formatter applies it to the whole rendered line, so a secret that slips into a
message, a field or a traceback never reaches the output.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, TextIO

import msgspec

MASK = "***"
_MIN_SECRET_LENGTH = 4

_secrets: set[str] = set()
_lock = threading.Lock()

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


def register_secret(value: str) -> None:
    """Mask ``value`` in every log line and in :func:`redact` from now on.

    Very short values are not registered: masking every "abc" in a log would destroy it and hide
    nothing worth hiding.
    """
    if len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    if not _secrets:
        return text
    with _lock:
        ordered = sorted(_secrets, key=len, reverse=True)
    for secret in ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRS and not key.startswith("_")
        )
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        line = msgspec.json.encode(entry, enc_hook=str).decode()
        return redact(line)


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Send the ``mlc`` loggers to ``stream`` (stdout) as JSON lines at ``level``."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("mlc")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
