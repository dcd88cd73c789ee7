"""Transient faults are told apart from bugs by the one classification in bot.infra.faults."""

from __future__ import annotations

import pytest
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    OperationFailure,
    ServerSelectionTimeoutError,
)
from redis.exceptions import ClusterDownError, MaxConnectionsError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut

from bot.domain.errors import NotFound
from bot.infra.faults import is_transient
from bot.services.ports.ephemeral import DialogStateConflict


@pytest.mark.parametrize(
    "error",
    [
        AutoReconnect("primary stepped down"),
        ServerSelectionTimeoutError("no servers"),
        RedisConnectionError("refused"),
        ClusterDownError("CLUSTERDOWN"),
        MaxConnectionsError("too many"),
        TimedOut(),
        RetryAfter(3),
        DialogStateConflict(1, 1, 1, 2),
        TimeoutError(),
        # What SecantusDB answers every write once its disk has filled up.
        OperationFailure("internal server error", code=1),
        OperationFailure("Out of disk space", code=14031),
        OperationFailure("not primary", code=10107),
        OperationFailure("shutting down", code=91),
        OperationFailure(
            "anything", code=999_999, details={"errorLabels": ["RetryableWriteError"]}
        ),
    ],
)
def test_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        DuplicateKeyError("dup"),
        DuplicateKeyError("dup", code=11000),
        # A query the server refuses (bad operator, failed validation) fails again when retried.
        OperationFailure("unknown operator: $bogus", code=2),
        OperationFailure("Document failed validation", code=121),
        ResponseError("WRONGTYPE"),
        BadRequest("can't parse entities"),
        Forbidden("bot was blocked by the user"),
        NotFound("x"),
        ValueError("bug"),
    ],
)
def test_not_transient(error: BaseException) -> None:
    assert not is_transient(error)
