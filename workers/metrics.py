"""Prometheus exposition for a Celery worker: the main process serves what every child counted.

Children write samples into ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client multiprocess mode, set
in the environment before start); the main process serves them merged on ``WORKER_METRICS_BIND``
(``host:port``), which Prometheus scrapes on the internal network only.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from celery.signals import worker_init, worker_process_shutdown
from prometheus_client import CollectorRegistry, Gauge, multiprocess, start_http_server

from bot.infra.metrics import InstanceInfoCollector

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
    host, port = parse_bind(bind)
    start_http_server(port, addr=host, registry=registry)
    log.info("worker metrics on http://%s:%d/metrics", host, port)


@worker_process_shutdown.connect
def _forget_child(pid: int | None = None, **_: Any) -> None:
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
