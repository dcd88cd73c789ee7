"""fok.backup: nightly in the beat schedule on queue ``backups``, run by a real Celery worker.

The worker consumes ``backups`` only, so the task running at all shows the routing; its metrics
endpoint (WORKER_METRICS_BIND) shows ``fok_backup_last_success_timestamp_seconds`` taken from the
newest archive at start, then from the backup it made.
"""

from __future__ import annotations

import asyncio
import importlib
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families

from bot.bootstrap import Storage
from bot.services.backup import BackupService, archive_time, list_archives
from devcluster.celery import CeleryWorker
from devcluster.ports import free_port
from devcluster.redis import RedisClusterServer, StandaloneRedisServer
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.server import EmulatorServer
from tests.integration.backup.conftest import NOW, RETENTION, ROOT, contents
from workers.schedule import BACKUP, BACKUP_QUEUE, backup_at

pytestmark = pytest.mark.integration
GAUGE = "fok_backup_last_success_timestamp_seconds"


def celery_app(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The workers' configured Celery app (importing it needs a broker address, never used)."""
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:9/0")
    importlib.import_module("workers.tasks")  # what the worker imports at start (include)
    return importlib.import_module("workers.celery_app").app


def test_the_beat_runs_the_backup_nightly_on_the_backups_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FOK_BEAT_BACKUP_AT", raising=False)
    app = celery_app(monkeypatch)
    entry = app.conf.beat_schedule[BACKUP]
    assert entry["task"] == "fok.backup"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({23}, {30})
    assert entry["schedule"].day_of_week == set(range(7))
    # Where beat's message goes: the entry's options, then the app's routes.
    assert app.amqp.router.route(dict(entry["options"]), BACKUP)["queue"].name == "backups"
    assert BACKUP_QUEUE == "backups"

    task = app.tasks[BACKUP]
    assert task.time_limit > 300  # more than the default limit the other tasks share


def test_the_hour_of_the_backup_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOK_BEAT_BACKUP_AT", "01:05")
    assert backup_at() == (1, 5)
    monkeypatch.setenv("FOK_BEAT_BACKUP_AT", "25:00")
    with pytest.raises(ValueError, match="FOK_BEAT_BACKUP_AT"):
        backup_at()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within_s: float) -> None:
    """Poll ``check`` (another process is doing the work) until it holds or time runs out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"not within {within_s} s: {what}")
        await asyncio.sleep(0.2)


async def test_a_worker_on_the_backups_queue_backs_up_and_exports_the_time(
    populated: Storage,
    backups: BackupService,
    mongo_url: str,
    clean_redis_cluster: RedisClusterServer,
    broker_redis: StandaloneRedisServer,
    tmp_path: Path,
) -> None:
    directory = tmp_path / "backups"
    earlier = await backups.create(directory, RETENTION)  # as the CLI would have, at NOW
    token = f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(30)}"
    metrics_port = free_port()
    env = {
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "MONGO_URL": mongo_url,
        "MONGO_DATABASE": populated.db.name,
        "REDIS_CLUSTER_NODES": ",".join(f"{h}:{p}" for h, p in clean_redis_cluster.startup_nodes),
        "CELERY_BROKER_URL": broker_redis.url,
        "APP_LOG_JSON": "false",
        "BACKUP_DIRECTORY": str(directory),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker-metrics"),
        "WORKER_METRICS_BIND": f"127.0.0.1:{metrics_port}",
    }
    async with EmulatorServer(EmulatorConfig(tokens=(token,))) as emulator:
        env["TELEGRAM_API_BASE_URL"] = emulator.base_url
        worker = CeleryWorker(tmp_path, name="backups1", env=env)
        worker.process.argv += ["--queues", BACKUP_QUEUE]
        await asyncio.to_thread(worker.start)  # the emulator answers the worker's getMe
        try:
            async with httpx.AsyncClient(timeout=5.0) as http:

                async def gauge() -> float:
                    response = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
                    return samples(response.text).get((GAUGE, ()), -1.0)

                async def seeded() -> bool:
                    return await gauge() == NOW.timestamp()

                await eventually(seeded, "the gauge shows the archive made before start", 30)

                producer = Celery(broker=broker_redis.url)
                try:
                    producer.send_task(BACKUP, queue=BACKUP_QUEUE)  # by name, as producers do
                finally:
                    producer.close()

                async def backed_up() -> bool:
                    return len(list_archives(directory)) == 2 and await gauge() > NOW.timestamp()

                await eventually(backed_up, "a second archive and a newer gauge", 60)
                newest = list_archives(directory)[0][1]
                made_at = archive_time(newest.name)
                assert made_at is not None
                assert await gauge() == made_at.timestamp()
                response = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
                tasks = samples(response.text)
                key = ("fok_celery_tasks_total", (("result", "success"), ("task", BACKUP)))
                assert tasks[key] == 1.0
        finally:
            await asyncio.to_thread(worker.stop)

    assert earlier.path in [path for _, path in list_archives(directory)]
    target_before = await contents(populated.db)
    await populated.client.drop_database(populated.db.name)
    restored = await backups.restore(newest)
    assert restored.documents == sum(len(c.documents) for c in target_before.values())
