"""Celery tasks: each is one call into bot.services on the worker process's event loop."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from celery.signals import worker_process_init, worker_process_shutdown

from bot.infra.metrics import CELERY_TASKS
from bot.infra.mongo.backup import mongo_backup_service
from bot.services.backup import RetentionPolicy, latest_backup_time
from bot.settings import BackupSettings, SettingsError, load_section, load_settings
from workers.celery_app import app
from workers.metrics import record_backup_success
from workers.runtime import WorkerRuntime, open_worker
from workers.schedule import (
    BACKUP,
    DELIVER_NOTICES,
    DELIVER_REMINDERS,
    EXPIRE_OFFERS,
    GENERATE_SESSIONS,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_opened: AbstractAsyncContextManager[WorkerRuntime] | None = None
_runtime: WorkerRuntime | None = None


def _ensure_runtime() -> tuple[asyncio.AbstractEventLoop, WorkerRuntime]:
    """Built once per worker process, after fork, on the process's own loop."""
    global _loop, _opened, _runtime
    if _loop is None:
        _loop = asyncio.new_event_loop()
    if _runtime is None:
        opened = open_worker(load_settings(), name=f"worker-{os.getpid()}")
        _runtime = _loop.run_until_complete(opened.__aenter__())
        _opened = opened
    return _loop, _runtime


@worker_process_init.connect
def _on_process_init(**_: Any) -> None:
    _ensure_runtime()
    _seed_backup_gauge()


def _seed_backup_gauge() -> None:
    """A restarted worker reports the newest archive on disk, not "never backed up"."""
    try:
        latest = latest_backup_time(Path(load_section(BackupSettings).directory))
    except (OSError, SettingsError) as error:
        log.warning("cannot look for backups: %s", error)
        return
    if latest is not None:
        record_backup_success(latest)


@worker_process_shutdown.connect
def _on_process_shutdown(**_: Any) -> None:
    global _opened, _runtime
    if _loop is not None and _opened is not None:
        _loop.run_until_complete(_opened.__aexit__(None, None, None))
        _opened = _runtime = None


def _run(task: str, work: Callable[[WorkerRuntime], Awaitable[T]]) -> T:
    loop, runtime = _ensure_runtime()
    try:
        result = loop.run_until_complete(work(runtime))
    except Exception:
        CELERY_TASKS.labels(task=task, result="failure").inc()
        log.exception("task %s failed", task)
        raise
    CELERY_TASKS.labels(task=task, result="success").inc()
    return result


@app.task(name=DELIVER_NOTICES)
def deliver_notices(limit: int = 50) -> dict[str, int]:
    return asdict(_run(DELIVER_NOTICES, lambda r: r.delivery.deliver_notices(limit)))


@app.task(name=DELIVER_REMINDERS)
def deliver_reminders(limit: int = 50) -> dict[str, int]:
    return asdict(_run(DELIVER_REMINDERS, lambda r: r.delivery.deliver_reminders(limit)))


@app.task(name=EXPIRE_OFFERS)
def expire_offers(limit: int = 100) -> int:
    return _run(EXPIRE_OFFERS, lambda r: r.services.bookings.expire_offers(limit))


@app.task(name=GENERATE_SESSIONS)
def generate_sessions(days: int = 14) -> int:
    async def generate(runtime: WorkerRuntime) -> int:
        today = runtime.services.clock.now().date()
        return await runtime.services.schedule.generate(today - timedelta(days=1), days + 1)

    return _run(GENERATE_SESSIONS, generate)


# A backup may take longer than the default limits (300 s); it stays under the broker's
# visibility timeout (3600 s), after which an unacknowledged task would be delivered again.
BACKUP_TIME_LIMIT_S = 3000
BACKUP_SOFT_TIME_LIMIT_S = 2700


@app.task(name=BACKUP, time_limit=BACKUP_TIME_LIMIT_S, soft_time_limit=BACKUP_SOFT_TIME_LIMIT_S)
def backup() -> dict[str, Any]:
    """The nightly backup: the same code as ``admin_tools.py backup``, into BACKUP_DIRECTORY.

    Runs on the ``backups`` queue (``workers.schedule``): only the worker that has the directory.
    """

    async def back_up(runtime: WorkerRuntime) -> dict[str, Any]:
        settings = load_section(BackupSettings)
        retention = RetentionPolicy(
            settings.retention_count, timedelta(days=settings.retention_days)
        )
        service = mongo_backup_service(runtime.process.storage.db, clock=runtime.services.clock)
        report = await service.create(Path(settings.directory), retention)
        record_backup_success(report.manifest.created_at)
        for path, reason in report.pruned.failed:
            log.warning("could not remove old backup %s: %s", path.name, reason)
        log.info(
            "backup %s: %d documents in %d collections; %d old archives removed",
            report.path.name,
            report.manifest.documents,
            len(report.manifest.collections),
            len(report.pruned.removed),
        )
        return {
            "archive": report.path.name,
            "documents": report.manifest.documents,
            "collections": len(report.manifest.collections),
            "removed": [path.name for path in report.pruned.removed],
        }

    return _run(BACKUP, back_up)
