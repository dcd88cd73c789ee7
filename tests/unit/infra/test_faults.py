"""Transient faults are told apart from bugs by the one classification in bot.infra.faults."""

from __future__ import annotations

import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError, ServerSelectionTimeoutError
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
    ],
)
def test_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        DuplicateKeyError("dup"),
        ResponseError("WRONGTYPE"),
        BadRequest("can't parse entities"),
        Forbidden("bot was blocked by the user"),
        NotFound("x"),
        ValueError("bug"),
    ],
)
def test_not_transient(error: BaseException) -> None:
    assert not is_transient(error)
