"""The Celery application: a standalone Redis broker, RedBeat as the single beat, late acks.

Clients are built per worker process after fork (``worker_process_init``), each process with its
own event loop; a task is one call into ``bot.services`` run on that loop (design §4 rules 7, 9).
"""

from __future__ import annotations

import os

from celery import Celery

from workers.schedule import beat_schedule

BROKER_ENV = "CELERY_BROKER_URL"


def create_celery(broker_url: str) -> Celery:
    app = Celery("fok", broker=broker_url, include=["workers.tasks", "workers.metrics"])
    app.conf.update(
        task_default_queue="fok",
        task_acks_late=True,  # a task whose worker died is delivered again; tasks are idempotent
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_time_limit=300,
        task_soft_time_limit=240,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        timezone="UTC",
        enable_utc=True,
        beat_scheduler="redbeat.RedBeatScheduler",
        redbeat_redis_url=broker_url,
        redbeat_key_prefix="fok:redbeat",
        # A beat that died releases the singleton lock quickly, so another can take over.
        redbeat_lock_timeout=30,
        beat_max_loop_interval=5,
        beat_schedule=beat_schedule(),
        worker_hijack_root_logger=False,
    )
    return app


# Read the broker address only: no client is created at import (the worker forks later).
app = create_celery(os.environ.get(BROKER_ENV, "redis://127.0.0.1:6379/0"))
