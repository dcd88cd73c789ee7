"""Celery tasks: each is one call into bot.services on the worker process's event loop."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from datetime import timedelta
from typing import Any, TypeVar

from celery.signals import worker_process_init, worker_process_shutdown

from bot.infra.metrics import CELERY_TASKS
from bot.settings import load_settings
from workers.celery_app import app
from workers.runtime import WorkerRuntime, open_worker
from workers.schedule import DELIVER_NOTICES, DELIVER_REMINDERS, EXPIRE_OFFERS, GENERATE_SESSIONS

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
