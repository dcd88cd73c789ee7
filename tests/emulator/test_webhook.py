"""Webhook delivery over real HTTPS: secret header, retries, ordering, concurrency, holds."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.responses import JSONResponse, Response

from telegram_emulator.client import EmulatorClient
from tests.emulator.conftest import (
    BotApiCaller,
    EmulatorFactory,
    TlsFiles,
    WebhookReceiver,
    connected,
    free_port,
)

FAST_RETRIES = {
    "webhook_backoff_initial": 0.05,
    "webhook_backoff_factor": 2.0,
    "webhook_backoff_max": 1.0,
}


@asynccontextmanager
async def emulator_with_ca(
    make_emulator: EmulatorFactory, tls: TlsFiles, **config: Any
) -> AsyncIterator[tuple[EmulatorClient, BotApiCaller]]:
    settings = {**FAST_RETRIES, "webhook_ca_file": tls.ca_file, **config}
    async with make_emulator(**settings) as server, connected(server) as pair:
        yield pair


async def test_secret_header_sent_and_update_ids_increase(
    make_emulator: EmulatorFactory, tls_files: TlsFiles, webhook_receiver: WebhookReceiver
) -> None:
    async with emulator_with_ca(make_emulator, tls_files) as (client, bot_api):
        result = await bot_api(
            "setWebhook", url=webhook_receiver.url, secret_token="s3cr3t-Token_1"
        )
        assert result["ok"]
        user = await client.create_user("Анна", username="anna", language_code="ru")
        await client.send_text(user["id"], "/start")
        await client.send_text(user["id"], "привет")
        await client.wait_idle(5)
    assert [
        item.headers["x-telegram-bot-api-secret-token"] for item in webhook_receiver.received
    ] == [
        "s3cr3t-Token_1",
        "s3cr3t-Token_1",
    ]
    first, second = (item.update for item in webhook_receiver.received)
    assert second["update_id"] == first["update_id"] + 1
    message = first["message"]
    assert message["text"] == "/start"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert message["from"] == {
        "id": user["id"],
        "is_bot": False,
        "first_name": "Анна",
        "username": "anna",
        "language_code": "ru",
    }
    assert message["chat"]["type"] == "private"


async def test_updates_are_held_while_no_webhook_is_set(
    make_emulator: EmulatorFactory, tls_files: TlsFiles, webhook_receiver: WebhookReceiver
) -> None:
    async with emulator_with_ca(make_emulator, tls_files) as (client, bot_api):
        user = await client.create_user("Held")
        for text in ("one", "two", "three"):
            await client.send_text(user["id"], text)
        await asyncio.sleep(0.2)
        info = (await bot_api("getWebhookInfo"))["result"]
        assert info["url"] == ""
        assert info["pending_update_count"] == 3
        assert webhook_receiver.received == []
        await bot_api("setWebhook", url=webhook_receiver.url)
        await client.wait_idle(5)
        assert [r.update["message"]["text"] for r in webhook_receiver.received] == [
            "one",
            "two",
            "three",
        ]
        assert (await bot_api("getWebhookInfo"))["result"]["pending_update_count"] == 0


async def test_retry_after_500_with_error_recorded(
    make_emulator: EmulatorFactory, tls_files: TlsFiles, webhook_receiver: WebhookReceiver
) -> None:
    async def fail_twice(update: dict[str, Any], attempt: int) -> Response | None:
        return JSONResponse({"error": "boom"}, status_code=500) if attempt <= 2 else None

    webhook_receiver.behaviour = fail_twice
    async with emulator_with_ca(make_emulator, tls_files) as (client, bot_api):
        await bot_api("setWebhook", url=webhook_receiver.url)
        user = await client.create_user("Retry")
        sent = await client.send_text(user["id"], "/start")
        await client.wait_idle(5)
        attempts = await client.deliveries(sent["update_id"])
        assert [a["outcome"] for a in attempts] == ["http_error", "http_error", "ok"]
        assert [a["status_code"] for a in attempts] == [500, 500, 200]
        first_gap = attempts[1]["started_at"] - attempts[0]["finished_at"]
        second_gap = attempts[2]["started_at"] - attempts[1]["finished_at"]
        assert first_gap >= 0.04
        assert second_gap >= 0.09
        info = (await bot_api("getWebhookInfo"))["result"]
        assert (
            info["last_error_message"]
            == "Wrong response from the webhook: 500 Internal Server Error"
        )
        assert isinstance(info["last_error_date"], int)
        counters = await client.counters()
        assert counters["webhook_retries"] == 2
        assert counters["webhook_failures"] == 2
        assert counters["webhook_delivered"] == 1
        assert counters["pending"] == 0
    assert webhook_receiver.attempts[sent["update_id"]] == 3


async def test_retry_after_timeout(
    make_emulator: EmulatorFactory, tls_files: TlsFiles, webhook_receiver: WebhookReceiver
) -> None:
    async def slow_first(update: dict[str, Any], attempt: int) -> Response | None:
        if attempt == 1:
            await asyncio.sleep(2.0)
        return None

    webhook_receiver.behaviour = slow_first
    async with emulator_with_ca(make_emulator, tls_files, webhook_timeout=0.5) as (client, bot_api):
        await bot_api("setWebhook", url=webhook_receiver.url)
        user = await client.create_user("Slow")
        sent = await client.send_text(user["id"], "/start")
        await client.wait_idle(10)
        attempts = await client.deliveries(sent["update_id"])
        outcomes = [a["outcome"] for a in attempts]
        # A very loaded machine may time out the quick retry too; the first must time out and
        # the update must finally get through.
        assert outcomes[0] == "timeout"
        assert outcomes[-1] == "ok"
        assert set(outcomes[:-1]) == {"timeout"}
        assert attempts[0]["error"] == "Read timeout expired"
    assert webhook_receiver.attempts[sent["update_id"]] == len(attempts)


async def test_connection_errors_retry_then_give_up(
    make_emulator: EmulatorFactory, tls_files: TlsFiles
) -> None:
    dead_url = f"https://127.0.0.1:{free_port()}/hook"
    async with emulator_with_ca(make_emulator, tls_files, webhook_max_attempts=3) as (
        client,
        bot_api,
    ):
        await bot_api("setWebhook", url=dead_url)
        user = await client.create_user("Nobody home")
        sent = await client.send_text(user["id"], "/start")
        await client.wait_idle(5)
        attempts = await client.deliveries(sent["update_id"])
        assert [a["outcome"] for a in attempts] == ["connection_error"] * 3
        assert (await client.counters())["webhook_dropped"] == 1
        info = (await bot_api("getWebhookInfo"))["result"]
        assert info["last_error_message"] == "Connection refused"


async def test_one_update_in_flight_per_chat_in_order(
    make_emulator: EmulatorFactory, tls_files: TlsFiles, webhook_receiver: WebhookReceiver
) -> None:
    async def jitter(update: dict[str, Any], attempt: int) -> Response | None:
        await asyncio.sleep(random.uniform(0.005, 0.03))
        # Every third first attempt fails: ordering must survive retries too.
        if attempt == 1 and update["update_id"] % 3 == 0:
            return Response(status_code=503)
        return None

    webhook_receiver.behaviour = jitter
    async with emulator_with_ca(make_emulator, tls_files) as (client, bot_api):
        await bot_api("setWebhook", url=webhook_receiver.url, max_connections=40)
        users = [await client.create_user(f"U{n}") for n in range(4)]

        async def talk(user_id: int) -> None:
            for number in range(6):
                await client.send_text(user_id, f"{user_id}:{number}")

        await asyncio.gather(*(talk(user["id"]) for user in users))
        await client.wait_idle(10)
    by_chat: dict[int, list[Any]] = {}
    for record in webhook_receiver.received:
        by_chat.setdefault(record.update["message"]["chat"]["id"], []).append(record)
    assert len(by_chat) == 4
    for user in users:
        records = by_chat[user["id"]]
        assert [r.update["message"]["text"] for r in records] == [
            f"{user['id']}:{n}" for n in range(6)
        ]
        for earlier, later in itertools.pairwise(records):
            assert later.started_at >= earlier.finished_at  # never two at once for one chat
    assert webhook_receiver.max_in_flight > 1  # chats did run in parallel


async def test_max_connections_is_honoured(
    make_emulator: EmulatorFactory, tls_files: TlsFiles, webhook_receiver: WebhookReceiver
) -> None:
    async def slow(update: dict[str, Any], attempt: int) -> Response | None:
        await asyncio.sleep(0.1)
        return None

    webhook_receiver.behaviour = slow
    async with emulator_with_ca(make_emulator, tls_files) as (client, bot_api):
        users = [await client.create_user(f"C{n}") for n in range(8)]
        for user in users:
            await client.send_text(user["id"], "/start")
        await bot_api("setWebhook", url=webhook_receiver.url, max_connections=3)
        await client.wait_idle(10)
        info = (await bot_api("getWebhookInfo"))["result"]
        assert info["max_connections"] == 3
    assert len(webhook_receiver.received) == 8
    assert webhook_receiver.max_in_flight == 3


async def test_method_in_webhook_response_is_executed(
    make_emulator: EmulatorFactory, tls_files: TlsFiles, webhook_receiver: WebhookReceiver
) -> None:
    async def reply_in_body(update: dict[str, Any], attempt: int) -> Response | None:
        chat_id = update["message"]["chat"]["id"]
        return JSONResponse(
            {
                "method": "sendMessage",
                "chat_id": chat_id,
                "text": "<b>Привет!</b>",
                "parse_mode": "HTML",
            }
        )

    webhook_receiver.behaviour = reply_in_body
    async with emulator_with_ca(make_emulator, tls_files) as (client, bot_api):
        await bot_api("setWebhook", url=webhook_receiver.url)
        user = await client.create_user("Body")
        await client.send_text(user["id"], "/start")
        await client.wait_idle(5)
        reply = await client.wait_for(user["id"], 1, timeout=5)
        assert reply["text"] == "Привет!"
        assert reply["html"] == "<b>Привет!</b>"
        assert (await client.counters())["webhook_reply_methods"] == 1


async def test_webhook_setup_rules_and_polling_conflict(
    make_emulator: EmulatorFactory, tls_files: TlsFiles, webhook_receiver: WebhookReceiver
) -> None:
    async with emulator_with_ca(make_emulator, tls_files) as (client, bot_api):
        plain = await bot_api("setWebhook", url="http://127.0.0.1:1/hook")
        assert (
            plain["description"]
            == "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
        )
        bad_secret = await bot_api("setWebhook", url=webhook_receiver.url, secret_token="no spaces")
        assert bad_secret["error_code"] == 400
        user = await client.create_user("Dropped")
        await client.send_text(user["id"], "old")
        await bot_api(
            "setWebhook",
            url=webhook_receiver.url,
            drop_pending_updates=True,
            allowed_updates=["message"],
        )
        conflict = await bot_api("getUpdates")
        assert conflict["error_code"] == 409
        await client.send_text(user["id"], "new")
        await client.wait_idle(5)
        assert [r.update["message"]["text"] for r in webhook_receiver.received] == ["new"]
        info = (await bot_api("getWebhookInfo"))["result"]
        assert info["allowed_updates"] == ["message"]
        assert (await bot_api("deleteWebhook"))["ok"]
        assert (await bot_api("getWebhookInfo"))["result"]["url"] == ""
