"""A large export end to end: the bot's services hand the job by name to queue ``reports``, a
real Celery worker consuming only that queue builds it from SecantusDB, shows its progress in a
message of its own and sends the workbook through the Telegram emulator (and so through the
cluster-wide outbound limiter), once."""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from openpyxl import load_workbook

from bot.bootstrap import build_services, build_storage
from bot.domain.applications import new_application
from bot.domain.catalog import Complex, District, Sport
from bot.domain.i18n import LocalizedText
from bot.domain.reports import PeriodKind
from bot.domain.users import Role, User
from bot.infra.export_queue import REPORTS_QUEUE, CeleryExportQueue
from bot.infra.mongo.migrations import migrate
from bot.services.exports import ExportRequest, ExportResult
from bot.services.ports.reports import ExportKind
from bot.telegram.staff.exports import export_labels
from devcluster.celery import CeleryWorker
from devcluster.redis import RedisClusterServer, StandaloneRedisServer
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.server import EmulatorServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ADMIN = 700_001
ROWS = 700  # over the 500 built while the staff member waits


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within_s: float) -> None:
    """Poll ``check`` (another process is doing the work) until it holds or time runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {within_s} s: {what}")
        await asyncio.sleep(0.2)


async def test_a_worker_on_queue_reports_builds_the_export_and_sends_it(
    mongo_url: str,
    mongo_db_name: str,
    clean_redis_cluster: RedisClusterServer,
    broker_redis: StandaloneRedisServer,
    tmp_path: Path,
) -> None:
    storage = build_storage(mongo_url, mongo_db_name, app_name="tests-export-worker")
    await migrate(storage.db)
    await storage.catalog.upsert_district(District("d1", LocalizedText.of("Центральный")))
    await storage.catalog.upsert_sport(Sport("swim", LocalizedText.of("Плавание")))
    await storage.catalog.upsert_complex(
        Complex(
            "c1",
            LocalizedText.of("ФОК «Волна»"),
            "d1",
            LocalizedText.of("ул. Речная, 1"),
            ("swim",),
        )
    )
    now = datetime.now(UTC)
    await storage.users.save(User(ADMIN, "Админ", registered_at=now, role=Role.ADMIN))
    for index in range(ROWS):
        await storage.applications.insert(
            new_application(
                application_id=f"{index:024x}",
                user_id=10_000 + index,
                complex_code="c1",
                sport_code="swim",
                at=now - timedelta(minutes=index + 1),
                comment=None,
                applicant_name=f"Житель {index}",
                applicant_phone=None,
                number=index + 1,
            )
        )
    broker = redis.Redis.from_url(broker_redis.url)
    token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(30)}"
    env = {
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "MONGO_URL": mongo_url,
        "MONGO_DATABASE": mongo_db_name,
        "REDIS_CLUSTER_NODES": ",".join(f"{h}:{p}" for h, p in clean_redis_cluster.startup_nodes),
        "CELERY_BROKER_URL": broker_redis.url,
        "APP_LOG_JSON": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker-metrics"),
    }
    queue = CeleryExportQueue(broker_redis.url)
    services = build_services(storage, export_queue=queue)
    try:
        async with EmulatorServer(EmulatorConfig(tokens=(token,))) as emulator:
            world = emulator.emulator.world
            world.create_user("Админ", user_id=ADMIN)
            bot = world.bots_by_token[token]
            bot.started.add(ADMIN)
            env["TELEGRAM_API_BASE_URL"] = emulator.base_url
            outcome = await services.exports.request(
                ADMIN,
                ExportRequest(
                    ExportKind.APPLICATIONS,
                    PeriodKind.WEEK,
                    None,
                    ADMIN,
                    "ru",
                    export_labels("ru"),
                ),
            )
            assert outcome.result is ExportResult.QUEUED
            assert broker.llen(REPORTS_QUEUE) == 1  # waiting for a worker of that queue

            worker = CeleryWorker(tmp_path, name="reports1", env=env)
            worker.process.argv += ["--queues", REPORTS_QUEUE]
            await asyncio.to_thread(worker.start)
            try:

                async def finished() -> bool:
                    job = await storage.db.export_jobs.find_one({})
                    return job is not None and job["status"] in ("done", "failed")

                await eventually(finished, "the worker finished the job", 90)
            finally:
                await asyncio.to_thread(worker.stop)

            job = await storage.db.export_jobs.find_one({})
            assert job is not None
            assert (job["status"], job["attempts"]) == ("done", 1)
            messages = list(bot.chats[ADMIN].messages.values())
            documents = [m for m in messages if m.document is not None]
            assert len(documents) == 1
            document = documents[0].document
            assert document is not None
            assert document.file_name.startswith("applications_")
            book = load_workbook(io.BytesIO(document.content), read_only=True)
            try:
                rows = list(book["Заявки"].iter_rows(values_only=True))
            finally:
                book.close()
            assert len(rows) == 1 + ROWS
            assert rows[1][0] == str(ROWS)  # the oldest first
            progress = next(m for m in messages if m.message_id == job["progress_message_id"])
            assert progress.text == f"✅ Выгрузка «Заявки» готова: {ROWS} строк."
            assert progress.edit_date is not None  # one message, edited as it went
            assert [m.message_id for m in messages if m.text and "Собираю" in m.text] == []
    finally:
        queue.close()
        broker.close()
        await storage.close()
