"""Exports over the real adapters: the job handed to the broker by task name on queue ``reports``
(where the workers' app routes it), and workbooks built from SecantusDB by the services the
composition root wires, inline and as a worker's job, read back with openpyxl."""

from __future__ import annotations

import base64
import importlib
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from openpyxl import load_workbook

from bot.bootstrap import Storage, build_services, build_storage
from bot.domain.applications import new_application
from bot.domain.catalog import Complex, District, Sport
from bot.domain.i18n import LocalizedText
from bot.domain.reports import PeriodKind
from bot.domain.users import Role, User
from bot.infra.export_queue import EXPORT_TASK, REPORTS_QUEUE, CeleryExportQueue
from bot.infra.mongo.migrations import migrate
from bot.services.exports import ExportRequest, ExportResult
from bot.services.ports.reports import ExportJob, ExportKind, ExportStatus
from bot.telegram.staff.exports import export_labels
from devcluster.redis import StandaloneRedisServer
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ADMIN = 900


def test_the_workers_route_the_export_task_to_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    importlib.import_module("workers.tasks")
    app = importlib.import_module("workers.celery_app").app
    schedule = importlib.import_module("workers.schedule")
    assert schedule.REPORTS_QUEUE == REPORTS_QUEUE
    assert app.amqp.router.route({}, EXPORT_TASK)["queue"].name == REPORTS_QUEUE
    task = app.tasks[EXPORT_TASK]
    assert task.soft_time_limit < 15 * 60  # below the job's lease: never taken twice


async def test_a_job_is_published_by_name_on_the_reports_queue(
    broker_redis: StandaloneRedisServer,
) -> None:
    client = redis.Redis.from_url(broker_redis.url)
    client.delete(REPORTS_QUEUE)
    queue = CeleryExportQueue(broker_redis.url)
    try:
        await queue.enqueue("job-42")
    finally:
        queue.close()
    (raw,) = client.lrange(REPORTS_QUEUE, 0, -1)
    message = json.loads(raw)
    assert message["headers"]["task"] == EXPORT_TASK
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert (args, kwargs) == (["job-42"], {})
    assert message["properties"]["delivery_info"]["routing_key"] == REPORTS_QUEUE
    assert message["headers"]["expires"] is not None
    client.delete(REPORTS_QUEUE)
    client.close()


@dataclass
class RecordingSender:
    progress_seen: list[tuple[int, int]] = field(default_factory=list)
    delivered: list[tuple[str, bytes, int]] = field(default_factory=list)
    failures: int = 0

    async def progress(self, job: ExportJob, done: int, total: int) -> int | None:
        self.progress_seen.append((done, total))
        return 77

    async def deliver(self, job: ExportJob, filename: str, content: bytes, rows: int) -> None:
        self.delivered.append((filename, content, rows))

    async def failed(self, job: ExportJob) -> None:
        self.failures += 1


@dataclass
class RecordingQueue:
    queued: list[str] = field(default_factory=list)

    async def enqueue(self, job_id: str) -> None:
        self.queued.append(job_id)


@pytest.fixture
async def storage(mongo_url: str, mongo_db_name: str) -> AsyncIterator[Storage]:
    store = build_storage(mongo_url, mongo_db_name, app_name="tests-exports")
    await migrate(store.db)
    await store.catalog.upsert_district(District("d1", LocalizedText.of("Центральный")))
    await store.catalog.upsert_sport(Sport("swim", LocalizedText.of("Плавание")))
    await store.catalog.upsert_complex(
        Complex(
            "c1",
            LocalizedText.of("ФОК «Волна»"),
            "d1",
            LocalizedText.of("ул. Речная, 1"),
            ("swim",),
            timezone="Asia/Yekaterinburg",  # UTC+5: local times there, not Moscow's
        )
    )
    await store.users.save(User(ADMIN, "Админ", registered_at=NOW, role=Role.ADMIN))
    yield store
    await store.close()


def rows_of(content: bytes, sheet: str) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return list(book[sheet].iter_rows(values_only=True))
    finally:
        book.close()


async def test_workbooks_from_the_database_inline_and_by_a_worker(storage: Storage) -> None:
    clock = FakeClock(NOW)
    queue = RecordingQueue()
    services = build_services(storage, clock, export_queue=queue)
    for index in range(600):
        await storage.applications.insert(
            new_application(
                application_id=f"{index:024x}",
                user_id=10_000 + index,
                complex_code="c1",
                sport_code="swim",
                at=NOW - timedelta(hours=index),
                comment="с ребёнком" if index == 0 else None,
                applicant_name=f"Житель {index}",
                applicant_phone="+79160000000",
                number=index + 1,
            )
        )
    labels = export_labels("ru")
    week = await services.exports.request(
        ADMIN, ExportRequest(ExportKind.APPLICATIONS, PeriodKind.TODAY, None, ADMIN, "ru", labels)
    )
    # Today in Yekaterinburg: from 22.11 19:00 UTC; applications every hour back from 09:00.
    assert week.result is ExportResult.BUILT
    assert week.rows == 15
    assert week.file is not None
    rows = rows_of(week.file.content, "Заявки")
    assert rows[0][:3] == ("ID заявки", "Дата подачи", "Имя заявителя")
    assert [row[0] for row in rows[1:]] == [str(n) for n in range(15, 0, -1)]
    newest = rows[-1]
    assert newest[1] == datetime(2026, 11, 23, 14, 0)  # 09:00 UTC is 14:00 there
    assert newest[4:7] == ("ФОК «Волна»", "Центральный", "ул. Речная, 1")
    assert newest[9] == "с ребёнком"

    month = await services.exports.request(
        ADMIN, ExportRequest(ExportKind.APPLICATIONS, PeriodKind.MONTH, None, ADMIN, "ru", labels)
    )
    assert month.result is ExportResult.QUEUED
    assert month.rows == 600
    (job_id,) = queue.queued
    sender = RecordingSender()
    assert await services.exports.run_job(job_id, sender) is ExportStatus.DONE
    assert sender.progress_seen[0] == (0, 600)
    assert (500, 600) in sender.progress_seen
    ((filename, content, count),) = sender.delivered
    assert (filename, count) == ("applications_20261025_20261123.xlsx", 600)
    rows = rows_of(content, "Заявки")
    assert len(rows) == 601
    history = rows_of(content, "История")
    assert len(history) == 601  # one change each: submitted
    job = await storage.db.export_jobs.find_one({"_id": job_id})
    assert job is not None
    assert (job["status"], job["progress_message_id"], job["attempts"]) == ("done", 77, 1)
    assert await services.exports.run_job(job_id, sender) is None
    assert len(sender.delivered) == 1
    audit = [d async for d in storage.db.audit_log.find({"action": "export.applications"})]
    assert sorted(d["details"]["built"] for d in audit) == ["inline", "queued"]
