"""Celery workers and RedBeat beats as real processes (``celery -A workers.celery_app ...``).

Readiness: a worker answers a broadcast ``ping``; beats run two at once, as in every deployment —
the set is ready when some beat holds RedBeat's lock in the broker and every beat has said whether
it schedules or stands by.
"""

from __future__ import annotations

import functools
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import redis

from devcluster.executables import find_executable
from devcluster.process import ManagedProcess, read_log_tail

_READY_TIMEOUT_SECONDS = 60.0
REDBEAT_LOCK_KEY = "fok:redbeat:lock"
# Every queue of workers.schedule.QUEUES: the local worker does every kind of work.
ALL_QUEUES = ("notifications", "reminders", "reports", "backups", "fok")
_HOLDS = re.compile(r"beat: holds \S+; scheduling")
_STANDS_BY = re.compile(r"beat: another beat holds \S+; standing by")


class CeleryWorker:
    def __init__(
        self,
        run_dir: Path,
        *,
        name: str,
        env: Mapping[str, str],
        concurrency: int = 1,
        queues: Sequence[str] = ALL_QUEUES,
        die_with_parent: bool = True,
    ) -> None:
        self.name = name
        self.run_dir = run_dir
        self.concurrency = concurrency
        self.queues = tuple(queues)
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
                "--queues",
                ",".join(self.queues),
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

    def start(self, *, wait: bool = True) -> CeleryWorker:
        """Start; with ``wait`` (the default) return once it answers a ping."""
        metrics_dir = self._env.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir:  # samples of an earlier run would be summed with this one's
            shutil.rmtree(metrics_dir, ignore_errors=True)
            Path(metrics_dir).mkdir(parents=True)
        self.process.start()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = _READY_TIMEOUT_SECONDS) -> None:
        self.process.wait_ready(check=self._answers_ping, timeout=timeout)

    def _answers_ping(self) -> bool:
        return bool(self.ping())

    def ping(self) -> list[dict[str, object]]:
        from bot.settings import CelerySettings
        from workers.config import create_celery

        app = create_celery(CelerySettings(broker_url=self._env["CELERY_BROKER_URL"]))
        try:
            replies: list[dict[str, object]] = app.control.ping(
                destination=[f"{self.name}@localhost"], timeout=1.0
            )
        finally:
            app.close()
        return replies

    def stop(self) -> int | None:
        return self.process.stop()

    def kill(self) -> int | None:
        """SIGKILL the worker and its pool processes at once (a crash)."""
        return self.process.kill()

    def processes(self) -> list[ManagedProcess]:
        return [self.process]


class CeleryBeat:
    """``replicas`` beats (two, as in every deployment); RedBeat's lock lets one schedule."""

    def __init__(
        self,
        run_dir: Path,
        *,
        env: Mapping[str, str],
        replicas: int = 2,
        die_with_parent: bool = True,
    ) -> None:
        if replicas < 1:
            raise ValueError("at least one beat")
        self._env = dict(env)
        self.beats = [
            ManagedProcess(
                "celery-beat" if replicas == 1 else f"celery-beat-{index}",
                [
                    find_executable("celery"),
                    "-A",
                    "workers.celery_app",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(run_dir / f"celerybeat-schedule-{index}"),
                ],
                log_dir=run_dir,
                env=self._env,
                die_with_parent=die_with_parent,
            )
            for index in range(1, replicas + 1)
        ]

    @property
    def process(self) -> ManagedProcess:
        """The first beat (the one that usually holds the lock: it starts first)."""
        return self.beats[0]

    def start(self) -> CeleryBeat:
        self.beats[0].start()
        self.beats[0].wait_ready(check=self._has_holder, timeout=_READY_TIMEOUT_SECONDS)
        for beat in self.beats[1:]:
            beat.start()
        for beat in self.beats:
            beat.wait_ready(
                check=functools.partial(self._has_said, beat), timeout=_READY_TIMEOUT_SECONDS
            )
        return self

    def _has_holder(self) -> bool:
        client = redis.Redis.from_url(self._env["CELERY_BROKER_URL"])
        try:
            return bool(client.exists(REDBEAT_LOCK_KEY))
        finally:
            client.close()

    @staticmethod
    def _has_said(beat: ManagedProcess) -> bool:
        text = read_log_tail(beat.log_path, 400)
        return bool(_HOLDS.search(text) or _STANDS_BY.search(text))

    def wait_for_holder(self, other_than: ManagedProcess, timeout: float) -> ManagedProcess:
        """Block until a beat other than ``other_than`` holds the lock; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for beat in self.beats:
                held = beat is not other_than and beat.is_running()
                if held and _HOLDS.search(read_log_tail(beat.log_path, 400)):
                    return beat
            time.sleep(0.05)
        raise TimeoutError(f"no other beat took the lock within {timeout:.0f} s")

    def stop(self) -> int | None:
        codes = [beat.stop() for beat in reversed(self.beats)]
        return codes[-1]

    def processes(self) -> list[ManagedProcess]:
        return list(self.beats)
