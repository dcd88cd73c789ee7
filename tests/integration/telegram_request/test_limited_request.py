"""PTB ``Bot`` objects using ``LimitedRequest`` against a strict Telegram emulator and Redis Cluster.

The emulator enforces Telegram's limits the way Telegram does (429 with ``retry_after``), so a
single 429 seen by the emulator means the limiter let something through that it should not have.
Several ``Bot`` objects, each with its own ``RedisCluster`` client and ``LimitedRequest``, stand for
several bot instances and workers sharing one cluster-wide limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio.cluster import RedisCluster
from telegram import Bot
from telegram.error import Forbidden, RetryAfter

from bot.infra.redis.client import close_redis_cluster, connect_redis_cluster
from bot.infra.redis.outbound import OutboundLimits, RedisOutboundLimiter
from bot.infra.telegram.request import LimitedRequest
from bot.services.ports.ephemeral import TelegramCallOutcome
from devcluster.redis import RedisClusterServer
from telegram_emulator import EmulatorConfig, EmulatorServer
from telegram_emulator.client import EmulatorClient

TOKEN = "424242:request-layer-test-token"

pytestmark = pytest.mark.integration


@dataclass
class RecordingObserver:
    calls: list[tuple[str, TelegramCallOutcome]] = field(default_factory=list)
    waits: list[tuple[str, float]] = field(default_factory=list)

    def on_call(self, method: str, outcome: TelegramCallOutcome, duration_s: float) -> None:
        self.calls.append((method, outcome))

    def on_limiter_wait(self, method: str, waited_s: float) -> None:
        self.waits.append((method, waited_s))

    def outcomes(self, method: str) -> list[TelegramCallOutcome]:
        return [outcome for called, outcome in self.calls if called == method]


@dataclass
class Instance:
    """One "bot instance": its own Redis client, limiter, request layer and PTB Bot."""

    bot: Bot
    limiter: RedisOutboundLimiter | None
    observer: RecordingObserver
    unreachable: list[int | str]


InstanceFactory = Callable[..., Awaitable[Instance]]


@pytest.fixture
async def strict_emulator(request: pytest.FixtureRequest) -> AsyncIterator[EmulatorServer]:
    """Telegram's documented limits, strictly: 1 msg/s per chat (burst 1), 30/s, 20/min groups.

    Parametrize indirectly with a dict of ``EmulatorConfig`` overrides to change them.
    """
    overrides: dict[str, Any] = getattr(request, "param", {})
    async with EmulatorServer(EmulatorConfig(tokens=(TOKEN,), **overrides)) as server:
        yield server


@pytest.fixture
async def emulator_client(strict_emulator: EmulatorServer) -> AsyncIterator[EmulatorClient]:
    async with EmulatorClient(strict_emulator.base_url, TOKEN) as client:
        yield client


@pytest.fixture
async def started_users(emulator_client: EmulatorClient) -> Callable[[int], Awaitable[list[int]]]:
    """Create users who have pressed /start (the bot may write to them); returns their ids."""

    async def create(count: int) -> list[int]:
        ids = []
        for index in range(count):
            user: dict[str, Any] = await emulator_client.create_user(f"Пользователь {index}")
            await emulator_client.send_text(user["id"], "/start")
            ids.append(int(user["id"]))
        return ids

    return create


@pytest.fixture
async def make_instance(
    strict_emulator: EmulatorServer,
    clean_redis_cluster: RedisClusterServer,
    redis_cluster_nodes: list[tuple[str, int]],
) -> AsyncIterator[InstanceFactory]:
    async with contextlib.AsyncExitStack() as stack:

        async def make(limits: OutboundLimits | None = None, *, limited: bool = True) -> Instance:
            limiter = None
            if limited:
                redis: RedisCluster = await connect_redis_cluster(
                    redis_cluster_nodes, max_connections=32
                )
                stack.push_async_callback(close_redis_cluster, redis)
                limiter = RedisOutboundLimiter(redis, limits or OutboundLimits())
            observer = RecordingObserver()
            unreachable: list[int | str] = []

            async def mark(chat_id: int | str) -> None:
                unreachable.append(chat_id)

            request = LimitedRequest(limiter=limiter, on_unreachable=mark, observer=observer)
            bot = Bot(
                TOKEN,
                base_url=strict_emulator.bot_api_base,
                base_file_url=strict_emulator.file_base,
                request=request,
            )
            await stack.enter_async_context(bot)
            return Instance(bot, limiter, observer, unreachable)

        yield make


UsersFactory = Callable[[int], Awaitable[list[int]]]


async def _send_round_robin(instances: list[Instance], chat_ids: list[int]) -> list[float]:
    async def send(index: int, chat_id: int) -> float:
        await instances[index % len(instances)].bot.send_message(chat_id, f"Сообщение {index}")
        return time.monotonic()

    return list(await asyncio.gather(*(send(i, chat) for i, chat in enumerate(chat_ids))))


async def test_forty_concurrent_messages_to_many_chats_get_no_429(
    make_instance: InstanceFactory,
    started_users: UsersFactory,
    emulator_client: EmulatorClient,
) -> None:
    users = await started_users(40)
    instances = [await make_instance() for _ in range(3)]  # production limits

    await _send_round_robin(instances, users)

    counters = await emulator_client.counters()
    assert counters["rejected_429"] == 0
    assert counters["sent"] == 40
    for user in users:
        (answer,) = await emulator_client.bot_messages(user)
        assert answer["text"].startswith("Сообщение")
    calls = [outcome for i in instances for outcome in i.observer.outcomes("sendMessage")]
    assert calls == [TelegramCallOutcome.OK] * 40


# The emulator's per-chat limit stays strict (burst 1) but at 5/s, and the limiter matches it, so
# forty messages take ~12 s instead of ~44 s. The production 1/s setting is checked below.
@pytest.mark.parametrize("strict_emulator", [{"chat_rate": 5.0}], indirect=True)
async def test_forty_concurrent_messages_to_one_chat_get_no_429(
    make_instance: InstanceFactory,
    started_users: UsersFactory,
    emulator_client: EmulatorClient,
) -> None:
    (user,) = await started_users(1)
    limits = OutboundLimits(chat_interval_s=0.2)
    instances = [await make_instance(limits) for _ in range(3)]

    await _send_round_robin(instances, [user] * 40)

    counters = await emulator_client.counters()
    assert counters["rejected_429"] == 0
    assert len(await emulator_client.bot_messages(user)) == 40


async def test_production_limits_keep_one_chat_under_one_message_per_second(
    make_instance: InstanceFactory, started_users: UsersFactory, emulator_client: EmulatorClient
) -> None:
    (user,) = await started_users(1)
    instances = [await make_instance() for _ in range(2)]
    started = time.monotonic()
    await _send_round_robin(instances, [user] * 5)
    assert time.monotonic() - started >= 4.0
    assert (await emulator_client.counters())["rejected_429"] == 0


async def test_without_the_limiter_the_same_burst_is_refused(
    make_instance: InstanceFactory, started_users: UsersFactory, emulator_client: EmulatorClient
) -> None:
    """The control: proves the emulator is strict enough for the tests above to mean something."""
    users = await started_users(40)
    unlimited = await make_instance(limited=False)
    results = await asyncio.gather(
        *(unlimited.bot.send_message(user, "без лимитера") for user in users * 2),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, RetryAfter)]
    assert refused
    assert (await emulator_client.counters())["rejected_429"] == len(refused)
    assert TelegramCallOutcome.RATE_LIMITED in unlimited.observer.outcomes("sendMessage")


async def test_blocked_user_is_reported_unreachable_and_forbidden_is_raised(
    make_instance: InstanceFactory, started_users: UsersFactory, emulator_client: EmulatorClient
) -> None:
    blocked, fine = await started_users(2)
    await emulator_client.block_bot(blocked)
    instance = await make_instance()

    with pytest.raises(Forbidden, match="blocked"):
        await instance.bot.send_message(blocked, "Напоминание")
    await instance.bot.send_message(fine, "Напоминание")

    assert instance.unreachable == [blocked]
    assert instance.observer.outcomes("sendMessage") == [
        TelegramCallOutcome.FORBIDDEN,
        TelegramCallOutcome.OK,
    ]


async def test_a_forced_429_pauses_every_other_sender(
    strict_emulator: EmulatorServer,
    make_instance: InstanceFactory,
    started_users: UsersFactory,
    emulator_client: EmulatorClient,
) -> None:
    crowded, elsewhere = await started_users(2)
    hit, other = await make_instance(), await make_instance()

    # Someone outside the limiter (a misbehaving script) uses up the chat's budget...
    async with httpx.AsyncClient() as rogue:
        response = await rogue.post(
            f"{strict_emulator.bot_api_base}{TOKEN}/sendMessage",
            json={"chat_id": crowded, "text": "мимо лимитера"},
        )
        assert response.json()["ok"] is True

    # ...so the limited instance gets a real 429 from the emulator and pauses the cluster.
    before_pause = time.monotonic()  # the pause begins after this: the bound below is causal
    with pytest.raises(RetryAfter) as refused:
        await hit.bot.send_message(crowded, "попадёт под 429")
    raw_retry_after = refused.value.retry_after
    retry_after_s = (
        raw_retry_after.total_seconds()
        if isinstance(raw_retry_after, timedelta)
        else float(raw_retry_after)
    )
    assert retry_after_s >= 1
    assert hit.limiter is not None
    pause_left_s = await hit.limiter.paused_for_s()
    assert pause_left_s > 0

    # Another instance, writing to another chat, holds its send until the pause is over.
    await other.bot.send_message(elsewhere, "после паузы")
    assert time.monotonic() - before_pause >= retry_after_s - 0.01  # the TTL is in whole ms
    assert [o for o in other.observer.outcomes("sendMessage")] == [TelegramCallOutcome.OK]
    # It waited what was left of the pause when it asked (read just before; one round trip).
    assert other.observer.waits[0][1] >= pause_left_s - 0.15
    assert (await emulator_client.counters())["rejected_429"] == 1


async def test_limiter_refusal_surfaces_as_retry_after_without_reaching_telegram(
    make_instance: InstanceFactory, started_users: UsersFactory, emulator_client: EmulatorClient
) -> None:
    (user,) = await started_users(1)
    instance = await make_instance(OutboundLimits(max_wait_s=0.3))
    await instance.bot.send_message(user, "первое")
    sent_before = (await emulator_client.counters())["sent"]
    with pytest.raises(RetryAfter):
        await instance.bot.send_message(user, "второе, слишком рано")
    assert (await emulator_client.counters())["sent"] == sent_before
    assert instance.observer.outcomes("sendMessage") == [TelegramCallOutcome.OK]


async def test_edits_and_callback_answers_do_not_wait_for_the_send_budget(
    make_instance: InstanceFactory, started_users: UsersFactory
) -> None:
    (user,) = await started_users(1)
    instance = await make_instance()
    message = await instance.bot.send_message(user, "Меню")
    started = time.monotonic()
    for index in range(3):
        await instance.bot.edit_message_text(
            f"Меню {index}", chat_id=user, message_id=message.message_id
        )
    # Edits are not sends: spaced like sends, three would take at least 2.2 s.
    assert time.monotonic() - started < 1.0
    assert [method for method, _ in instance.observer.waits] == ["sendMessage"]


async def test_a_failing_unreachable_hook_does_not_hide_forbidden(
    strict_emulator: EmulatorServer, started_users: UsersFactory, emulator_client: EmulatorClient
) -> None:
    (user,) = await started_users(1)
    await emulator_client.block_bot(user)

    async def broken_hook(chat_id: int | str) -> None:
        raise RuntimeError("database unavailable")

    observer = RecordingObserver()
    request = LimitedRequest(limiter=None, on_unreachable=broken_hook, observer=observer)
    async with Bot(TOKEN, base_url=strict_emulator.bot_api_base, request=request) as bot:
        with pytest.raises(Forbidden):
            await bot.send_message(user, "Напоминание")
    assert observer.outcomes("sendMessage") == [TelegramCallOutcome.FORBIDDEN]


async def test_a_request_held_on_its_way_does_not_crowd_the_chats_next_send(
    make_instance: InstanceFactory, started_users: UsersFactory, emulator_client: EmulatorClient
) -> None:
    """The first message reaches "Telegram" 0.6 s after its slot (held there, as a busy event
    loop or a full connection pool would); the next one, sent as soon as it was answered, is
    spaced from the answer, not from the first slot, so the strict per-chat limit never refuses."""
    (user,) = await started_users(1)
    instance = await make_instance(OutboundLimits(global_rate_per_s=None))
    await emulator_client.set_fault(None, methods=["sendMessage"], hold=True)
    first = asyncio.create_task(instance.bot.send_message(user, "первое"))
    deadline = asyncio.get_running_loop().time() + 10
    while True:  # the first request is at "Telegram", held
        if int((await emulator_client.fault())["held"]) == 1:
            break
        assert asyncio.get_running_loop().time() < deadline, "the request never arrived"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.6)  # the request waits on its way this long, then arrives
    await emulator_client.clear_fault()
    await first
    await instance.bot.send_message(user, "второе")

    counters = await emulator_client.counters()
    assert (counters["rejected_429"], counters["sent"]) == (0, 2)
    assert [m["text"] for m in await emulator_client.bot_messages(user)] == ["первое", "второе"]
