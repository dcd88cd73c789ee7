"""The ExportQueue port over Celery: a large export's job id sent by task name to queue
``reports`` (producers enqueue by name; nothing in ``bot`` imports ``workers``)."""

from __future__ import annotations

import asyncio
from typing import Any

# The task and queue names the workers define (``workers.schedule``, ``workers.tasks``); a test
# checks the two agree.
EXPORT_TASK = "fok.report_export"
REPORTS_QUEUE = "reports"
# A job not started within this long is dropped by the broker: the requester has moved on (the
# job stays queued, and asking again makes a new one).
EXPORT_EXPIRES_S = 3600


class CeleryExportQueue:
    """Publishes on the broker from a thread (kombu's client is blocking)."""

    def __init__(self, broker_url: str) -> None:
        from celery import Celery

        self._app: Any = Celery("fok-producer", broker=broker_url, set_as_current=False)
        self._app.conf.update(
            broker_connection_retry_on_startup=False,
            broker_connection_timeout=3.0,
            task_default_queue=REPORTS_QUEUE,
        )

    async def enqueue(self, job_id: str) -> None:
        await asyncio.to_thread(
            self._app.send_task,
            EXPORT_TASK,
            args=[job_id],
            queue=REPORTS_QUEUE,
            expires=EXPORT_EXPIRES_S,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )

    def close(self) -> None:
        self._app.close()


class NoExportQueue:
    """For a process that hands no exports to the workers (the CLI, the workers themselves)."""

    async def enqueue(self, job_id: str) -> None:
        raise RuntimeError("this process has no export queue (no broker)")
