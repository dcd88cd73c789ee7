"""The client API: acting as people and reading chats as they see them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from telegram_emulator import EmulatorServer, ManualClock
from telegram_emulator.client import EmulatorClient, EmulatorError
from tests.emulator.conftest import TOKEN, BotApiCaller, EmulatorFactory, connected


async def poll(bot_api: BotApiCaller, offset: int | None = None) -> list[dict[str, Any]]:
    params = {"timeout": 0} if offset is None else {"timeout": 0, "offset": offset}
    answer = await bot_api("getUpdates", **params)
    assert answer["ok"], answer
    updates: list[dict[str, Any]] = answer["result"]
    return updates


async def test_people_actions_become_updates(client: EmulatorClient, bot_api: BotApiCaller) -> None:
    anna = await client.create_user("Анна", "Иванова", "anna", "ru", phone_number="+79001112233")
    boris = await client.create_user("Boris", language_code="en")
    assert anna["id"] != boris["id"]
    assert boris["language_code"] == "en"
    await client.send_text(anna["id"], "/book 5 please /help")
    await client.send_contact(anna["id"])
    await client.send_contact(anna["id"], of_user_id=boris["id"])
    await client.send_contact(anna["id"], "+70000000001", foreign=True, first_name="Мама")
    await client.send_location(anna["id"], 55.75, 37.62)
    updates = await poll(bot_api)
    messages = [update["message"] for update in updates]
    assert messages[0]["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 5},
        {"type": "bot_command", "offset": 15, "length": 5},
    ]
    assert messages[1]["contact"] == {
        "phone_number": "+79001112233",
        "first_name": "Анна",
        "last_name": "Иванова",
        "user_id": anna["id"],
    }
    assert messages[2]["contact"]["user_id"] == boris["id"]
    assert "user_id" not in messages[3]["contact"]
    assert messages[4]["location"] == {"latitude": 55.75, "longitude": 37.62}
    ids = [update["update_id"] for update in updates]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert await poll(bot_api, offset=ids[-1] + 1) == []
    assert (await client.counters())["pending"] == 0


async def test_button_press_must_match_what_the_message_shows(
    client: EmulatorClient, bot_api: BotApiCaller
) -> None:
    user = await client.create_user("Вера")
    await client.send_text(user["id"], "/start")
    sent = await bot_api(
        "sendMessage",
        chat_id=user["id"],
        text="Выберите",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    )
    message_id = sent["result"]["message_id"]
    with pytest.raises(EmulatorError, match="no button"):
        await client.press_button(user["id"], message_id, "b")
    query_id = await client.press_button(user["id"], message_id, "a")
    updates = await poll(bot_api)
    query = updates[-1]["callback_query"]
    assert query["id"] == query_id
    assert query["data"] == "a"
    assert query["message"]["message_id"] == message_id
    assert query["from"]["id"] == user["id"]


async def test_chat_view_shows_edits_deletes_keyboards_and_documents(
    make_emulator: EmulatorFactory,
) -> None:
    clock = ManualClock()
    async with make_emulator(clock=clock) as server, connected(server) as (client, bot_api):
        user = await client.create_user("Гена")
        await client.send_text(user["id"], "/start")
        reply_keyboard = {
            "keyboard": [[{"text": "📱 Отправить номер", "request_contact": True}], ["Отмена"]],
            "resize_keyboard": True,
            "one_time_keyboard": True,
        }
        await bot_api(
            "sendMessage",
            chat_id=user["id"],
            text="Поделитесь номером",
            reply_markup=reply_keyboard,
        )
        keyboard = await client.reply_keyboard(user["id"])
        assert keyboard is not None
        assert keyboard["keyboard"][1] == [{"text": "Отмена"}]
        clock.advance(1)
        temporary = await bot_api("sendMessage", chat_id=user["id"], text="удалится")
        clock.advance(1)
        await bot_api(
            "deleteMessage", chat_id=user["id"], message_id=temporary["result"]["message_id"]
        )
        upload = await bot_api.http.post(
            f"{server.base_url}/bot{TOKEN}/sendDocument",
            data={"chat_id": str(user["id"]), "caption": "<i>Отчёт</i>", "parse_mode": "HTML"},
            files={"document": ("report.xlsx", b"PK\x03\x04xlsx", "application/vnd.ms-excel")},
        )
        assert upload.status_code == 200
        await client.send_text(user["id"], "Отмена")
        assert await client.reply_keyboard(user["id"]) is None  # one-time keyboard hides
        chat = await client.chat(user["id"])
        assert [m["text"] for m in chat] == ["/start", "Поделитесь номером", "Отчёт", "Отмена"]
        document_message = chat[2]
        assert document_message["html"] == "<i>Отчёт</i>"
        assert document_message["document"]["file_name"] == "report.xlsx"
        assert await client.download(document_message) == b"PK\x03\x04xlsx"


async def test_duplicate_sends_are_counted(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with (
        make_emulator(clock=clock, duplicate_window=3.0) as server,
        connected(server) as (client, bot_api),
    ):
        user = await client.create_user("Дима")
        await client.send_text(user["id"], "/start")
        await bot_api("sendMessage", chat_id=user["id"], text="Меню")
        clock.advance(1)
        await bot_api("sendMessage", chat_id=user["id"], text="Меню")  # double processing
        clock.advance(5)
        await bot_api("sendMessage", chat_id=user["id"], text="Меню")  # outside the window
        await client.send_text(user["id"], "/start")
        clock.advance(1)
        await bot_api("sendMessage", chat_id=user["id"], text="Меню")  # answers a new request
        assert (await client.counters())["duplicate_sends_seen"] == 1


async def test_groups_wait_for_and_reset(client: EmulatorClient, bot_api: BotApiCaller) -> None:
    coach = await client.create_user("Тренер")
    member = await client.create_user("Участник")
    group = await client.create_group("Секция", [coach["id"], member["id"]])
    assert group["id"] < 0
    assert group["type"] == "group"
    await client.send_text(coach["id"], "всем привет", chat_id=group["id"])
    await bot_api("sendMessage", chat_id=group["id"], text="Привет, группа")
    message = await client.wait_for(
        coach["id"], lambda m: "группа" in m["text"], 2, chat_id=group["id"]
    )
    assert message["chat_id"] == group["id"]
    with pytest.raises(TimeoutError):
        await client.wait_for(coach["id"], 1, timeout=0.3)  # nothing in the private chat
    with pytest.raises(TimeoutError):
        await client.wait_idle(0.2)  # the group message was never fetched
    await client.reset()
    await client.wait_idle(1)
    counters = await client.counters()
    assert counters["sent"] == 0
    assert counters["pending"] == 0
    assert (await client.chat_state(group["id"]))["messages"] == []
    assert len(await client.users()) == 2  # people survive a reset


async def test_blocked_user_cannot_write_and_bot_learns_of_it(
    client: EmulatorClient, bot_api: BotApiCaller
) -> None:
    user = await client.create_user("Лена")
    await client.send_text(user["id"], "/start")
    await client.block_bot(user["id"])
    with pytest.raises(EmulatorError) as refused:
        await client.send_text(user["id"], "hello?")
    assert refused.value.error_code == 409
    await client.unblock_bot(user["id"])
    updates = await poll(bot_api)
    kinds = [next(key for key in update if key != "update_id") for update in updates]
    assert kinds == ["message", "my_chat_member", "my_chat_member"]
    statuses = [u["my_chat_member"]["new_chat_member"]["status"] for u in updates[1:]]
    assert statuses == ["kicked", "member"]


async def test_long_poll_get_updates_wakes_on_new_update(
    emulator: EmulatorServer, client: EmulatorClient, bot_api: BotApiCaller
) -> None:
    user = await client.create_user("Поллер")
    waiting = asyncio.create_task(bot_api("getUpdates", timeout=10))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await client.send_text(user["id"], "/start")
    answer = await asyncio.wait_for(waiting, 5)
    assert answer["result"][0]["message"]["text"] == "/start"


async def test_a_second_poller_terminates_the_first(
    client: EmulatorClient, bot_api: BotApiCaller
) -> None:
    first = asyncio.create_task(bot_api("getUpdates", timeout=10))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(bot_api("getUpdates", timeout=1))
    refused = await asyncio.wait_for(first, 5)
    assert refused["error_code"] == 409
    assert refused["description"] == (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    )
    assert (await second)["ok"]
