"""The harness's own checks can fail: the recording Bot API refuses what Telegram refuses, a
handler error or a refused call fails the step, and errors reach the user the product's way."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.services.ports.ephemeral import DialogStateConflict
from bot.telegram.texts import t
from tests.handlers.harness import BotHarness, HandlerError


async def test_the_bot_api_refuses_what_telegram_refuses(harness: BotHarness) -> None:
    anna = harness.person("Анна")
    bot = harness.bot
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(anna.id, "<b>unclosed", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(anna.id, "я" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(anna.id, "<b> </b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "кому?")
    too_long = InlineKeyboardButton("x", callback_data="y" * 65)
    with pytest.raises(BadRequest, match=r"(?i)button"):
        await bot.send_message(anna.id, "кнопка", reply_markup=InlineKeyboardMarkup([[too_long]]))

    sent = await bot.send_message(anna.id, "<b>Привет</b>", parse_mode=ParseMode.HTML)
    assert sent.text == "Привет"  # what the user sees, with the bold as an entity
    assert sent.entities[0].type == "bold"
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("<b>Привет</b>", anna.id, sent.message_id, parse_mode="HTML")
    edited = await bot.edit_message_text("Пока", anna.id, sent.message_id)
    assert isinstance(edited, object)
    assert anna.last.text == "Пока"
    refused = [c.method for c in harness.api.calls if c.error is not None]
    assert refused == ["sendMessage"] * 5 + ["editMessageText"]


async def test_a_callback_query_is_answered_once(harness: BotHarness) -> None:
    anna = harness.person("Анна")
    menu = await anna.say("/menu")
    assert menu.screen is not None
    harness.api.callback_query("q-manual", anna.id, menu.screen.id, "1|hp|h")
    assert await harness.bot.answer_callback_query("q-manual") is True
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await harness.bot.answer_callback_query("q-manual")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await harness.bot.answer_callback_query("never-sent")


async def test_a_handler_error_fails_the_step_and_the_user_gets_an_apology(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = await harness.resident("Анна")
    menu = await anna.say("/menu")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.services.catalog, "districts", broken)
    monkeypatch.setattr(harness.services.catalog, "nearest", broken)
    with pytest.raises(HandlerError, match="a bug"):
        await anna.press(menu, "Каталог ФОК")
    apologised = await anna.share_location(56.2, 43.8, expect_errors=True)
    assert apologised.text == t("ru", "refuse.internal")
    assert isinstance(harness.errors[-1], RuntimeError)
    assert "Команды: /start, /menu, /help" in (await anna.say("/help")).text


async def test_a_transient_fault_gets_no_apology(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Transient faults are for the web tier to answer 5xx (Telegram redelivers): no reply."""
    anna = await harness.resident("Анна")

    async def conflict(*args: object, **kwargs: object) -> None:
        raise DialogStateConflict(anna.id, anna.id, 1, 2)

    monkeypatch.setattr(harness.dialogs, "set_if_version", conflict)
    reply = await anna.say("/start", expect_errors=True)
    assert reply.calls == []
    assert isinstance(harness.errors[-1], DialogStateConflict)
