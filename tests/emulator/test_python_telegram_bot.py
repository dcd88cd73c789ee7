"""python-telegram-bot itself, pointed at the emulator through its base URL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageEntityType
from telegram.error import BadRequest, Forbidden, RetryAfter

from telegram_emulator import ManualClock
from telegram_emulator.client import EmulatorClient
from tests.emulator.conftest import TOKEN, EmulatorFactory, running_ptb_bot


# PTB 22 warns that RetryAfter.retry_after will become a timedelta; both forms are handled here.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_ptb_sends_edits_answers_and_gets_telegrams_exceptions(
    make_emulator: EmulatorFactory,
) -> None:
    clock = ManualClock()
    async with (
        make_emulator(clock=clock) as server,
        EmulatorClient(server.base_url, TOKEN) as client,
    ):
        user = await client.create_user("Пётр", username="petr")
        await client.send_text(user["id"], "/start")
        bot = Bot(TOKEN, base_url=server.bot_api_base, base_file_url=server.file_base)
        async with bot:
            assert bot.username == "emulated_123456_bot"
            message = await bot.send_message(
                user["id"],
                "<b>Бассейн</b> в 10:00",
                parse_mode="HTML",
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("Записаться", callback_data="book:42")]]
                ),
            )
            assert message.text == "Бассейн в 10:00"
            assert message.entities[0].type == MessageEntityType.BOLD
            assert message.reply_markup is not None

            query_id = await client.press_button(user["id"], message.message_id, "book:42")
            assert await bot.answer_callback_query(query_id, text="Готово", show_alert=True)
            answer = await client.last_callback_answer(user["id"])
            assert answer is not None
            assert answer["text"] == "Готово"
            assert answer["show_alert"]

            edited = await bot.edit_message_text(
                "Вы записаны", chat_id=user["id"], message_id=message.message_id
            )
            assert not isinstance(edited, bool)
            assert edited.edit_date is not None
            with pytest.raises(BadRequest, match="Message is not modified"):
                await bot.edit_message_text(
                    "Вы записаны", chat_id=user["id"], message_id=message.message_id
                )

            with pytest.raises(RetryAfter) as flood:
                await bot.send_message(user["id"], "второе сообщение в ту же секунду")
            retry_after = flood.value.retry_after
            seconds = (
                retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
            )
            assert seconds == 1

            clock.advance(1)
            document = await bot.send_document(
                user["id"],
                document=b"id;name\n1;Olymp\n",
                filename="complexes.csv",
                caption="Экспорт",
            )
            assert document.document is not None
            assert document.document.file_name == "complexes.csv"
            telegram_file = await bot.get_file(document.document.file_id)
            assert bytes(await telegram_file.download_as_bytearray()) == b"id;name\n1;Olymp\n"

            clock.advance(1)
            with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
                await bot.send_message(user["id"], "1 < 2", parse_mode="HTML")

            await client.block_bot(user["id"])
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.send_message(user["id"], "вы нас заблокировали")

        seen = await client.chat(user["id"])
        assert [(m["from_bot"], m["text"]) for m in seen] == [
            (False, "/start"),
            (True, "Вы записаны"),
            (True, "Экспорт"),
        ]
        assert seen[1]["edited"]
        assert seen[2]["document"]["file_name"] == "complexes.csv"


async def test_ptb_application_polls_and_answers(make_emulator: EmulatorFactory) -> None:
    async with make_emulator() as server, EmulatorClient(server.base_url, TOKEN) as client:
        user = await client.create_user("Ольга")
        async with running_ptb_bot(server.base_url):
            await client.send_text(user["id"], "/start")
            greeting = await client.wait_for(user["id"], 1, timeout=10)
            assert greeting["text"] == "Здравствуйте, Ольга!"
            assert greeting["html"] == "Здравствуйте, <b>Ольга</b>!"
            await client.press_button(user["id"], greeting["message_id"], "book:1")
            edited = await client.wait_for(
                user["id"], lambda m: m["text"].startswith("Запись подтверждена"), timeout=10
            )
            assert edited["edited"]
            assert edited["reply_markup"] is None
            assert (await client.last_callback_answer(user["id"]) or {})["text"] == "Вы записаны"
            await client.wait_idle(10)
        counters = await client.counters()
        assert counters["sent"] == 1
        assert counters["edits"] == 1
        assert counters["callback_answers"] == 1
        assert counters["polled_updates"] == 2
        assert counters["pending"] == 0
