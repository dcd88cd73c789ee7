"""Which failures are transient, and how a handler's transient failure reaches the web tier.

PTB's ``Application.process_update`` never lets a handler's exception escape: it hands it to the
error handlers and logs whatever they raise. Yet a transient infrastructure fault (MongoDB or Redis
unreachable, Telegram timing out) must make the webhook answer 5xx so that Telegram delivers the
update again (design §4 rule 2). So the error handler records the fault in a context variable of
the task processing the update, and :func:`process_update_or_raise` (what the web tier awaits)
raises :class:`TransientFailure` once ``process_update`` returns.
"""

from __future__ import annotations

import contextvars
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter

from bot.services.ports.ephemeral import DialogStateConflict

# Matched by class name and module so that this layer needs no driver imports (import-linter).
_TRANSIENT_DRIVER_ERRORS = {
    "pymongo": {
        "ConnectionFailure",
        "AutoReconnect",
        "NetworkTimeout",
        "ServerSelectionTimeoutError",
        "ExecutionTimeout",
        "WTimeoutError",
    },
    "redis": {
        "ConnectionError",
        "TimeoutError",
        "BusyLoadingError",
        "ClusterDownError",
        "TryAgainError",
        "MasterDownError",
        "MaxConnectionsError",
        "ClusterError",
    },
}


class TransientFailure(Exception):
    """Processing an update hit a transient fault; answer non-2xx so Telegram retries it."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"transient failure: {type(cause).__name__}")
        self.cause = cause


def is_transient(error: BaseException) -> bool:
    if isinstance(error, BadRequest):
        return False  # PTB derives it from NetworkError, but repeating the request cannot help
    if isinstance(error, TransientFailure | RetryAfter | NetworkError | DialogStateConflict):
        return True
    if isinstance(error, TimeoutError | ConnectionError):
        return True
    for cls in type(error).__mro__:
        package = cls.__module__.split(".", 1)[0]
        if cls.__name__ in _TRANSIENT_DRIVER_ERRORS.get(package, ()):
            return True
    return False


_transient: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar(
    "fok_transient_failures", default=None
)


def record_transient(error: BaseException) -> bool:
    """Remember ``error`` for the web tier; False when nobody asked (e.g. a test calling PTB)."""
    sink = _transient.get()
    if sink is None:
        return False
    sink.append(error)
    return True


async def process_update_or_raise(application: Any, update: Any) -> None:
    """``await application.process_update(update)``, raising TransientFailure on a transient fault.

    Handlers must run blocking (the default): a non-blocking handler would run in another task,
    outside this context variable.
    """
    sink: list[BaseException] = []
    token = _transient.set(sink)
    try:
        await application.process_update(update)
    finally:
        _transient.reset(token)
    if sink:
        raise TransientFailure(sink[0]) from sink[0]
