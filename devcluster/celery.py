"""Celery worker and RedBeat beat as real processes (``celery -A workers.celery_app ...``).

Readiness: the worker answers a broadcast ``ping``; beat holds RedBeat's lock key in the broker.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import redis

from devcluster.executables import find_executable
from devcluster.process import ManagedProcess

_READY_TIMEOUT_SECONDS = 60.0
REDBEAT_LOCK_KEY = "fok:redbeat:lock"


class CeleryWorker:
    def __init__(
        self,
        run_dir: Path,
        *,
        name: str,
        env: Mapping[str, str],
        concurrency: int = 1,
        die_with_parent: bool = True,
    ) -> None:
        self.name = name
        self.run_dir = run_dir
        self.concurrency = concurrency
        self._env = dict(env)
        self.process = ManagedProcess(
            f"celery-{name}",
            [
                find_executable("celery"),
                "-A",
                "workers.celery_app",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@localhost",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            log_dir=run_dir,
            env=self._env,
            stop_grace_seconds=20.0,
            die_with_parent=die_with_parent,
        )

    def start(self) -> CeleryWorker:
        metrics_dir = self._env.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir:  # samples of an earlier run would be summed with this one's
            shutil.rmtree(metrics_dir, ignore_errors=True)
            Path(metrics_dir).mkdir(parents=True)
        self.process.start()
        self.process.wait_ready(check=self._answers_ping, timeout=_READY_TIMEOUT_SECONDS)
        return self

    def _answers_ping(self) -> bool:
        from workers.celery_app import create_celery

        app = create_celery(self._env["CELERY_BROKER_URL"])
        try:
            replies = app.control.ping(destination=[f"{self.name}@localhost"], timeout=1.0)
        finally:
            app.close()
        return bool(replies)

    def stop(self) -> int | None:
        return self.process.stop()

    def processes(self) -> list[ManagedProcess]:
        return [self.process]


class CeleryBeat:
    def __init__(
        self, run_dir: Path, *, env: Mapping[str, str], die_with_parent: bool = True
    ) -> None:
        self._env = dict(env)
        self.process = ManagedProcess(
            "celery-beat",
            [
                find_executable("celery"),
                "-A",
                "workers.celery_app",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(run_dir / "celerybeat-schedule"),
            ],
            log_dir=run_dir,
            env=self._env,
            die_with_parent=die_with_parent,
        )

    def start(self) -> CeleryBeat:
        self.process.start()
        self.process.wait_ready(check=self._holds_lock, timeout=_READY_TIMEOUT_SECONDS)
        return self

    def _holds_lock(self) -> bool:
        client = redis.Redis.from_url(self._env["CELERY_BROKER_URL"])
        try:
            return bool(client.exists(REDBEAT_LOCK_KEY))
        finally:
            client.close()

    def stop(self) -> int | None:
        return self.process.stop()

    def processes(self) -> list[ManagedProcess]:
        return [self.process]
