"""A broadcast to 3,000 residents by real Celery workers and beat, the real broker, SecantusDB,
the Redis Cluster and the emulator — with the worker sending it SIGKILLed halfway.

Sent as a paid broadcast (``LIMITS_ALLOW_PAID_BROADCAST``, 200 a second), which the emulator lets
past its 30-a-second limit only when each message carries ``allow_paid_broadcast`` — and counts
them — so the run takes seconds and a message without the parameter would show as a 429.

The kill is placed exactly: every sendMessage is held at the emulator until the worker's senders
all wait there, then the worker dies and the emulator drops what it held, unexecuted. The worker
that takes over (after the lease) sends the rest and never repeats the messages that were in
flight — for all it can know they may have left — and the author's progress message says how
many are unconfirmed; «Дослать» (the author's choice) sends exactly those. In the end every
reachable resident got the broadcast once, those who blocked the bot got nothing and are counted,
and Telegram answered no 429.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.bootstrap import Storage, build_services, build_storage
from bot.domain.broadcasts import Audience, AudienceKind, BroadcastState
from bot.domain.users import Role, User
from bot.infra.mongo.migrations import migrate
from bot.infra.mongo.users import user_to_doc
from bot.services.container import Services
from devcluster.celery import CeleryBeat, CeleryWorker
from devcluster.redis import RedisClusterServer, StandaloneRedisServer
from telegram_emulator.bot_state import BotState
from telegram_emulator.client import EmulatorClient
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.server import EmulatorServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

RESIDENTS = 3000
BLOCKED = 150  # of them, blocked the bot (the bot has not heard of it: Telegram answers 403)
FIRST = 7_000_001
ADMIN = 6_999_999
TEXT = "Бассейн закрыт на профилактику <до среды> & зал открыт"
CONCURRENCY = 4
SETTINGS = {
    "LIMITS_ALLOW_PAID_BROADCAST": "true",
    "LIMITS_PAID_BROADCAST_SENDS_PER_SECOND": "200",
    "BROADCAST_POLL_SECONDS": "1",
    "BROADCAST_LEASE_SECONDS": "3",
    "BROADCAST_CONCURRENCY": str(CONCURRENCY),
    "BROADCAST_PROGRESS_SECONDS": "1",
    "CELERY_BEAT_LOCK_TIMEOUT_SECONDS": "3",
    "CELERY_BEAT_TAKEOVER_SECONDS": "4",
}


@dataclass
class Rig:
    run_dir: Path
    emulator: EmulatorServer
    client: EmulatorClient
    token: str
    storage: Storage
    services: Services
    env: dict[str, str]
    processes: list[CeleryWorker | CeleryBeat] = field(default_factory=list)

    @property
    def bot(self) -> BotState:
        (bot,) = self.emulator.emulator.world.bots.values()
        return bot

    async def worker(self, name: str) -> CeleryWorker:
        worker = CeleryWorker(self.run_dir, name=name, env=self.env, concurrency=2)
        self.processes.append(worker)
        await asyncio.to_thread(worker.start)
        return worker

    async def beat(self) -> None:
        beat = CeleryBeat(self.run_dir, env=self.env)
        self.processes.append(beat)
        await asyncio.to_thread(beat.start)

    def texts(self, chat_id: int) -> list[str]:
        log = self.bot.chats.get(chat_id)
        return [m.text or "" for m in log.messages.values()] if log is not None else []


@pytest.fixture
async def rig(
    tmp_path: Path,
    mongo_url: str,
    mongo_db_name: str,
    clean_redis_cluster: RedisClusterServer,
    broker_redis: StandaloneRedisServer,
) -> AsyncIterator[Rig]:
    token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(30)}"
    storage = build_storage(mongo_url, mongo_db_name, app_name="e2e-broadcast")
    await migrate(storage.db)
    async with (
        EmulatorServer(EmulatorConfig(tokens=(token,))) as emulator,
        EmulatorClient(emulator.base_url, token) as client,
    ):
        env = {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": emulator.base_url,
            "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
            "MONGO_URL": mongo_url,
            "MONGO_DATABASE": mongo_db_name,
            "REDIS_CLUSTER_NODES": ",".join(
                f"{host}:{port}" for host, port in clean_redis_cluster.startup_nodes
            ),
            "CELERY_BROKER_URL": broker_redis.url,
            "APP_LOG_JSON": "false",
            **SETTINGS,
        }
        rig = Rig(tmp_path, emulator, client, token, storage, build_services(storage), env)
        try:
            yield rig
        finally:
            # Off the loop: the emulator (on this loop) must keep answering while they stop.
            await asyncio.gather(
                *(asyncio.to_thread(p.stop) for p in reversed(rig.processes)),
                return_exceptions=True,
            )
            await storage.close()


async def until(check: Callable[[], Awaitable[bool]], what: str, within_s: float) -> None:
    """Wait for a state the processes reach on their own; fail naming it."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within_s:.0f} s: {what}")
        await asyncio.sleep(0.05)


async def seed(rig: Rig) -> list[int]:
    """3,000 registered residents straight into MongoDB, each a chat that started the bot; the
    admin (staff, not a resident: not in the audience) with the preview the bot showed them."""
    world = rig.emulator.emulator.world
    people = list(range(FIRST, FIRST + RESIDENTS))
    now = datetime.now(UTC)
    for uid in [ADMIN, *people]:
        world.create_user(f"Житель {uid}", user_id=uid)
        rig.bot.started.add(uid)
    for uid in people[:BLOCKED]:
        rig.bot.blocked.add(uid)
    await rig.storage.db.users.insert_many(
        [
            user_to_doc(User(uid, name=f"Житель {uid}", consent_at=now, registered_at=now))
            for uid in people
        ]
        + [user_to_doc(User(ADMIN, name="Иван", role=Role.ADMIN))]
    )
    return people


async def preview_message(rig: Rig) -> int:
    """The preview the bot showed the admin (the web tier's reply), to become the progress."""
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            f"{rig.emulator.base_url}/bot{rig.token}/sendMessage",
            json={"chat_id": ADMIN, "text": "Предпросмотр"},
        )
    return int(answer.json()["result"]["message_id"])


async def test_3000_residents_get_it_once_though_the_worker_sending_it_is_killed_halfway(
    rig: Rig,
) -> None:
    people = await seed(rig)
    reachable, blocked = people[BLOCKED:], people[:BLOCKED]
    progress_id = await preview_message(rig)
    broadcasts = rig.services.broadcasts
    draft = await broadcasts.compose(ADMIN, Audience(AudienceKind.ALL), TEXT)
    assert draft.estimated == RESIDENTS
    bid = (await broadcasts.confirm(ADMIN, draft.id, ADMIN, progress_id)).id
    counters, client, db = rig.bot.counters, rig.client, rig.storage.db

    victim, _ = await asyncio.gather(rig.worker("victim"), rig.beat())

    async def delivered(at_least: int) -> bool:
        return await db.broadcast_recipients.count_documents({"state": "delivered"}) >= at_least

    # 1,500 sends at 25/s take a minute; the bound only keeps a hung run from waiting forever.
    await until(lambda: delivered(len(reachable) // 2), "half of the residents reached", 240)
    assert counters.edits >= 1  # the progress message moves while it sends

    # Hold every send at Telegram until all the victim's senders wait there, then kill it.
    await client.set_fault(None, methods=["sendMessage"], hold=True)

    async def all_in_flight_held() -> bool:
        held = int((await client.fault())["held"])
        dispatching = await db.broadcast_recipients.count_documents({"state": "dispatching"})
        return held >= 1 and held == dispatching

    await until(all_in_flight_held, "the victim's sends all held at Telegram", 30)
    in_flight = await db.broadcast_recipients.distinct("user_id", {"state": "dispatching"})
    await asyncio.to_thread(victim.kill)

    async def dropped() -> bool:
        return counters.faults_abandoned == len(in_flight)

    await until(dropped, "the killed worker's requests dropped unexecuted", 15)
    await client.clear_fault()
    await rig.worker("survivor")

    async def finished() -> bool:
        found = await rig.storage.broadcasts.get(bid)
        return found is not None and found.state is BroadcastState.DONE and found.final_shown

    await until(finished, "the survivor finishing the broadcast", 240)

    # Never twice; exactly the messages in flight at the kill are unconfirmed, and not repeated.
    def received(uid: int) -> int:
        return sum(1 for text in rig.texts(uid) if text == TEXT)

    assert {received(uid) for uid in blocked} == {0}
    assert all(received(uid) == 0 for uid in in_flight)
    assert {received(uid) for uid in reachable if uid not in in_flight} == {1}
    card = await broadcasts.card(ADMIN, bid)
    counts = card.counts
    assert counts.total == RESIDENTS
    assert counts.blocked == BLOCKED
    assert counts.unconfirmed == len(in_flight)
    assert counts.delivered == len(reachable) - len(in_flight)
    progress = rig.bot.chats[ADMIN].messages[progress_id]
    assert "Рассылка завершена" in (progress.text or "")
    assert f"Доставлено: {counts.delivered}" in (progress.text or "")
    assert f"Заблокировали бота: {BLOCKED}" in (progress.text or "")
    assert f"Не подтверждено: {len(in_flight)}" in (progress.text or "")
    unreachable = await db.users.count_documents({"_id": {"$in": blocked}, "unreachable": True})
    assert unreachable == BLOCKED

    # The author sends the unconfirmed again: exactly those, once.
    await broadcasts.resend_unconfirmed(ADMIN, bid)
    await until(finished, "the unconfirmed sent again", 60)
    assert {received(uid) for uid in reachable} == {1}
    assert {received(uid) for uid in blocked} == {0}
    final = await broadcasts.card(ADMIN, bid)
    assert (final.counts.delivered, final.counts.unconfirmed) == (len(reachable), 0)
    assert f"Доставлено: {len(reachable)}" in (progress.text or "")

    # Telegram's side: every broadcast message went as a paid one, none was refused for flood.
    assert counters.rejected_429 == 0
    assert counters.paid_broadcasts == len(reachable)
    assert counters.rejected_403 == BLOCKED
    assert counters.duplicate_sends_seen == 0
    assert counters.sent == len(reachable) + 1  # and the preview
