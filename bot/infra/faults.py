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

# Server-side failures of a MongoDB operation that say nothing about the request: the server
# shutting down or stepping down, out of disk, or broken inside (a full disk leaves the storage
# engine refusing every write until an operator frees space and restarts it). The same write may
# succeed later, so the update is answered 5xx and redelivered instead of losing the write.
# (The codes PyMongo itself retries writes on: ``pymongo.helpers_shared._RETRYABLE_ERROR_CODES``.)
_MONGO_INTERNAL_ERROR = 1
_MONGO_OUT_OF_DISK_SPACE = 14031
_MONGO_TRANSIENT_CODES = frozenset(
    {6, 7, 89, 91, 134, 189, 262, 9001, 10058, 10107, 11600, 11602, 13435, 13436}
    | {_MONGO_INTERNAL_ERROR, _MONGO_OUT_OF_DISK_SPACE}
)


def _is_transient_mongo_failure(error: BaseException) -> bool:
    if not isinstance(error, pymongo.errors.OperationFailure):
        return False
    if isinstance(error, pymongo.errors.DuplicateKeyError):
        return False
    return error.code in _MONGO_TRANSIENT_CODES or error.has_error_label("RetryableWriteError")


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
        if isinstance(cause, _TRANSIENT) or _is_transient_mongo_failure(cause):
            return True
    return False
