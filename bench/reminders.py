"""The reminder batch: N reminders due in the same minute, sent by real Celery workers (beat and
worker processes over the real broker), SecantusDB and the Redis Cluster, to the Telegram emulator
enforcing Telegram's 30 messages a second. Reported: the achieved rate against the budget, the 429s
the emulator answered, the most sends it saw within any one second, and that every resident got
the reminder exactly once (as in tests/e2e/workers/test_reminder_batch.py, without the kill).

The rate is counted on the emulator's side: its count of accepted sends, from the first one seen to
the last, over the time between them.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

from bench.broadcast import watch_sends
from bench.procstat import cpu_seconds, with_children
from bench.stack import Shared, bulk_worker_env, drop_database, new_token
from bot.bootstrap import build_storage
from bot.domain.catalog import Complex, District, GeoPoint, Sport
from bot.domain.i18n import LocalizedText
from bot.domain.reminders import Reminder, ReminderKind, reminder_id
from bot.domain.sessions import Session
from bot.domain.users import User
from bot.infra.mongo.migrations import migrate
from bot.infra.mongo.sessions import session_to_doc
from bot.infra.mongo.users import user_to_doc
from devcluster.celery import CeleryBeat, CeleryWorker
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.server import EmulatorServer

FIRST = 8_000_001
COMPLEX = "d1-c00"
BUDGET_PER_S = 30.0


async def _seed(storage: Any, people: list[int]) -> None:
    """A complex, one session an hour from now, and a booking per resident whose hours-before
    reminder fell due half a minute ago: the whole batch due in the same minute."""
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
    now = datetime.now(UTC)
    starts = now.replace(microsecond=0) + timedelta(hours=1)
    session = Session(
        id=secrets.token_hex(12),
        complex_code=COMPLEX,
        sport_code="swim",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        capacity=len(people) + 10,
        booked=len(people),
    )
    await storage.db.sessions.insert_one(session_to_doc(session))
    await storage.db.users.insert_many(
        [
            user_to_doc(User(uid, name=f"Житель {uid}", consent_at=now, registered_at=now))
            for uid in people
        ]
    )
    bookings, reminders = [], []
    for uid in people:
        booking_id = f"{session.id}:{uid}"
        bookings.append(
            {
                "_id": booking_id,
                "session_id": session.id,
                "user_id": uid,
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
                uid,
                booking_id,
                session.id,
                ReminderKind.HOURS_BEFORE,
                now - timedelta(seconds=30),
            )
        )
    await storage.db.bookings.insert_many(bookings)
    await storage.reminders.insert_missing(reminders)


async def run_reminders(shared: Shared, due: int, processes: int = 4) -> dict[str, Any]:
    """Deliver ``due`` reminders with one worker of ``processes`` processes (each claims a few
    at a time and sends them in turn, as the delivery service does)."""
    run_dir: Path = shared.run_dir / "reminders"
    await asyncio.to_thread(run_dir.mkdir, parents=True, exist_ok=True)
    redis.Redis.from_url(shared.broker.url).flushdb()
    shared.redis_cluster.flush_all_masters()
    db_name = f"bench_rem_{uuid.uuid4().hex[:8]}"
    token = new_token()
    storage = build_storage(shared.secantus.url, db_name, app_name="bench-reminders")
    started: list[CeleryWorker | CeleryBeat] = []
    try:
        await migrate(storage.db)
        async with EmulatorServer(EmulatorConfig(tokens=(token,), global_rate=BUDGET_PER_S)) as emu:
            (bot,) = emu.emulator.world.bots.values()
            people = list(range(FIRST, FIRST + due))
            for uid in people:
                emu.emulator.world.create_user(f"Житель {uid}", user_id=uid)
                bot.started.add(uid)
            await _seed(storage, people)
            env = bulk_worker_env(
                shared,
                db_name,
                token=token,
                api_base_url=emu.base_url,
                budget_per_s=BUDGET_PER_S,
                extra={
                    "CELERY_BEAT_DELIVER_REMINDERS_SECONDS": "1",
                },
            )
            worker = CeleryWorker(run_dir, name="bench-rem", env=env, concurrency=processes)
            beat = CeleryBeat(run_dir, env=env)
            started += [worker, beat]
            counters = bot.counters
            done = asyncio.Event()
            # Watching from before the worker starts: a small batch may be sent by then.
            sends = asyncio.ensure_future(watch_sends(counters, done, until=due))
            await asyncio.gather(asyncio.to_thread(worker.start), asyncio.to_thread(beat.start))
            cpu_before = sum(cpu_seconds(p) for p in with_children(worker.process.pid or 0))
            await asyncio.wait([sends], timeout=due + 120)  # a generous 1/s: a slow run ends
            done.set()
            rate = await sends
            cpu_after = sum(cpu_seconds(p) for p in with_children(worker.process.pid or 0))
            # Anything sent after the batch (a duplicate) would show in the counts below.
            await asyncio.sleep(2)
            per_chat = Counter(
                {uid: len(bot.chats[uid].messages) if uid in bot.chats else 0 for uid in people}
            )
            docs = await storage.db.reminders.find({}, {"status": 1, "_id": 0}).to_list()
            statuses = Counter(str(doc["status"]) for doc in docs)
            sent = counters.sent
            return {
                "due": due,
                "worker_processes": processes,
                "delivered": sum(1 for n in per_chat.values() if n >= 1),
                **rate.report(),
                "budget_per_s": BUDGET_PER_S,
                "too_many_requests": counters.rejected_429,
                "max_sends_in_any_second": counters.max_sends_per_second,
                "sent": sent,
                "duplicates": sum(n - 1 for n in per_chat.values() if n > 1),
                "reminder_statuses": dict(statuses),
                "worker_cpu_s_per_1000": round((cpu_after - cpu_before) / max(sent, 1) * 1000, 2),
            }
    finally:
        await asyncio.gather(
            *(asyncio.to_thread(p.stop) for p in reversed(started)), return_exceptions=True
        )
        await storage.close()
        await drop_database(shared.secantus.url, db_name)
