"""The broadcast run: one broadcast to N registered residents, sent by a real Celery worker and
beat over the real broker, SecantusDB and the Redis Cluster, to the Telegram emulator enforcing
Telegram's 30 messages a second. Reported: the achieved rate against the budget, the 429s the
emulator answered, and that everyone got it exactly once (as in
tests/e2e/workers/test_broadcast_e2e.py, without the kill and not as a paid broadcast).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from telegram import Bot

from bench.procstat import cpu_seconds, with_children
from bench.stack import Shared, bulk_worker_env, drop_database, new_token
from bot.bootstrap import build_services, build_storage
from bot.domain.broadcasts import Audience, AudienceKind, BroadcastState
from bot.domain.users import Role, User
from bot.infra.mongo.migrations import migrate
from bot.infra.mongo.users import user_to_doc
from bot.infra.redis.client import close_redis_cluster, connect_redis_cluster
from bot.infra.redis.outbound import OutboundLimits, RedisOutboundLimiter
from bot.infra.telegram.request import LimitedRequest
from bot.settings import BroadcastSettings
from devcluster.celery import CeleryBeat, CeleryWorker
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.server import EmulatorServer

FIRST = 7_000_001
ADMIN = 6_999_999
TEXT = "Бассейн закрыт на профилактику <до среды> & зал открыт"
BUDGET_PER_S = 30.0


@dataclass
class SendRate:
    """Sends the emulator accepted, from the first to the last seen (bench clock)."""

    first_at: float | None = None
    last_at: float | None = None
    first_count: int = 0
    last_count: int = 0

    def report(self) -> dict[str, Any]:
        seconds = (self.last_at or 0.0) - (self.first_at or 0.0)
        sent = self.last_count - self.first_count
        return {
            "seconds": round(seconds, 1),
            # what was sent after the first send seen, over the time until the last one
            "msg_per_s": round(sent / seconds, 2) if seconds > 0 else None,
        }


async def watch_sends(
    counters: Any, done: asyncio.Event, until: int | None = None, every_s: float = 0.02
) -> SendRate:
    """Follow the emulator's count of accepted sends (``counters.sent``, on this loop) until
    ``done``, or until it reaches ``until``: when the first one was seen and when the count last
    grew."""
    rate = SendRate()
    baseline = counters.sent
    while not done.is_set() and (until is None or rate.last_count < until):
        sent = counters.sent
        if sent > baseline and rate.first_at is None:
            rate.first_at, rate.first_count = time.monotonic(), sent
        if sent > rate.last_count:
            rate.last_at, rate.last_count = time.monotonic(), sent
        await asyncio.sleep(every_s)
    return rate


async def run_broadcast(
    shared: Shared, recipients: int, concurrency: int | None = None
) -> dict[str, Any]:
    """One broadcast to ``recipients``; ``concurrency`` sends in flight (None: the setting's
    default, ``BROADCAST_CONCURRENCY``)."""
    run_dir: Path = shared.run_dir / "broadcast"
    await asyncio.to_thread(run_dir.mkdir, parents=True, exist_ok=True)
    redis.Redis.from_url(shared.broker.url).flushdb()
    shared.redis_cluster.flush_all_masters()
    db_name = f"bench_bc_{uuid.uuid4().hex[:8]}"
    token = new_token()
    storage = build_storage(shared.secantus.url, db_name, app_name="bench-broadcast")
    processes: list[CeleryWorker | CeleryBeat] = []
    try:
        await migrate(storage.db)
        async with EmulatorServer(EmulatorConfig(tokens=(token,), global_rate=BUDGET_PER_S)) as emu:
            (bot,) = emu.emulator.world.bots.values()
            people = list(range(FIRST, FIRST + recipients))
            now = datetime.now(UTC)
            for uid in [ADMIN, *people]:
                emu.emulator.world.create_user(f"Житель {uid}", user_id=uid)
                bot.started.add(uid)
            await storage.db.users.insert_many(
                [
                    user_to_doc(User(uid, name=f"Житель {uid}", consent_at=now, registered_at=now))
                    for uid in people
                ]
                + [user_to_doc(User(ADMIN, name="Иван", role=Role.ADMIN))]
            )
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(
                    f"{emu.base_url}/bot{token}/sendMessage",
                    json={"chat_id": ADMIN, "text": "Предпросмотр"},
                )
            progress_id = int(answer.json()["result"]["message_id"])
            services = build_services(storage)
            draft = await services.broadcasts.compose(ADMIN, Audience(AudienceKind.ALL), TEXT)
            bid = (await services.broadcasts.confirm(ADMIN, draft.id, ADMIN, progress_id)).id
            env = bulk_worker_env(
                shared,
                db_name,
                token=token,
                api_base_url=emu.base_url,
                budget_per_s=BUDGET_PER_S,
                extra={
                    "BROADCAST_POLL_SECONDS": "1",
                    "BROADCAST_PROGRESS_SECONDS": "3",
                },
            )
            if concurrency is not None:
                env["BROADCAST_CONCURRENCY"] = str(concurrency)
            worker = CeleryWorker(run_dir, name="bench", env=env, concurrency=2)
            beat = CeleryBeat(run_dir, env=env)
            processes += [worker, beat]
            done = asyncio.Event()
            # Watching from before the worker starts: a small broadcast may be over by then.
            sends = asyncio.ensure_future(watch_sends(bot.counters, done))
            await asyncio.gather(asyncio.to_thread(worker.start), asyncio.to_thread(beat.start))
            worker_pids = with_children(worker.process.pid or 0)
            cpu_before = sum(cpu_seconds(p) for p in worker_pids)
            deadline = time.monotonic() + recipients / 10 + 120
            delivered = 0
            while time.monotonic() < deadline:
                delivered = await storage.db.broadcast_recipients.count_documents(
                    {"state": "delivered"}
                )
                found = await storage.broadcasts.get(bid)
                if found is not None and found.state is BroadcastState.DONE:
                    break
                await asyncio.sleep(0.25)
            done.set()
            rate = await sends
            cpu_after = sum(cpu_seconds(p) for p in with_children(worker.process.pid or 0))
            counters = bot.counters
            texts = [
                sum(1 for m in bot.chats[uid].messages.values() if m.text == TEXT)
                if uid in bot.chats
                else 0
                for uid in people
            ]
            return {
                "recipients": recipients,
                "concurrency": concurrency or BroadcastSettings.model_fields["concurrency"].default,
                "delivered": delivered,
                **rate.report(),
                "budget_per_s": BUDGET_PER_S,
                "too_many_requests": counters.rejected_429,
                "max_sends_in_any_second": counters.max_sends_per_second,
                "received_once": sum(1 for n in texts if n == 1),
                "received_twice_or_more": sum(1 for n in texts if n > 1),
                "received_none": sum(1 for n in texts if n == 0),
                "worker_cpu_s_per_1000": round(
                    (cpu_after - cpu_before) / max(delivered, 1) * 1000, 2
                ),
            }
    finally:
        await asyncio.gather(
            *(asyncio.to_thread(p.stop) for p in reversed(processes)), return_exceptions=True
        )
        await storage.close()
        await drop_database(shared.secantus.url, db_name)


async def run_pacing(shared: Shared, sends: int, senders: int = 8) -> dict[str, Any]:
    """The cluster limiter alone, beside the broadcast: ``sends`` messages to distinct chats from
    ``senders`` concurrent senders in this process, through the bot's limited request path to the
    emulator enforcing the same 30/s, with no database work between sends. What the broadcast
    achieves short of this is the fan-out's own work per send (and the machine's load on it)."""
    token = new_token()
    shared.redis_cluster.flush_all_masters()
    client = await connect_redis_cluster(shared.redis_cluster.startup_nodes, max_connections=32)
    try:
        async with EmulatorServer(EmulatorConfig(tokens=(token,), global_rate=BUDGET_PER_S)) as emu:
            (state,) = emu.emulator.world.bots.values()
            chats = list(range(FIRST, FIRST + sends))
            for uid in chats:
                emu.emulator.world.create_user(f"Житель {uid}", user_id=uid)
                state.started.add(uid)
            limiter = RedisOutboundLimiter(client, OutboundLimits(global_rate_per_s=BUDGET_PER_S))
            request = LimitedRequest(limiter=limiter, connection_pool_size=senders + 2)
            async with Bot(token, base_url=emu.bot_api_base, request=request) as bot:
                waiting = list(chats)
                answered: list[float] = []

                async def sender() -> None:
                    while waiting:
                        await bot.send_message(waiting.pop(), TEXT)
                        answered.append(time.monotonic())

                await asyncio.gather(*(sender() for _ in range(senders)))
            counters = state.counters
            seconds = answered[-1] - answered[0]
            return {
                "sends": sends,
                "senders": senders,
                "seconds": round(seconds, 1),
                # from the first answer to the last: what was sent in between, over it
                "msg_per_s": round((len(answered) - 1) / seconds, 2) if seconds else None,
                "budget_per_s": BUDGET_PER_S,
                "delivered": counters.sent,
                "too_many_requests": counters.rejected_429,
                "max_sends_in_any_second": counters.max_sends_per_second,
            }
    finally:
        await close_redis_cluster(client)
