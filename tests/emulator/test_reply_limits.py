"""Replies and bulk sends: which of a bot's sends Telegram's global rate applies to, and the caps.

A send into a chat the bot received an update from (delivered to its webhook right now, or handed
over within ``reply_window_s``) is a reply: only the per-chat and group limits hold it. Any other
send is bulk and also counts against ``global_rate``; ``all_sends_rate`` caps every send.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.responses import Response

from telegram_emulator import EmulatorConfig, ManualClock
from telegram_emulator.__main__ import config_from_args, parse_args
from telegram_emulator.client import EmulatorClient
from tests.emulator.conftest import TOKEN, BotApiCaller, EmulatorFactory, TlsFiles, WebhookReceiver
from tests.emulator.test_limits import limited
from tests.emulator.test_webhook import emulator_with_ca

WINDOW_S = 10.0


async def people(client: EmulatorClient, count: int, prefix: str) -> list[int]:
    """People who sent /start (so the bot may write to them); the bot has not seen it yet."""
    ids = []
    for number in range(count):
        user = await client.create_user(f"{prefix}{number}")
        await client.send_text(user["id"], "/start")
        ids.append(int(user["id"]))
    return ids


async def poll(bot_api: BotApiCaller, count: int) -> None:
    """The bot takes the ``count`` oldest pending updates with getUpdates."""
    answer = await bot_api("getUpdates", limit=count)
    assert len(answer["result"]) == count


async def send(bot_api: BotApiCaller, chat_id: int, **params: Any) -> dict[str, Any]:
    return await bot_api("sendMessage", chat_id=chat_id, text="ответ", **params)


async def test_replies_are_held_only_to_the_chat_limit(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock, global_rate=2, reply_window_s=WINDOW_S) as (
        client,
        bot_api,
    ):
        residents = await people(client, 6, "R")
        await poll(bot_api, 6)  # the bot received an update from each of them
        quiet = await people(client, 3, "Q")  # these it has not heard from

        for chat_id in residents:  # six replies at one instant: three times the global rate
            assert (await send(bot_api, chat_id))["ok"]
        refused = await send(bot_api, residents[0])
        assert refused["error_code"] == 429  # ... but one a second per chat still holds
        # Bulk sends still have their whole global budget: replies took none of it.
        assert [(await send(bot_api, chat_id))["ok"] for chat_id in quiet] == [True, True, False]

        counters = await client.counters()
        assert (counters["reply_sends"], counters["bulk_sends"], counters["sent"]) == (6, 2, 8)
        assert counters["rejected_429"] == 2
        assert (counters["rejected_429_chat"], counters["rejected_429_global"]) == (1, 1)
        assert counters["max_reply_sends_per_second"] == 6
        assert counters["max_bulk_sends_per_second"] == 2
        assert counters["max_sends_per_second"] == 8


async def test_the_reply_window_closes(make_emulator: EmulatorFactory) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock, global_rate=1, reply_window_s=WINDOW_S) as (
        client,
        bot_api,
    ):
        residents = await people(client, 3, "R")
        await poll(bot_api, 3)
        clock.advance(WINDOW_S)  # still within the window (it is inclusive)
        assert [(await send(bot_api, chat_id))["ok"] for chat_id in residents] == [True] * 3
        clock.advance(1.0)  # past it: the same chats now get bulk sends, one a second
        assert [(await send(bot_api, chat_id))["ok"] for chat_id in residents] == [
            True,
            False,
            False,
        ]
        counters = await client.counters()
        assert (counters["reply_sends"], counters["bulk_sends"]) == (3, 1)
        assert (counters["rejected_429_global"], counters["rejected_429_chat"]) == (2, 0)


async def test_every_limit_a_refusal_ran_out_of_is_counted(
    make_emulator: EmulatorFactory,
) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock, global_rate=1) as (client, bot_api):
        (chat_id,) = await people(client, 1, "B")
        assert (await send(bot_api, chat_id))["ok"]
        assert (await send(bot_api, chat_id))["error_code"] == 429  # the chat's and the bot's
        counters = await client.counters()
        assert counters["rejected_429"] == 1
        assert (counters["rejected_429_chat"], counters["rejected_429_global"]) == (1, 1)
        assert (counters["rejected_429_group"], counters["rejected_429_paid"]) == (0, 0)


async def test_replies_into_a_group_keep_its_twenty_a_minute(
    make_emulator: EmulatorFactory,
) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock, reply_window_s=120.0) as (client, bot_api):
        (member,) = await people(client, 1, "G")
        group = await client.create_group("Тренеры", [member])
        await client.send_text(member, "привет", chat_id=group["id"])
        await poll(bot_api, 2)
        for _ in range(20):
            assert (await send(bot_api, group["id"]))["ok"]
            clock.advance(1.0)
        assert (await send(bot_api, group["id"]))["error_code"] == 429
        counters = await client.counters()
        assert (counters["reply_sends"], counters["rejected_429_group"]) == (20, 1)
        assert counters["rejected_429_global"] == 0


async def test_all_sends_rate_caps_replies_and_paid_broadcasts_too(
    make_emulator: EmulatorFactory,
) -> None:
    clock = ManualClock()
    async with limited(make_emulator, clock, all_sends_rate=3, paid_broadcast_rate=100) as (
        client,
        bot_api,
    ):
        residents = await people(client, 4, "R")
        await poll(bot_api, 4)
        answers = [(await send(bot_api, chat_id))["ok"] for chat_id in residents]
        assert answers == [True, True, True, False]
        clock.advance(1.0)
        paid = [
            (await send(bot_api, chat_id, allow_paid_broadcast=True))["ok"] for chat_id in residents
        ]
        assert paid == [True, True, True, False]
        counters = await client.counters()
        assert (counters["reply_sends"], counters["paid_broadcasts"]) == (3, 3)
        assert counters["rejected_429_all_sends"] == 2
        assert counters["rejected_429_global"] == counters["rejected_429_paid"] == 0


async def test_sends_while_the_webhook_delivers_are_replies(
    make_emulator: EmulatorFactory, tls_files: TlsFiles, webhook_receiver: WebhookReceiver
) -> None:
    """A bot answering inside its webhook request, faster than the global rate: no 429. The
    window runs from the end of the delivery, however long the bot took."""
    clock = ManualClock()
    async with (
        emulator_with_ca(make_emulator, tls_files, clock=clock, global_rate=2) as (
            client,
            bot_api,
        ),
        httpx.AsyncClient(timeout=10) as http,
    ):
        answers: list[dict[str, Any]] = []

        async def answer(update: dict[str, Any], attempt: int) -> Response | None:
            chat_id = update["message"]["chat"]["id"]
            # A slow handler: longer than the window since the delivery began, still a reply.
            clock.advance(WINDOW_S + 1)
            url = f"{bot_api.base_url}/bot{TOKEN}/sendMessage"
            answers.append((await http.post(url, json={"chat_id": chat_id, "text": "ok"})).json())
            return None

        webhook_receiver.behaviour = answer
        residents = await people(client, 8, "W")
        await bot_api("setWebhook", url=webhook_receiver.url, max_connections=8)
        await client.wait_idle(10)

        assert len(answers) == 8
        assert all(one["ok"] for one in answers), answers
        counters = await client.counters()
        assert (counters["reply_sends"], counters["bulk_sends"], counters["rejected_429"]) == (
            8,
            0,
            0,
        )
        chat_of = {
            item.update["update_id"]: item.update["message"]["chat"]["id"]
            for item in webhook_receiver.received
        }
        last = max(await client.deliveries(), key=lambda delivery: delivery["finished_at"])
        clock.advance(WINDOW_S)  # the last delivery ended a window ago: still a reply there
        assert (await send(bot_api, chat_of[last["update_id"]]))["ok"]
        # After the window, a send into one of those chats is bulk again.
        clock.advance(1)
        assert [(await send(bot_api, chat_id))["ok"] for chat_id in residents[:3]] == [
            True,
            True,
            False,
        ]
        counters = await client.counters()
        assert (counters["reply_sends"], counters["rejected_429_global"]) == (9, 1)


def test_flags_and_their_checks() -> None:
    args = parse_args(
        ["--port", "1", "--token", TOKEN, "--reply-window", "3", "--all-sends-rate", "7"]
    )
    config = config_from_args(args)
    assert (config.reply_window_s, config.all_sends_rate) == (3.0, 7.0)
    defaults = config_from_args(parse_args(["--port", "1", "--token", TOKEN]))
    assert (defaults.reply_window_s, defaults.all_sends_rate, defaults.global_rate) == (
        10.0,
        None,
        30.0,
    )
    with pytest.raises(ValueError, match="reply_window_s"):
        EmulatorConfig(tokens=(TOKEN,), reply_window_s=-1)
    with pytest.raises(ValueError, match="all_sends_rate"):
        EmulatorConfig(tokens=(TOKEN,), all_sends_rate=0)
