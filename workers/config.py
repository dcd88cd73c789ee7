"""The Celery application's configuration, from ``CelerySettings`` (no client is created here).

Queues by kind of work (``workers.schedule``), routed by task name; late acks and a prefetch of
one, so a task whose worker died is delivered again and a long task never holds back others
queued behind it in the same process; RedBeat (``workers.beat``) as the beat, two of which run in
every deployment; a broker that is down at start is waited for, not given up on.
"""

from __future__ import annotations

from celery import Celery
from kombu.entity import Exchange, Queue

from bot.settings import CelerySettings
from workers.schedule import DEFAULT_QUEUE, QUEUES, ROUTES, beat_schedule

EXCHANGE = Exchange(DEFAULT_QUEUE, type="direct")  # type: ignore[no-untyped-call]
REDBEAT_KEY_PREFIX = "fok:redbeat"
REDBEAT_LOCK_KEY = f"{REDBEAT_KEY_PREFIX}:lock"
# Longer than any task's hard time limit: an unacknowledged task is delivered again only after
# this long, so a running task is never handed to a second worker.
VISIBILITY_TIMEOUT_S = 3600


def create_celery(settings: CelerySettings) -> Celery:
    broker_url = settings.broker_url.get_secret_value()
    app = Celery("fok", broker=broker_url, include=["workers.tasks", "workers.metrics"])
    app.conf.update(
        # One direct exchange, each queue bound by its own name (a task routed to a queue
        # lands in that queue alone).
        task_queues=[
            Queue(name, EXCHANGE, routing_key=name)  # type: ignore[no-untyped-call]
            for name in QUEUES
        ],
        task_default_queue=DEFAULT_QUEUE,
        task_default_exchange=DEFAULT_QUEUE,
        task_default_routing_key=DEFAULT_QUEUE,
        task_routes={pattern: {"queue": queue} for pattern, queue in ROUTES.items()},
        task_acks_late=True,  # a task whose worker died is delivered again; tasks are idempotent
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        # Defaults; each task sets its own (workers.tasks).
        task_time_limit=300,
        task_soft_time_limit=240,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # wait for the broker however long it is away
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        timezone="UTC",
        enable_utc=True,
        beat_scheduler="workers.beat:FokRedBeatScheduler",
        redbeat_redis_url=broker_url,
        # retry_period -1: RedBeat retries a broker that is away for as long as it takes.
        redbeat_redis_options={
            "retry_period": -1,
            "socket_timeout": 5.0,
            "socket_connect_timeout": 5.0,
        },
        redbeat_key_prefix=REDBEAT_KEY_PREFIX,
        redbeat_lock_key=REDBEAT_LOCK_KEY,
        redbeat_lock_timeout=settings.beat_lock_timeout_seconds,
        beat_max_loop_interval=settings.beat_loop_seconds,
        beat_schedule=beat_schedule(settings),
        worker_hijack_root_logger=False,
        # The product's logging (bot.infra.logs, JSON on stderr) is configured in each worker
        # process; Celery's redirection of stdout/stderr into its own logger would swallow it.
        worker_redirect_stdouts=False,
    )
    return app
