"""Injected faults: 5xx and 429 answers on demand, held requests, and the sends-per-second gauge."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from telegram_emulator import ManualClock
from telegram_emulator.client import EmulatorClient, EmulatorError
from tests.emulator.conftest import TOKEN, EmulatorFactory, connected


async def started(client: EmulatorClient, name: str = "User") -> int:
    user = await client.create_user(name)
    await client.send_text(user["id"], "/start")
    return int(user["id"])


async def until(check: Callable[[], Awaitable[bool]], within_s: float = 10.0) -> None:
    """Wait for a state the emulator reaches on its own (a held request, a noticed disconnect)."""
    async with asyncio.timeout(within_s):
        while True:
            if await check():
                return
            await asyncio.sleep(0.01)


async def test_a_5xx_fault_answers_without_executing_and_only_for_its_methods(
    make_emulator: EmulatorFactory,
) -> None:
    async with make_emulator() as server, connected(server) as (client, bot_api):
        chat_id = await started(client)
        await client.set_fault(502, methods=["sendMessage"])
        refused = await bot_api("sendMessage", chat_id=chat_id, text="lost")
        assert refused == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        assert (await bot_api("getMe"))["ok"]  # not a faulty method
        await client.clear_fault()
        assert (await bot_api("sendMessage", chat_id=chat_id, text="after"))["ok"]

        assert [m["text"] for m in await client.bot_messages(chat_id)] == ["after"]
        counters = await client.counters()
        assert (counters["faults_injected"], counters["sent"]) == (1, 1)
        assert counters["rejected_429"] == counters["rejected_400"] == 0


async def test_a_429_fault_carries_retry_after_and_spares_the_flood_limits(
    make_emulator: EmulatorFactory,
) -> None:
    async with make_emulator() as server, connected(server) as (client, bot_api):
        chat_id = await started(client)
        state = await client.set_fault(429, retry_after=40)
        assert state == {
            "fault": {"status": 429, "retry_after": 40, "methods": None, "hold": False},
            "held": 0,
        }
        assert await bot_api("sendMessage", chat_id=chat_id, text="x") == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 40",
            "parameters": {"retry_after": 40},
        }
        assert (await bot_api("getMe"))["error_code"] == 429  # every method by default
        await client.clear_fault()
        # The refused send took no budget: the chat's first real message goes through at once.
        assert (await bot_api("sendMessage", chat_id=chat_id, text="x"))["ok"]
        counters = await client.counters()
        assert (counters["faults_injected"], counters["rejected_429"]) == (2, 0)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 404},
        {"status": 429},  # without retry_after
        {"status": None},  # neither a status nor a hold
        {"status": "x"},
        {"methods": "sendMessage"},
    ],
)
async def test_a_malformed_fault_is_refused(
    make_emulator: EmulatorFactory, fault: dict[str, Any]
) -> None:
    async with make_emulator() as server, httpx.AsyncClient() as http:
        response = await http.post(f"{server.base_url}/_emulator/bots/123456/fault", json=fault)
        assert response.status_code == 400
        async with EmulatorClient(server.base_url, TOKEN) as client:
            assert (await client.fault())["fault"] is None


async def test_held_requests_wait_for_the_clear_then_fail_or_run(
    make_emulator: EmulatorFactory,
) -> None:
    async with make_emulator() as server, connected(server) as (client, bot_api):
        chat_id = await started(client)
        await client.set_fault(503, methods=["sendMessage"], hold=True)
        held = asyncio.create_task(bot_api("sendMessage", chat_id=chat_id, text="held"))
        await until(lambda: _held(client, 1))
        assert not held.done()
        await client.clear_fault()
        assert (await held)["error_code"] == 503

        await client.set_fault(None, hold=True)  # hold only: run once released
        held = asyncio.create_task(bot_api("sendMessage", chat_id=chat_id, text="late"))
        await until(lambda: _held(client, 1))
        await client.clear_fault()
        assert (await held)["ok"]
        assert [m["text"] for m in await client.bot_messages(chat_id)] == ["late"]
        assert (await client.counters())["faults_injected"] == 1


async def test_a_held_request_whose_client_left_is_never_executed(
    make_emulator: EmulatorFactory,
) -> None:
    async with make_emulator() as server, connected(server) as (client, _):
        chat_id = await started(client)
        await client.set_fault(None, hold=True, methods=["sendMessage"])
        async with httpx.AsyncClient(timeout=30) as doomed:
            request = asyncio.create_task(
                doomed.post(
                    f"{server.base_url}/bot{TOKEN}/sendMessage",
                    json={"chat_id": chat_id, "text": "never"},
                )
            )
            await until(lambda: _held(client, 1))
            request.cancel()  # the sender dies while Telegram holds its request
            with pytest.raises(asyncio.CancelledError):
                await request
        await until(lambda: _counter(client, "faults_abandoned", 1))
        await client.clear_fault()
        assert await client.bot_messages(chat_id) == []
        counters = await client.counters()
        assert (counters["sent"], counters["faults_injected"], counters["held"]) == (0, 0, 0)


async def test_reset_clears_the_fault(make_emulator: EmulatorFactory) -> None:
    async with make_emulator() as server, connected(server) as (client, bot_api):
        await client.set_fault(500)
        await client.reset()
        assert (await bot_api("getMe"))["ok"]
        with pytest.raises(EmulatorError, match="400"):
            await client.set_fault(200)


async def test_the_most_sends_in_any_one_second_are_counted(
    make_emulator: EmulatorFactory,
) -> None:
    clock = ManualClock()
    async with make_emulator(clock=clock) as server, connected(server) as (client, bot_api):
        chats = [await started(client, f"U{i}") for i in range(6)]
        for chat in chats[:3]:  # three at one instant
            assert (await bot_api("sendMessage", chat_id=chat, text="a"))["ok"]
        clock.advance(0.6)
        for chat in chats[3:5]:  # two more 0.6 s later: five within one second
            assert (await bot_api("sendMessage", chat_id=chat, text="b"))["ok"]
        clock.advance(0.4)  # the first three are now exactly one second old: out of the window
        assert (await bot_api("sendMessage", chat_id=chats[5], text="c"))["ok"]
        refused = await bot_api("sendMessage", chat_id=chats[5], text="d")  # per-chat limit
        assert refused["error_code"] == 429
        counters = await client.counters()
        assert (counters["sent"], counters["max_sends_per_second"]) == (6, 5)


async def _held(client: EmulatorClient, count: int) -> bool:
    return int((await client.fault())["held"]) == count


async def _counter(client: EmulatorClient, name: str, value: int) -> bool:
    return (await client.counters())[name] == value
