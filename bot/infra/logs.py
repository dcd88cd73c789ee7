"""JSON logs with correlation fields, and the bot token scrubbed from every record."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = ("update_id", "chat_id", "user_id", "handler", "correlation_id")
_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)

# Bot API URLs carry the token in the path (".../bot123:ABC/sendMessage"); httpx logs them.
TOKEN_PATTERN = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{20,100}")
REDACTED = "<redacted>"


def bind(**fields: Any) -> None:
    """Attach fields to every record logged from this task (asyncio context) from now on."""
    current = dict(_context.get() or {})
    current.update({k: v for k, v in fields.items() if k in CONTEXT_FIELDS})
    _context.set(current)


def clear() -> None:
    _context.set(None)


class ContextFilter(logging.Filter):
    def __init__(self, instance: str) -> None:
        super().__init__()
        self._instance = instance

    def filter(self, record: logging.LogRecord) -> bool:
        record.instance = self._instance
        for key, value in (_context.get() or {}).items():
            setattr(record, key, value)
        return True


class SecretScrubber(logging.Filter):
    """Last line of defence: whatever a library logs, a token-shaped string never leaves."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_PATTERN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(
    *, instance: str, level: str = "INFO", json: bool = True, secrets: list[str] | None = None
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json:
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(ContextFilter(instance))
    handler.addFilter(SecretScrubber(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO: too chatty, and the URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
