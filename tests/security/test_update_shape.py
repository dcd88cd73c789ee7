"""The shape check of bot.web.shape: what Telegram could have sent passes, nothing else does."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bot.web.shape import problem
from bot.web.webhook import parse_update

SENDER = {"id": 100001, "is_bot": False, "first_name": "Анна", "language_code": "ru"}
MESSAGE = {
    "message_id": 5,
    "date": 1_795_000_000,
    "chat": {"id": 100001, "type": "private", "first_name": "Анна"},
    "from": SENDER,
    "text": "/start",
    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
}
PRESS = {
    "id": "42",
    "from": SENDER,
    "message": {**MESSAGE, "from": {"id": 7, "is_bot": True, "first_name": "ФОК"}},
    "chat_instance": "1",
    "data": "\U0001f3ca" * 16,  # 64 bytes of 4-byte emoji: the edge, allowed
}


def update(kind: str, body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    found = {"update_id": 9, kind: copy.deepcopy(body)}
    for dotted, value in changes.items():
        target = found[kind]
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return found


def test_what_telegram_sends_passes() -> None:
    assert problem(update("message", MESSAGE), "message") is None
    assert problem(update("callback_query", PRESS), "callback_query") is None
    rtl = update("message", MESSAGE, text="\u200f\u202eمرحبا\u200b\u200d👨‍👩‍👧", entities=[])
    assert problem(rtl, "message") is None
    channel_post = update("message", MESSAGE)
    del channel_post["message"]["from"]
    assert problem(channel_post, "message") is None
    future_field = update("message", MESSAGE, brand_new_field={"anything": [1, "x"]})
    assert problem(future_field, "message") is None


@pytest.mark.parametrize("junk", ["", {}, [], True, 1.5, "100001", None, 0, -1, 1 << 52])
def test_a_sender_id_of_the_wrong_type_or_range_is_malformed(junk: Any) -> None:
    """The fuzz probe that stored users keyed "", {} and []: refused before any handler."""
    for kind, body in (("message", MESSAGE), ("callback_query", PRESS)):
        found = problem(update(kind, body, from__id=junk), kind)
        assert found is not None
        assert found.startswith(f"{kind}.from.id: ")
        assert repr(junk) not in found or junk in ("", None)  # the reason, never the value


@pytest.mark.parametrize(
    ("kind", "changes", "reason"),
    [
        ("message", {"text": "x" * 4097}, "message.text: longer than 4096 characters"),
        ("message", {"text": 5}, "message.text: not a string"),
        ("message", {"text": "a\ud800"}, "message.text: not valid Unicode (lone surrogate)"),
        ("message", {"chat": "100001"}, "message.chat: not an object"),
        ("message", {"entities": {}}, "message.entities: not an array"),
        ("message", {"entities": [{"type": "x", "offset": "0", "length": 1}]}, "offset"),
        ("message", {"location": {"latitude": 91, "longitude": 0}}, "number out of range"),
        ("message", {"date": True}, "message.date: not an integer"),
        ("callback_query", {"data": "\U0001f3ca" * 16 + "x"}, "longer than 64 bytes"),
        ("callback_query", {"data": ["mn:h"]}, "callback_query.data: not a string"),
        ("callback_query", {"message": []}, "callback_query.message: not an object"),
    ],
)
def test_fields_the_handlers_read_are_checked(
    kind: str, changes: dict[str, Any], reason: str
) -> None:
    body = MESSAGE if kind == "message" else PRESS
    found = problem(update(kind, body, **changes), kind)
    assert found is not None
    assert reason in found


def test_depth_surrogates_and_json_constants_anywhere() -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = [deep]
    assert "nested deeper than 32" in str(
        problem(update("message", MESSAGE, extra=deep), "message")
    )
    lone = update("message", MESSAGE)
    lone["message"]["unknown\udc00"] = 1
    assert "lone surrogate" in str(problem(lone, "message"))
    assert parse_update(b'{"update_id": 1, "message": {"x": NaN}}') is None
    assert parse_update(b"[" * 100_000) is None  # deeper than the parser recurses: no 500


def test_the_webhook_parse_step_carries_the_problem() -> None:
    body = json.dumps(update("message", MESSAGE, from__id="")).encode()
    parsed = parse_update(body)
    assert parsed is not None
    assert parsed.malformed == "message.from.id: not an integer"
    ok = parse_update(json.dumps(update("message", MESSAGE)).encode())
    assert ok is not None
    assert ok.malformed is None
