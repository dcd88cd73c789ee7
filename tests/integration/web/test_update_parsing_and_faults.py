"""Pure parts of the web tier: what counts as an update, and which faults are worth a retry."""

from __future__ import annotations

import json

import pymongo.errors
import pytest
import redis.exceptions
from telegram.error import BadRequest, Forbidden, TimedOut

from bot.infra.faults import is_transient
from bot.web.webhook import parse_update


def test_a_message_update_is_parsed_with_its_type_chat_and_user() -> None:
    body = {
        "update_id": 7,
        "message": {"chat": {"id": -100}, "from": {"id": 42}, "text": "hi"},
    }
    parsed = parse_update(json.dumps(body).encode())
    assert parsed is not None
    assert (parsed.update_id, parsed.update_type) == (7, "message")
    assert parsed.chat_and_user() == (-100, 42)


def test_a_callback_query_takes_its_chat_from_the_message() -> None:
    body = {
        "update_id": 8,
        "callback_query": {"from": {"id": 5}, "message": {"chat": {"id": 5}}, "data": "x"},
    }
    parsed = parse_update(json.dumps(body).encode())
    assert parsed is not None
    assert parsed.chat_and_user() == (5, 5)


@pytest.mark.parametrize(
    "body",
    [b"", b"null", b"1", b'{"update_id": true, "message": {}}', b'{"update_id": 1.5}'],
)
def test_bodies_without_an_integer_update_id_are_not_updates(body: bytes) -> None:
    assert parse_update(body) is None


@pytest.mark.parametrize(
    "body",
    [
        {"update_id": 1},
        {"update_id": 1, "brand_new_kind": {}},
        {"update_id": 1, "message": "not an object"},
        {"update_id": 1, "message": {}, "edited_message": {}},
    ],
)
def test_unknown_or_ambiguous_kinds_have_no_type(body: dict[str, object]) -> None:
    parsed = parse_update(json.dumps(body).encode())
    assert parsed is not None
    assert parsed.update_type is None


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("down"),
        redis.exceptions.MaxConnectionsError("pool full"),
        pymongo.errors.ServerSelectionTimeoutError("no primary"),
        TimedOut(),
    ],
)
def test_infrastructure_faults_are_transient(error: BaseException) -> None:
    assert is_transient(error)


def test_a_fault_wrapped_in_another_error_is_still_transient() -> None:
    wrapped = RuntimeError("booking failed")
    wrapped.__cause__ = pymongo.errors.AutoReconnect("primary stepped down")
    assert is_transient(wrapped)


@pytest.mark.parametrize(
    "error",
    [BadRequest("Can't parse entities"), Forbidden("bot was blocked"), ValueError("bug")],
)
def test_permanent_faults_are_not_transient(error: BaseException) -> None:
    # BadRequest derives from PTB's NetworkError, yet retrying the same request cannot help.
    assert not is_transient(error)
