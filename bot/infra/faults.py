"""The one classification of failures: transient (a retry may succeed) or permanent.

The web tier answers 5xx for a transient fault so that Telegram delivers the update again, and
200 for anything else, because Telegram retries every non-2xx answer for a long time (design §4
rule 2). Driver errors are told apart here, by their classes, where the drivers may be imported.
"""

from __future__ import annotations

from collections.abc import Iterator

import pymongo.errors
import redis.exceptions
import telegram.error

from bot.services.ports.ephemeral import DialogStateConflict, OutboundWaitTooLong

_TRANSIENT: tuple[type[BaseException], ...] = (
    pymongo.errors.ConnectionFailure,  # AutoReconnect, NetworkTimeout, ServerSelectionTimeout
    pymongo.errors.ExecutionTimeout,
    pymongo.errors.WTimeoutError,
    redis.exceptions.ConnectionError,  # MaxConnectionsError derives from it
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.ClusterError,  # ClusterDownError, MasterDownError
    redis.exceptions.TryAgainError,
    telegram.error.RetryAfter,
    telegram.error.NetworkError,  # TimedOut; BadRequest is excluded below
    DialogStateConflict,
    OutboundWaitTooLong,
    TimeoutError,
    ConnectionError,
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_transient(error: BaseException) -> bool:
    """True when the error, or what caused it, is a fault a later retry may not meet again.

    A Bot API ``BadRequest`` is never transient even though PTB derives it from ``NetworkError``:
    the same request would be refused again, and a 5xx would make Telegram redeliver for hours.
    """
    for cause in _causes(error):
        if isinstance(cause, telegram.error.BadRequest):
            return False
        if isinstance(cause, _TRANSIENT):
            return True
    return False
