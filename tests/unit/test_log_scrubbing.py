"""The bot token and configured secrets never leave the process in a log record."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.infra.logs import bind, clear, configure_logging

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_json_records_carry_context_and_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_logging(instance="bot-2", secrets=["webhook-secret-value"])
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    monkeypatch.setattr(handler, "stream", stream)
    bind(update_id=77, chat_id=5, user_id=5, handler="start", not_a_field="x")
    log = logging.getLogger("test")
    log.info(
        "POST https://api.telegram.org/bot%s/sendMessage secret=%s", TOKEN, "webhook-secret-value"
    )
    try:
        raise RuntimeError(f"failed with {TOKEN}")
    except RuntimeError:
        log.exception("boom")
    clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    assert TOKEN not in stream.getvalue()
    assert "webhook-secret-value" not in stream.getvalue()
    first = lines[0]
    assert first["instance"] == "bot-2"
    assert (first["update_id"], first["chat_id"], first["handler"]) == (77, 5, "start")
    assert "not_a_field" not in first
    assert "<redacted>" in first["message"]
    assert "RuntimeError" in lines[1]["exc_info"]
