"""Flood limits: 429 with retry_after per chat, per group and per bot, against a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram_emulator import ManualClock
from telegram_emulator.client import EmulatorClient
from tests.emulator.conftest import BotApiCaller, EmulatorFactory, connected


@asynccontextmanager
async def limited(
    make_emulator: EmulatorFactory, clock: ManualClock, **config: Any
) -> AsyncIterator[tuple[EmulatorClient, BotApiCaller]]:
    async with make_emulator(clock=clock, **config) as server, connected(server) as pair:
        yield pair


async def started(client: EmulatorClient, name: str = "User") -> int:
    user = await client.create_user(name)
    await client.send_text(user["id"], "/start")
    return int(user["id"])


async def test_one_message_per_second_per_chat(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock) as (client, bot_api):
        chat_id = await started(client)
        other_chat = await started(client, "Other")
        assert (await bot_api("sendMessage", chat_id=chat_id, text="1"))["ok"]
        refused = await bot_api("sendMessage", chat_id=chat_id, text="2")
        assert refused == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
        assert (await bot_api("sendMessage", chat_id=other_chat, text="1"))["ok"]
        clock.advance(0.5)
        assert (await bot_api("sendMessage", chat_id=chat_id, text="2"))["error_code"] == 429
        clock.advance(0.5)
        assert (await bot_api("sendMessage", chat_id=chat_id, text="2"))["ok"]
        counters = await client.counters()
        assert counters["sent"] == 3
        assert counters["rejected_429"] == 2
        assert [m["text"] for m in await client.bot_messages(chat_id)] == ["1", "2"]


async def test_configured_chat_rate_and_burst(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock, chat_rate=0.25, chat_burst=3) as (client, bot_api):
        chat_id = await started(client)
        for number in range(3):
            assert (await bot_api("sendMessage", chat_id=chat_id, text=str(number)))["ok"]
        refused = await bot_api("sendMessage", chat_id=chat_id, text="4")
        assert refused["parameters"]["retry_after"] == 4  # one token per 4 s
        clock.advance(4)
        assert (await bot_api("sendMessage", chat_id=chat_id, text="4"))["ok"]


async def test_edits_and_answers_do_not_count_by_default(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock) as (client, bot_api):
        chat_id = await started(client)
        sent = await bot_api(
            "sendMessage",
            chat_id=chat_id,
            text="v0",
            reply_markup={"inline_keyboard": [[{"text": "b", "callback_data": "b"}]]},
        )
        message_id = sent["result"]["message_id"]
        for version in range(1, 4):
            edit = await bot_api(
                "editMessageText", chat_id=chat_id, message_id=message_id, text=f"v{version}"
            )
            assert edit["ok"]


async def test_edits_count_when_enabled(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock, count_edits_in_chat_limit=True) as (client, bot_api):
        chat_id = await started(client)
        sent = await bot_api("sendMessage", chat_id=chat_id, text="v0")
        edit = await bot_api(
            "editMessageText", chat_id=chat_id, message_id=sent["result"]["message_id"], text="v1"
        )
        assert edit["error_code"] == 429


async def test_twenty_messages_per_minute_per_group(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock) as (client, bot_api):
        member = await started(client)
        group = await client.create_group("Тренеры", [member])
        await client.send_text(member, "привет", chat_id=group["id"])
        for number in range(20):
            answer = await bot_api("sendMessage", chat_id=group["id"], text=f"m{number}")
            assert answer["ok"], answer
            clock.advance(1.0)
        refused = await bot_api("sendMessage", chat_id=group["id"], text="m20")
        # The first of the 20 went out at t=0, so the window frees a slot at t=60.
        assert refused["error_code"] == 429
        assert refused["parameters"]["retry_after"] == 40
        clock.advance(39)
        assert (await bot_api("sendMessage", chat_id=group["id"], text="m20"))["error_code"] == 429
        clock.advance(1)
        assert (await bot_api("sendMessage", chat_id=group["id"], text="m20"))["ok"]


async def test_global_rate_per_bot(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock, global_rate=5) as (client, bot_api):
        chats = [await started(client, f"U{number}") for number in range(7)]
        results = [await bot_api("sendMessage", chat_id=chat, text="hi") for chat in chats]
        assert [result["ok"] for result in results] == [True] * 5 + [False] * 2
        assert results[5]["error_code"] == 429
        assert results[5]["parameters"]["retry_after"] == 1
        clock.advance(0.2)
        assert (await bot_api("sendMessage", chat_id=chats[5], text="hi"))["ok"]
        assert (await bot_api("sendMessage", chat_id=chats[6], text="hi"))["error_code"] == 429


async def test_refused_sends_consume_nothing(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock, global_rate=2) as (client, bot_api):
        first, second = await started(client, "A"), await started(client, "B")
        assert (await bot_api("sendMessage", chat_id=first, text="1"))["ok"]
        for _ in range(5):  # per-chat refusals must not drain the global budget
            assert (await bot_api("sendMessage", chat_id=first, text="x"))["error_code"] == 429
        assert (await bot_api("sendMessage", chat_id=second, text="1"))["ok"]


async def test_paid_broadcasts_have_their_own_budget_beyond_the_global_one(
    make_emulator: EmulatorFactory,
) -> None:
    """``allow_paid_broadcast`` (Bot API 7.11): up to ``paid_broadcast_rate`` a second instead
    of the global limit; the per-chat limit still holds, and the paid sends are counted."""
    clock = ManualClock()
    async with limited(make_emulator, clock, global_rate=2, paid_broadcast_rate=6) as (
        client,
        bot_api,
    ):
        chats = [await started(client, f"User {n}") for n in range(7)]

        async def paid(chat_id: int) -> dict[str, Any]:
            answer: dict[str, Any] = await bot_api(
                "sendMessage", chat_id=chat_id, text="paid", allow_paid_broadcast=True
            )
            return answer

        for chat_id in chats[:5]:  # more than the global budget of 2 at one instant
            assert (await paid(chat_id))["ok"]
        assert (await paid(chats[0]))["error_code"] == 429  # one a second per chat, paid or not
        assert (await paid(chats[5]))["ok"]  # the sixth paid one
        assert (await paid(chats[6]))["error_code"] == 429  # the paid budget is spent
        # ... and the global one was not touched by them.
        assert (await bot_api("sendMessage", chat_id=chats[6], text="free"))["ok"]
        counters = await client.counters()
        assert counters["paid_broadcasts"] == 6
        assert counters["sent"] == 7
        assert counters["rejected_429"] == 2
