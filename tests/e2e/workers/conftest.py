"""Real Celery workers and beats on the real broker, SecantusDB, the Redis Cluster and the emulator.

``fleet`` gives a test a fresh database with a small catalog, the in-process emulator (whose
counters are Telegram's side of every limit), the flushed broker and cluster, and starts worker and
beat processes on demand with the settings the test shortens; all are stopped when it ends.
People and their bookings are written straight to MongoDB (a thousand through the services would
be the slow part of the test, not what it is about).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import Storage, build_services, build_storage
from bot.domain.catalog import Complex, District, GeoPoint, Sport
from bot.domain.i18n import LocalizedText
from bot.domain.reminders import Reminder, ReminderKind, reminder_id
from bot.domain.sessions import Session
from bot.domain.users import User
from bot.infra.mongo.migrations import migrate
from bot.infra.mongo.sessions import session_to_doc
from bot.infra.mongo.users import user_to_doc
from bot.services.container import Services
from devcluster.celery import CeleryBeat, CeleryWorker
from devcluster.redis import RedisClusterServer, StandaloneRedisServer
from telegram_emulator.bot_state import BotState
from telegram_emulator.client import EmulatorClient
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.server import EmulatorServer

COMPLEX = "d1-c00"
FIRST_USER = 5_000_001
# What every test's workers run with unless it says otherwise: fast periods and retries.
FAST = {
    "CELERY_BEAT_LOCK_TIMEOUT_SECONDS": "3",
    "CELERY_BEAT_TAKEOVER_SECONDS": "4",
    "CELERY_BEAT_DELIVER_NOTICES_SECONDS": "1",
    "CELERY_BEAT_DELIVER_REMINDERS_SECONDS": "1",
    "CELERY_BEAT_EXPIRE_OFFERS_SECONDS": "1",
    "CELERY_BEAT_OBSERVE_SECONDS": "1",
    "CELERY_DELIVERY_LEASE_SECONDS": "4",
    "CELERY_DELIVERY_RETRY_INITIAL_SECONDS": "1",
    "CELERY_DELIVERY_RETRY_MAX_SECONDS": "3",
    "LIMITS_GLOBAL_SENDS_PER_SECOND": "25",
}


@dataclass
class Fleet:
    run_dir: Path
    emulator: EmulatorServer
    client: EmulatorClient
    storage: Storage
    services: Services
    base_env: dict[str, str]
    broker_url: str
    workers: list[CeleryWorker] = field(default_factory=list)
    beats: list[CeleryBeat] = field(default_factory=list)

    @property
    def bot(self) -> BotState:
        (bot,) = self.emulator.emulator.world.bots.values()
        return bot

    def env(self, **overrides: str) -> dict[str, str]:
        return {**self.base_env, **FAST, **overrides}

    async def start_worker(
        self, name: str, *, concurrency: int = 2, wait: bool = True, **env: str
    ) -> CeleryWorker:
        worker = CeleryWorker(self.run_dir, name=name, env=self.env(**env), concurrency=concurrency)
        self.workers.append(worker)
        await asyncio.to_thread(worker.start, wait=wait)
        return worker

    async def start_beats(self, **env: str) -> CeleryBeat:
        beats = CeleryBeat(self.run_dir, env=self.env(**env))
        self.beats.append(beats)
        await asyncio.to_thread(beats.start)
        return beats

    # --- people, sessions, reminders, written straight to the stores ------------------------

    def people(self, count: int, first: int = FIRST_USER) -> list[int]:
        """``count`` registered residents who have talked to the bot (so it may write to them)."""
        ids = list(range(first, first + count))
        world = self.emulator.emulator.world
        for user_id in ids:
            world.create_user(f"Житель {user_id}", user_id=user_id)
            self.bot.started.add(user_id)
        return ids

    async def register(self, ids: Iterable[int]) -> None:
        now = datetime.now(UTC)
        docs = [
            user_to_doc(
                User(
                    user_id,
                    name=f"Житель {user_id}",
                    phone=f"+7916{user_id % 10**7:07d}",
                    consent_at=now,
                    registered_at=now,
                )
            )
            for user_id in ids
        ]
        await self.storage.db.users.insert_many(docs)

    async def session(self, starts_in: timedelta, capacity: int = 2000) -> Session:
        starts = datetime.now(UTC).replace(microsecond=0) + starts_in
        session = Session(
            id=secrets.token_hex(12),
            complex_code=COMPLEX,
            sport_code="swim",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            capacity=capacity,
        )
        await self.storage.db.sessions.insert_one(session_to_doc(session))
        return session

    async def book(
        self, session: Session, ids: Iterable[int], *, due_in: timedelta = timedelta(0)
    ) -> list[str]:
        """Active bookings with their hours-before reminder due ``due_in`` from now."""
        now = datetime.now(UTC)
        bookings, reminders = [], []
        for user_id in ids:
            booking_id = f"{session.id}:{user_id}"
            bookings.append(
                {
                    "_id": booking_id,
                    "session_id": session.id,
                    "user_id": user_id,
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                    "queued_at": None,
                    "offer_expires_at": None,
                    "attendance": None,
                    "attendance_by": None,
                    "attendance_at": None,
                    "confirmed_at": None,
                }
            )
            reminders.append(
                Reminder(
                    reminder_id(booking_id, ReminderKind.HOURS_BEFORE),
                    user_id,
                    booking_id,
                    session.id,
                    ReminderKind.HOURS_BEFORE,
                    now + due_in,
                )
            )
        await self.storage.db.bookings.insert_many(bookings)
        await self.storage.db.sessions.update_one(
            {"_id": session.id}, {"$inc": {"booked": len(bookings)}}
        )
        await self.storage.reminders.insert_missing(reminders)
        return [r.id for r in reminders]

    # --- what Telegram saw ------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[Any]:
        log = self.bot.chats.get(chat_id)
        return list(log.messages.values()) if log is not None else []

    def delivered(self, ids: Iterable[int]) -> dict[int, int]:
        return {user_id: len(self.messages_to(user_id)) for user_id in ids}


async def until(
    check: Callable[[], Awaitable[bool]], what: str, within_s: float = 60.0, every_s: float = 0.2
) -> None:
    """Wait for a state the processes reach on their own; fail naming it."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        if await check():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within_s:.0f} s: {what}")
        await asyncio.sleep(every_s)


async def _catalog(storage: Storage) -> None:
    await storage.catalog.upsert_district(District("d1", LocalizedText({"ru": "Район"})))
    await storage.catalog.upsert_sport(Sport("swim", LocalizedText({"ru": "Плавание"}), "🏊"))
    await storage.catalog.upsert_complex(
        Complex(
            code=COMPLEX,
            name=LocalizedText({"ru": "ФОК «Олимп»"}),
            district="d1",
            address=LocalizedText({"ru": "ул. Лескова, 12"}),
            sports=("swim",),
            location=GeoPoint(56.3, 44.0),
        )
    )


@pytest.fixture
async def fleet(
    tmp_path: Path,
    mongo_url: str,
    mongo_db_name: str,
    clean_redis_cluster: RedisClusterServer,
    broker_redis: StandaloneRedisServer,
) -> AsyncIterator[Fleet]:
    token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(30)}"
    storage = build_storage(mongo_url, mongo_db_name, app_name="e2e-workers")
    await migrate(storage.db)
    await _catalog(storage)
    async with (
        EmulatorServer(EmulatorConfig(tokens=(token,))) as emulator,
        EmulatorClient(emulator.base_url, token) as client,
    ):
        base_env = {
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
        }
        fleet = Fleet(
            tmp_path,
            emulator,
            client,
            storage,
            build_services(storage),
            base_env,
            broker_redis.url,
        )
        try:
            yield fleet
        finally:
            # Off the loop: the emulator (on this loop) must keep answering while they stop.
            stops = [asyncio.to_thread(b.stop) for b in fleet.beats]
            stops += [asyncio.to_thread(w.stop) for w in fleet.workers]
            await asyncio.gather(*stops, return_exceptions=True)
            await storage.close()
