"""Transient faults are told apart from bugs, and reach the web tier through process_update."""

from __future__ import annotations

import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError, ServerSelectionTimeoutError
from redis.exceptions import ClusterDownError, MaxConnectionsError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut

from bot.domain.errors import NotFound
from bot.services.ports.ephemeral import DialogStateConflict
from bot.telegram.errors import (
    TransientFailure,
    is_transient,
    process_update_or_raise,
    record_transient,
)


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


class FakeApplication:
    """Stands in for PTB's Application: its error handler records what it saw."""

    def __init__(self, error: BaseException | None) -> None:
        self._error = error

    async def process_update(self, update: object) -> None:
        if self._error is not None:
            record_transient(self._error)


async def test_a_recorded_transient_fault_is_raised_after_processing() -> None:
    cause = AutoReconnect("gone")
    with pytest.raises(TransientFailure) as raised:
        await process_update_or_raise(FakeApplication(cause), object())
    assert raised.value.cause is cause
    await process_update_or_raise(FakeApplication(None), object())


def test_recording_outside_a_request_is_reported_not_kept() -> None:
    assert record_transient(AutoReconnect("x")) is False
