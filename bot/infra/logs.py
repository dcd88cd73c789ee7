"""JSON logs with correlation fields, and every secret scrubbed from every record.

A record logged inside a trace carries ``trace_id`` and ``span_id``; its ``correlation_id`` is
the trace id (docs/tracing.md).

What is scrubbed: the secrets handed to :func:`configure_logging` (the bot token, the webhook
secret, the MongoDB and broker URLs and the passwords inside them, the Redis password), every
variable of the process environment named ``*PASSWORD``, ``*SECRET`` or ``*TOKEN`` and the
password of every ``*_URL`` there (HAProxy's ``STATS_PASSWORD`` included), anything shaped like a
bot token, and the password of any ``scheme://user:password@`` URL. Where: the message and its
arguments, ``extra`` fields (nested too), tracebacks and stack traces, in every handler of every
logger configured at the time, so uvicorn's and gunicorn's loggers (``propagate=False``, their
own handlers) are covered as well as the root; gunicorn's master installs it on its handlers at
start (``bot/web/gunicorn_conf.py``) before any worker exists.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote, urlsplit

from opentelemetry.trace import get_current_span
from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = ("update_id", "chat_id", "user_id", "handler", "correlation_id")
_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)

# Bot API URLs carry the token in the path (".../bot123:ABC/sendMessage"); httpx logs them.
TOKEN_PATTERN = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{20,100}")
# The password of any URL with credentials: mongodb://user:PASSWORD@host, redis://:PASSWORD@host.
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*:)[^@/\s]+(?=@)")
SECRET_VARIABLE = re.compile(r"(PASSWORD|SECRET|TOKEN)$")
REDACTED = "<redacted>"
# Shorter values are not secrets worth the name, and replacing them would garble every record.
MIN_SECRET_LENGTH = 4
# The attributes every LogRecord has; any other attribute came in through ``extra``.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


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
        context = _context.get() or {}
        for key, value in context.items():
            setattr(record, key, value)
        # Logged inside a trace (tracing on, bot/infra/tracing.py): its ids, and the trace id is
        # the correlation id, so one search finds the update's lines in every tier.
        span = get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id = trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
            if "correlation_id" not in context:
                record.correlation_id = trace_id
        return True


def secret_forms(values: Iterable[str | None]) -> list[str]:
    """Each value; for a URL, only one with credentials, whole and its password as written and
    decoded (a URL without a password names no secret and stays readable in the logs)."""
    found: list[str] = []
    for value in values:
        if not value:
            continue
        if "://" not in value:
            found.append(value)
            continue
        try:
            password = urlsplit(value).password
        except ValueError:
            password = None
        if password:
            found.extend({value, password, unquote(password)})
    return found


def environment_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """The secrets in a process environment: ``*PASSWORD``/``*SECRET``/``*TOKEN`` variables and
    the credentials of ``*_URL`` variables."""
    env = os.environ if environ is None else environ
    return secret_forms(
        value
        for name, value in env.items()
        if SECRET_VARIABLE.search(name) or (name.endswith("_URL") and "@" in value)
    )


class SecretScrubber(logging.Filter):
    """Last line of defence: whatever a library logs, a secret never leaves."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        unique = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        # Longest first: a URL goes whole before the password inside it is looked for.
        self._secrets = sorted(unique, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = URL_PASSWORD.sub(lambda match: match.group("head") + REDACTED, text)
        return TOKEN_PATTERN.sub(REDACTED, text)

    def _scrub_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {key: self._scrub_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._scrub_value(item) for item in value)
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.scrub(str(value))  # anything else is logged by its text: scrub that

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRIBUTES:
                setattr(record, key, self._scrub_value(value))
        return True


def install_scrubber(scrubber: SecretScrubber) -> None:
    """Put ``scrubber`` on every handler of every logger configured now (replacing an earlier
    one): the root's, and those of loggers that do not propagate (uvicorn, gunicorn)."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers.extend(
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    )
    for logger in loggers:
        for handler in logger.handlers:
            for old in [f for f in handler.filters if isinstance(f, SecretScrubber)]:
                handler.removeFilter(old)
            handler.addFilter(scrubber)


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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_scrubber(SecretScrubber([*secret_forms(secrets or []), *environment_secrets()]))
    # httpx logs every request URL at INFO: too chatty, and the URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
