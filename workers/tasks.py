"""Celery tasks: each is one call into bot.services on the worker process's event loop.

A worker process opens its clients (MongoDB, Redis Cluster, the Bot) lazily, at its first task,
on its own event loop: a worker started while the cluster is down stays up, each task that finds
it down fails (the next period's run tries again), and the first one after it is back opens them.
Each task has its own soft and hard time limits; a delivery run also stops claiming new items
after ``CELERY_DELIVERY_RUN_SECONDS``, well before its soft limit.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_process_shutdown

from bot.bootstrap import ProcessRole, process_secrets, start_tracing
from bot.infra.export_queue import EXPORT_TASK
from bot.infra.mongo.backup import mongo_backup_service
from bot.services.backup import RetentionPolicy, latest_backup_time
from bot.services.delivery import DeliveryReport
from bot.settings import BackupSettings, SettingsError, load_section, load_settings
from workers.celery_app import app
from workers.metrics import (
    record_backlog,
    record_backup_success,
    record_delivery,
    record_repair,
    record_task,
)
from workers.runtime import WorkerRuntime, open_worker
from workers.schedule import (
    BACKUP,
    DELIVER_NOTICES,
    DELIVER_REMINDERS,
    EXPIRE_OFFERS,
    GENERATE_SESSIONS,
    OBSERVE_DELIVERY,
    REPAIR,
    SEND_BROADCASTS,
    WEEKLY_REPORT,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

_loop: asyncio.AbstractEventLoop | None = None
_opened: AbstractAsyncContextManager[WorkerRuntime] | None = None
_runtime: WorkerRuntime | None = None


class RuntimeUnavailable(RuntimeError):
    """The worker could not open its clients (the cluster is down); a later task tries again."""


def _ensure_runtime() -> tuple[asyncio.AbstractEventLoop, WorkerRuntime]:
    """Built once per worker process, after fork, on the process's own loop; retried by the
    next task when the cluster was not reachable."""
    global _loop, _opened, _runtime
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    if _runtime is None:
        opened = open_worker(load_settings(), name=_process_name())
        try:
            _runtime = _loop.run_until_complete(opened.__aenter__())
        except Exception as error:  # whatever was opened was closed again by the exit stack
            log.warning(
                "worker cannot reach the cluster yet (%s); the next task tries again", error
            )
            raise RuntimeUnavailable(str(error)) from error
        _opened = opened
    return _loop, _runtime


def _discard_runtime() -> None:
    """After a task was cut off mid-way (soft time limit): close everything, start afresh."""
    global _loop, _opened, _runtime
    loop, opened = _loop, _opened
    _loop = _opened = _runtime = None
    if loop is None:
        return
    try:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        if opened is not None:
            loop.run_until_complete(opened.__aexit__(None, None, None))
    except Exception:
        log.exception("closing a worker runtime that was cut off failed")
    finally:
        loop.close()


@worker_process_init.connect
def _on_process_init(**_: Any) -> None:
    # No clients here: a child that cannot reach the cluster must not fail to start.
    _seed_backup_gauge()
    _start_tracing()


def _start_tracing() -> None:
    """Before the first task: Celery's task spans start at its prerun signal."""
    try:
        settings = load_settings()
    except SettingsError:
        return  # the first task reports it, with the variables' names
    start_tracing(settings.tracing, ProcessRole.WORKER, _process_name(), process_secrets(settings))


def _process_name() -> str:
    return f"worker-{os.getpid()}"


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
    if _loop is not None and _opened is not None and not _loop.is_closed():
        _loop.run_until_complete(_opened.__aexit__(None, None, None))
        _opened = _runtime = None


def _run(task: str, work: Callable[[WorkerRuntime], Awaitable[T]]) -> T:
    started = time.monotonic()
    try:
        loop, runtime = _ensure_runtime()
        result = loop.run_until_complete(work(runtime))
    except RuntimeUnavailable:
        record_task(task, "failure", time.monotonic() - started)  # warned once, no traceback
        raise
    except SoftTimeLimitExceeded:
        record_task(task, "failure", time.monotonic() - started)
        log.error("task %s ran into its soft time limit; the worker's clients are reopened", task)
        _discard_runtime()
        raise
    except Exception:
        record_task(task, "failure", time.monotonic() - started)
        log.exception("task %s failed", task)
        raise
    record_task(task, "success", time.monotonic() - started)
    return result


def _deliver(
    task: str, kind: str, deliver: Callable[[WorkerRuntime], Awaitable[DeliveryReport]]
) -> dict[str, int]:
    report = _run(task, deliver)
    record_delivery(kind, report)
    return report.counts()


# Soft/hard time limits (seconds) per task. A delivery run stops claiming after
# CELERY_DELIVERY_RUN_SECONDS (at most 200), and a send waits at most 30 s for the limiter.
# RuntimeUnavailable is expected while the cluster is away: Celery logs it without a traceback.
DELIVERY_LIMITS: dict[str, Any] = {
    "soft_time_limit": 240,
    "time_limit": 300,
    "throws": (RuntimeUnavailable,),
}
UPKEEP_LIMITS: dict[str, Any] = {
    "soft_time_limit": 120,
    "time_limit": 180,
    "throws": (RuntimeUnavailable,),
}
OBSERVE_LIMITS: dict[str, Any] = {
    "soft_time_limit": 30,
    "time_limit": 45,
    "throws": (RuntimeUnavailable,),
}


@app.task(name=DELIVER_NOTICES, **DELIVERY_LIMITS)
def deliver_notices(limit: int = 1000) -> dict[str, int]:
    return _deliver(
        DELIVER_NOTICES,
        "notice",
        lambda r: r.delivery.deliver_notices(limit, until=r.services.clock.now() + r.run_budget),
    )


@app.task(name=DELIVER_REMINDERS, **DELIVERY_LIMITS)
def deliver_reminders(limit: int = 1000) -> dict[str, int]:
    return _deliver(
        DELIVER_REMINDERS,
        "reminder",
        lambda r: r.delivery.deliver_reminders(limit, until=r.services.clock.now() + r.run_budget),
    )


@app.task(name=EXPIRE_OFFERS, **UPKEEP_LIMITS)
def expire_offers(limit: int = 100) -> int:
    return _run(EXPIRE_OFFERS, lambda r: r.services.bookings.expire_offers(limit))


@app.task(name=GENERATE_SESSIONS, **DELIVERY_LIMITS)
def generate_sessions(days: int = 14) -> int:
    async def generate(runtime: WorkerRuntime) -> int:
        today = runtime.services.clock.now().date()
        return await runtime.services.schedule.generate(today - timedelta(days=1), days + 1)

    return _run(GENERATE_SESSIONS, generate)


@app.task(name=OBSERVE_DELIVERY, **OBSERVE_LIMITS)
def observe_delivery() -> dict[str, int]:
    """The delivery gauges from MongoDB: outbox backlog, oldest and parked; overdue reminders."""

    async def observe(runtime: WorkerRuntime) -> dict[str, int]:
        backlog = await runtime.delivery.backlog()
        record_backlog(backlog, runtime.services.clock.now())
        return {
            "outbox_backlog": backlog.notices.backlog,
            "outbox_parked": backlog.notices.parked,
            "reminders_overdue": backlog.reminders.overdue,
            "reminders_parked": backlog.reminders.parked,
        }

    return _run(OBSERVE_DELIVERY, observe)


@app.task(name=REPAIR, **UPKEEP_LIMITS)
def repair() -> dict[str, int]:
    """Finish what multi-step writes cut off midway left wrong; how many of each kind were fixed
    (logged, audited as the system, counted in ``fok_repairs_total``)."""

    async def run(runtime: WorkerRuntime) -> dict[str, int]:
        report = await runtime.services.repair.run()
        record_repair(report)
        return report.counts()

    return _run(REPAIR, run)


# A broadcast run sends for at most BROADCAST_RUN_SECONDS (at most 200), a send waiting at most
# 30 s for the limiter; the next run goes on with the same broadcast.
BROADCAST_LIMITS = {"soft_time_limit": 240, "time_limit": 300}


@app.task(name=SEND_BROADCASTS, **BROADCAST_LIMITS)
def send_broadcasts() -> dict[str, int | str | bool | None]:
    """Fan out the broadcast at the head of the queue; show the final counts of ended ones."""

    async def fan_out(runtime: WorkerRuntime) -> dict[str, int | str | bool | None]:
        run_for = timedelta(seconds=runtime.settings.broadcast.run_seconds)
        report = await runtime.broadcasts.run(until=runtime.services.clock.now() + run_for)
        return report.counts()

    return _run(SEND_BROADCASTS, fan_out)


# The weekly report: a workbook per staff member; a send that failed for a transient reason is
# tried again (each report is sent once: the ones that went out are recorded).
REPORT_LIMITS = {"soft_time_limit": 900, "time_limit": 960}
REPORT_RETRY_S = 300
REPORT_RETRIES = 12


@app.task(name=WEEKLY_REPORT, bind=True, max_retries=REPORT_RETRIES, **REPORT_LIMITS)
def weekly_report(self: Any) -> dict[str, int | str]:
    """Last week's Excel report to every staff member who gets it."""
    run = _run(WEEKLY_REPORT, lambda r: r.services.reports.send_weekly(r.weekly_reports))
    if run.retry:
        raise self.retry(countdown=REPORT_RETRY_S)
    return run.counts()


# A backup may take longer than the default limits (300 s); it stays under the broker's
# visibility timeout (3600 s), after which an unacknowledged task would be delivered again.
BACKUP_TIME_LIMIT_S = 3000
BACKUP_SOFT_TIME_LIMIT_S = 2700


# A large export (staff statistics, «📥 Выгрузка»): queue ``reports`` (routed by its name).
# Below the job's lease (bot.services.exports.JOB_LEASE), so a running job is never taken twice.
EXPORT_LIMITS = {"soft_time_limit": 600, "time_limit": 660}


@app.task(name=EXPORT_TASK, **EXPORT_LIMITS)
def report_export(job_id: str) -> str | None:
    """Build the export job ``job_id`` and send it (once: a job done is not built again)."""

    async def export(runtime: WorkerRuntime) -> str | None:
        status = await runtime.services.exports.run_job(job_id, runtime.exports)
        return status.value if status is not None else None

    return _run(EXPORT_TASK, export)


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
