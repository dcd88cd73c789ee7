"""The broadcast sender as a worker wires it (``build_broadcast_bot``): the cluster-wide limiter in
Redis Cluster, python-telegram-bot, the Telegram emulator, MongoDB.

With ``LIMITS_ALLOW_PAID_BROADCAST`` every broadcast message carries ``allow_paid_broadcast``
(the emulator counts them) and goes at the paid budget; without it none does. A resident who
blocked the bot answers 403, is counted as blocked and marked unreachable; the author's progress
message is edited into the final counts; the other bulk sends keep the global budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from telegram import Bot

from bot.bootstrap import Storage, build_bot, build_broadcast_bot, build_services, build_storage
from bot.domain.broadcasts import Audience, AudienceKind, BroadcastState
from bot.domain.users import Role, User
from bot.infra.mongo.migrations import migrate
from bot.infra.redis.client import close_redis_cluster, connect_redis_cluster
from bot.infra.redis.outbound import SendPurpose
from bot.services.broadcasts import BroadcastFanout, FanoutPolicy
from bot.services.container import Services
from bot.settings import (
    AppSettings,
    CelerySettings,
    LimitSettings,
    MongoSettings,
    RedisSettings,
    Settings,
    TelegramSettings,
    WebSettings,
)
from bot.telegram.broadcast_sender import TelegramBroadcastSender
from telegram_emulator import EmulatorConfig, EmulatorServer
from telegram_emulator.client import EmulatorClient

pytestmark = pytest.mark.integration
TOKEN = "515151:broadcast-sender-integration-token"


@dataclass
class Rig:
    emulator: EmulatorServer
    client: EmulatorClient
    storage: Storage
    services: Services
    nodes: list[tuple[str, int]]
    mongo_url: str


@pytest.fixture
async def rig(
    mongo_url: str,
    mongo_db_name: str,
    clean_redis_cluster: object,
    redis_cluster_nodes: list[tuple[str, int]],
) -> AsyncIterator[Rig]:
    storage = build_storage(mongo_url, mongo_db_name, app_name="broadcast-sender")
    await migrate(storage.db)
    async with (
        EmulatorServer(EmulatorConfig(tokens=(TOKEN,))) as emulator,
        EmulatorClient(emulator.base_url, TOKEN) as client,
    ):
        try:
            yield Rig(
                emulator, client, storage, build_services(storage), redis_cluster_nodes, mongo_url
            )
        finally:
            await storage.close()


def settings(rig: Rig, **limits: object) -> Settings:
    return Settings(
        telegram=TelegramSettings(
            bot_token=SecretStr(TOKEN),
            webhook_secret=SecretStr("s" * 32),
            api_base_url=rig.emulator.base_url,  # type: ignore[arg-type]
        ),
        mongo=MongoSettings(url=SecretStr(rig.mongo_url)),
        redis=RedisSettings(cluster_nodes=rig.nodes),
        celery=CelerySettings(broker_url=SecretStr("redis://127.0.0.1:1/0")),
        limits=LimitSettings(**limits),  # type: ignore[arg-type]
        web=WebSettings(),
        app=AppSettings(),
    )


async def residents(rig: Rig, count: int) -> list[int]:
    """People who started the bot in the emulator and are registered in MongoDB."""
    now = datetime.now(UTC)
    ids = []
    for n in range(count):
        user = await rig.client.create_user(f"Житель {n}")
        await rig.client.send_text(user["id"], "/start")
        await rig.storage.users.save(
            User(telegram_id=user["id"], name=f"Житель {n}", consent_at=now, registered_at=now)
        )
        ids.append(int(user["id"]))
    return ids


async def fan_out(rig: Rig, config: Settings) -> tuple[str, int, int]:
    """An admin's broadcast to everyone, confirmed from a preview message, fanned out to the end;
    (broadcast id, the admin's chat, the progress message)."""
    admin = (await residents(rig, 1))[0]
    stored = await rig.storage.users.get(admin)
    assert stored is not None
    await rig.storage.users.save(User(**{**stored.__dict__, "role": Role.ADMIN}))
    redis = await connect_redis_cluster(config.redis.cluster_nodes, max_connections=16)
    bot, limiter = build_broadcast_bot(config, redis, rig.services.users)
    await bot.initialize()
    # The preview is the bot's reply in the author's chat: sent by the web tier's Bot, through the
    # limiter like every send (the broadcast to the author waits its turn after it).
    replies = build_bot(config, redis, rig.services.users, purpose=SendPurpose.REPLY)
    try:
        async with replies:
            preview = await replies.send_message(admin, "Предпросмотр")
        broadcasts = rig.services.broadcasts
        draft = await broadcasts.compose(
            admin, Audience(AudienceKind.ALL), "Бассейн <закрыт> завтра"
        )
        queued = await broadcasts.confirm(admin, draft.id, admin, preview.message_id)
        sender = TelegramBroadcastSender(
            rig.services, bot, limiter, paid=config.limits.allow_paid_broadcast
        )
        fanout = BroadcastFanout(
            rig.storage.broadcasts,
            rig.storage.audiences,
            rig.storage.users,
            sender,
            rig.services.clock,
            policy=FanoutPolicy(concurrency=8),
        )
        report = await fanout.run(until=datetime.now(UTC) + timedelta(minutes=2))
        assert report.finished
    finally:
        await bot.shutdown()
        await close_redis_cluster(redis)
    return queued.id, admin, preview.message_id


async def broadcast_texts(rig: Rig, chat_id: int) -> list[str]:
    return [
        m["text"] for m in await rig.client.bot_messages(chat_id) if m["text"].startswith("Бассейн")
    ]


async def test_paid_broadcasts_carry_the_parameter_and_blocked_residents_are_counted(
    rig: Rig,
) -> None:
    people = await residents(rig, 60)
    blocked = people[:3]
    for uid in blocked:
        await rig.client.block_bot(uid)  # no webhook: the bot does not hear of it
    config = settings(rig, allow_paid_broadcast=True, paid_broadcast_sends_per_second=200)
    bid, admin, progress_id = await fan_out(rig, config)

    counters = await rig.client.counters()
    reachable = [*people[3:], admin]
    assert counters["paid_broadcasts"] == len(reachable)
    assert counters["rejected_429"] == 0
    assert counters["rejected_403"] == len(blocked)
    for uid in reachable:
        assert await broadcast_texts(rig, uid) == ["Бассейн <закрыт> завтра"], uid
    for uid in blocked:
        stored = await rig.storage.users.get(uid)
        assert stored is not None
        assert stored.unreachable
    card = await rig.services.broadcasts.card(admin, bid)
    assert card.broadcast.state is BroadcastState.DONE
    assert (card.counts.delivered, card.counts.blocked) == (len(reachable), len(blocked))
    progress = next(
        m for m in await rig.client.bot_messages(admin) if m["message_id"] == progress_id
    )
    assert "Рассылка завершена" in progress["text"]
    assert f"Доставлено: {len(reachable)}" in progress["text"]
    assert "Заблокировали бота: 3" in progress["text"]


async def test_without_the_opt_in_nothing_is_sent_as_paid(rig: Rig) -> None:
    people = await residents(rig, 12)
    await fan_out(rig, settings(rig))
    counters = await rig.client.counters()
    assert counters["paid_broadcasts"] == 0
    assert counters["rejected_429"] == 0
    for uid in people:
        assert await broadcast_texts(rig, uid) == ["Бассейн <закрыт> завтра"]


async def test_the_progress_message_gone_stops_the_edits_not_the_broadcast(rig: Rig) -> None:
    await residents(rig, 3)
    config = settings(rig)
    redis = await connect_redis_cluster(config.redis.cluster_nodes, max_connections=8)
    bot: Bot
    bot, limiter = build_broadcast_bot(config, redis, rig.services.users)
    await bot.initialize()
    try:
        admin = (await residents(rig, 1))[0]
        stored = await rig.storage.users.get(admin)
        assert stored is not None
        await rig.storage.users.save(User(**{**stored.__dict__, "role": Role.ADMIN}))
        draft = await rig.services.broadcasts.compose(admin, Audience(AudienceKind.ALL), "Бассейн")
        queued = await rig.services.broadcasts.confirm(admin, draft.id, admin, 999_999)
        sender = TelegramBroadcastSender(rig.services, bot, limiter)
        assert not await sender.show_progress(queued, queued.counts)
    finally:
        await bot.shutdown()
        await close_redis_cluster(redis)
