"""The pure parts of the request layer: which chat a call targets, outcomes, ``retry_after``."""

from __future__ import annotations

import pytest
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.infra.telegram.request import (
    SENDING_METHODS,
    classify,
    is_group_chat,
    retry_after_s,
    target_chat,
)
from bot.services.ports.ephemeral import TelegramCallOutcome


def _data(**parameters: object) -> RequestData:
    return RequestData([RequestParameter(name, value, None) for name, value in parameters.items()])


def test_target_chat_reads_the_destination() -> None:
    assert target_chat(_data(chat_id=42, text="hi")) == 42
    assert target_chat(_data(chat_id=-100123, from_chat_id=5, message_id=1)) == -100123
    assert target_chat(_data(chat_id="-100123")) == -100123
    assert target_chat(_data(chat_id="@fok_news")) == "@fok_news"
    assert target_chat(_data(callback_query_id="7")) is None
    assert target_chat(None) is None


def test_groups_channels_and_usernames_count_as_groups() -> None:
    assert is_group_chat(-100123)
    assert is_group_chat("@fok_news")
    assert not is_group_chat(42)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, TelegramCallOutcome.OK),
        (400, TelegramCallOutcome.CLIENT_ERROR),
        (403, TelegramCallOutcome.FORBIDDEN),
        (404, TelegramCallOutcome.CLIENT_ERROR),
        (429, TelegramCallOutcome.RATE_LIMITED),
        (502, TelegramCallOutcome.SERVER_ERROR),
    ],
)
def test_outcomes_are_a_bounded_set(status: int, outcome: TelegramCallOutcome) -> None:
    assert classify(status) is outcome


def test_retry_after_is_read_from_the_error_body() -> None:
    body = b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7",'
    assert retry_after_s(body + b'"parameters":{"retry_after":7}}') == 7.0
    assert retry_after_s(body[:-1] + b"}") is None
    assert retry_after_s(b"<html>bad gateway</html>") is None
    assert retry_after_s(b'{"parameters":{"retry_after":-1}}') is None


def test_sends_are_limited_and_edits_are_not() -> None:
    assert {"sendMessage", "sendDocument", "copyMessage", "forwardMessage"} <= SENDING_METHODS
    assert not {"editMessageText", "answerCallbackQuery", "sendChatAction"} & SENDING_METHODS
