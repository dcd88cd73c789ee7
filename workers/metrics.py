"""Prometheus exposition for a Celery worker: the main process serves what every child counted.

Children write samples into ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client multiprocess mode, set
in the environment before start); the main process serves them merged on ``WORKER_METRICS_BIND``
(``host:port``), which Prometheus scrapes on the internal network only.

The names are a contract with ``monitoring/`` (alert rules, dashboards):

* ``fok_celery_tasks_total{task,result}`` (success, failure, expired, revoked) and
  ``fok_celery_task_duration_seconds{task}``;
* ``fok_celery_queue_length{queue}``: tasks waiting on the broker, read at scrape time;
* ``fok_delivery_total{kind,outcome}``: notices and reminders by how each attempt ended (sent,
  skipped, retried, unreachable, stale, parked); ``fok_reminder_delivery_lag_seconds``: due to
  sent; ``fok_outbound_limiter_wait_seconds``: waits for the cluster-wide limiter;
* set by the periodic ``fok.observe_delivery`` from MongoDB (every worker the same figure):
  ``fok_outbox_backlog``, ``fok_outbox_oldest_age_seconds``, ``fok_outbox_parked``,
  ``fok_reminders_overdue``, ``fok_reminder_lag_seconds`` (the oldest due reminder's wait) and
  ``fok_reminders_parked``;
* ``fok_repairs_total{kind}``: what ``fok.repair`` fixed, by kind (``bot.services.repair``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from celery.signals import task_revoked, worker_init, worker_process_shutdown
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.infra.metrics import CELERY_TASKS, InstanceInfoCollector
from bot.services.delivery import DeliveryBacklog, DeliveryReport
from bot.services.repair import RepairReport
from bot.settings import CelerySettings, SettingsError, load_section
from workers.schedule import QUEUES

log = logging.getLogger(__name__)
BIND_ENV = "WORKER_METRICS_BIND"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The alert FokBackupTooOld reads this name (max over the workers). Every worker process exports
# it, 0 until it knows of a backup: at start it takes the newest archive in BACKUP_DIRECTORY, then
# each fok.backup that succeeds. A worker without the directory reports 0 and the max ignores it.
BACKUP_LAST_SUCCESS = Gauge(
    "fok_backup_last_success_timestamp_seconds",
    "Unix time of the newest successful backup this worker knows of (0: none)",
    multiprocess_mode="max",
)


def record_backup_success(at: datetime) -> None:
    BACKUP_LAST_SUCCESS.set(at.timestamp())


# --- tasks and delivery ---------------------------------------------------------------------------

_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 3000.0)
_LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)

TASK_DURATION = Histogram(
    "fok_celery_task_duration_seconds",
    "How long one task run took, by task",
    ["task"],
    buckets=_TASK_BUCKETS,
)
DELIVERIES = Counter(
    "fok_delivery_total",
    "Notices and reminders by how a delivery attempt ended",
    ["kind", "outcome"],
)
REMINDER_DELIVERY_LAG = Histogram(
    "fok_reminder_delivery_lag_seconds",
    "From a reminder's due time to its send",
    buckets=_LAG_BUCKETS,
)
OUTBOX_BACKLOG = Gauge(
    "fok_outbox_backlog", "Outbox notices waiting to be delivered", multiprocess_mode="mostrecent"
)
OUTBOX_OLDEST_AGE = Gauge(
    "fok_outbox_oldest_age_seconds",
    "Age of the oldest outbox notice waiting to be delivered (0: none waits)",
    multiprocess_mode="mostrecent",
)
OUTBOX_PARKED = Gauge(
    "fok_outbox_parked",
    "Outbox notices parked after failing too often (an operator looks)",
    multiprocess_mode="mostrecent",
)
REMINDER_LAG = Gauge(
    "fok_reminder_lag_seconds",
    "How long the oldest due reminder not sent yet has waited (0: none waits)",
    multiprocess_mode="mostrecent",
)
REMINDERS_PARKED = Gauge(
    "fok_reminders_parked",
    "Reminders parked after failing too often (an operator looks)",
    multiprocess_mode="mostrecent",
)


REPAIRS = Counter(
    "fok_repairs_total",
    "What the repair task fixed after a multi-step write was cut off midway, by kind",
    ["kind"],
)


def record_repair(report: RepairReport) -> None:
    for kind, count in report.fixed.items():
        if count:
            REPAIRS.labels(kind=kind.value).inc(count)


def record_task(task: str, result: str, duration_s: float) -> None:
    CELERY_TASKS.labels(task=task, result=result).inc()
    TASK_DURATION.labels(task=task).observe(duration_s)


def record_delivery(kind: str, report: DeliveryReport) -> None:
    for outcome, count in report.counts().items():
        if count:
            DELIVERIES.labels(kind=kind, outcome=outcome).inc(count)
    for lag in report.lags_s:
        REMINDER_DELIVERY_LAG.observe(max(lag, 0.0))


def record_backlog(backlog: DeliveryBacklog, now: datetime) -> None:
    """``fok_reminders_overdue`` is set by ReminderService.stats (the BusinessEvents port)."""
    notices, reminders = backlog.notices, backlog.reminders
    OUTBOX_BACKLOG.set(notices.backlog)
    oldest = notices.oldest_created_at
    OUTBOX_OLDEST_AGE.set(max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
    OUTBOX_PARKED.set(notices.parked)
    due = reminders.oldest_due_at
    REMINDER_LAG.set(max((now - due).total_seconds(), 0.0) if due else 0.0)
    REMINDERS_PARKED.set(reminders.parked)


@task_revoked.connect
def _count_revoked(request: Any = None, expired: bool = False, **_: Any) -> None:
    """A periodic run that waited past its period is dropped (``expires``): counted, not run."""
    name = getattr(request, "task", None) or getattr(request, "name", None) or "unknown"
    CELERY_TASKS.labels(task=str(name), result="expired" if expired else "revoked").inc()


class QueueLengthCollector(Collector):
    """``fok_celery_queue_length{queue}``, read from the broker at each scrape (LLEN per queue,
    every priority level kombu keeps as its own list)."""

    _PRIORITY_SEP = "\x06\x16"
    _PRIORITIES = ("", "3", "6", "9")

    def __init__(self, broker_url: str) -> None:
        self._broker = redis.Redis.from_url(
            broker_url, socket_timeout=2.0, socket_connect_timeout=2.0
        )

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "fok_celery_queue_length", "Tasks waiting on the broker, by queue", labels=["queue"]
        )
        try:
            with self._broker.pipeline(transaction=False) as pipe:
                for queue in QUEUES:
                    for priority in self._PRIORITIES:
                        pipe.llen(queue + (self._PRIORITY_SEP + priority if priority else ""))
                lengths = pipe.execute()
        except redis.RedisError as error:
            log.warning("cannot read the queue lengths from the broker: %s", error)
            return
        per_queue = len(self._PRIORITIES)
        for index, queue in enumerate(QUEUES):
            family.add_metric(
                [queue], float(sum(lengths[index * per_queue : (index + 1) * per_queue]))
            )
        yield family


def parse_bind(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{BIND_ENV} must be host:port, got {value!r}")
    return host, int(port)


@worker_init.connect
def _serve_metrics(**_: Any) -> None:
    bind = os.environ.get(BIND_ENV)
    directory = os.environ.get(MULTIPROC_ENV)
    if not bind:
        return
    if not directory:
        raise RuntimeError(f"{BIND_ENV} needs {MULTIPROC_ENV} (the children's sample files)")
    # The directory must start empty (the launcher or the container's tmpfs sees to it): by now
    # this process has imported the metrics and may hold its sample files open.
    Path(directory).mkdir(parents=True, exist_ok=True)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(InstanceInfoCollector(os.environ.get("WORKER_INSTANCE_ID", "worker")))
    try:
        broker_url = load_section(CelerySettings).broker_url.get_secret_value()
    except SettingsError as error:  # celery_app has refused to start already; be explicit
        raise RuntimeError(str(error)) from None
    registry.register(QueueLengthCollector(broker_url))
    host, port = parse_bind(bind)
    start_http_server(port, addr=host, registry=registry)
    log.info("worker metrics on http://%s:%d/metrics", host, port)


@worker_process_shutdown.connect
def _forget_child(pid: int | None = None, **_: Any) -> None:
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
