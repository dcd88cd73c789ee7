"""One bot instance as a real process: ``gunicorn -c bot/web/gunicorn_conf.py bot.web.asgi:app``.

Each instance is a gunicorn master with its own uvicorn workers, its own port, its own
Prometheus multiprocess directory and its own log file, so three of them behave like the three
production containers. Configuration is the bot's ordinary environment (``bot.settings``).
"""

from __future__ import annotations

import importlib.util
import os
import signal
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from devcluster.executables import find_executable
from devcluster.ports import LOOPBACK, free_port
from devcluster.process import ManagedProcess

_READY_TIMEOUT_SECONDS = 60.0
# gunicorn's graceful_timeout is WEB_DRAIN_SECONDS + 10; allow a little beyond it.
_STOP_MARGIN_SECONDS = 15.0


def gunicorn_config_path() -> Path:
    spec = importlib.util.find_spec("bot.web")
    if spec is None or spec.origin is None:
        raise RuntimeError("the bot package is not importable from this interpreter")
    return Path(spec.origin).parent / "gunicorn_conf.py"


class BotInstance:
    """Start, probe, stop, crash and restart one bot instance on a fixed port of its own."""

    def __init__(
        self,
        run_dir: Path,
        *,
        instance_id: str,
        env: Mapping[str, str],
        workers: int = 1,
        port: int | None = None,
        drain_seconds: float = 5.0,
        die_with_parent: bool = True,
    ) -> None:
        self.instance_id = instance_id
        self.run_dir = run_dir
        self.port = port or free_port()
        self.workers = workers
        self.drain_seconds = drain_seconds
        self._env = dict(env)
        self._process: ManagedProcess | None = None
        self._starts = 0
        self._die_with_parent = die_with_parent

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"

    @property
    def metrics_dir(self) -> Path:
        return self.run_dir / f"metrics-{self.instance_id}"

    @property
    def process(self) -> ManagedProcess:
        if self._process is None:
            raise RuntimeError(f"bot instance {self.instance_id} was never started")
        return self._process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def environment(self) -> dict[str, str]:
        return {
            **self._env,
            "WEB_INSTANCE_ID": self.instance_id,
            "WEB_BIND": self.address,
            "WEB_WORKERS": str(self.workers),
            "WEB_DRAIN_SECONDS": str(self.drain_seconds),
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
        }

    def start(self, *, wait: bool = True) -> BotInstance:
        if self._process is not None and self._process.is_running():
            raise RuntimeError(f"bot instance {self.instance_id} is already running")
        self._starts += 1
        self._process = ManagedProcess(
            f"bot-{self.instance_id}" + (f"-run{self._starts}" if self._starts > 1 else ""),
            [
                find_executable("gunicorn"),
                "-c",
                str(gunicorn_config_path()),
                "bot.web.asgi:app",
            ],
            log_dir=self.run_dir,
            env=self.environment(),
            stop_grace_seconds=self.drain_seconds + _STOP_MARGIN_SECONDS,
            die_with_parent=self._die_with_parent,
        ).start()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = _READY_TIMEOUT_SECONDS) -> None:
        self.process.wait_ready(port=self.port, check=self.is_ready, timeout=timeout)

    def is_ready(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/ready", timeout=3.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> int | None:
        """Graceful: SIGTERM (drain in-flight updates, close clients), SIGKILL after the grace."""
        if self._process is None:
            return None
        return self._process.stop()

    def processes(self) -> list[ManagedProcess]:
        return [self._process] if self._process is not None else []

    def kill(self) -> int | None:
        """A crash: SIGKILL the master and its workers at once."""
        if self._process is None:
            return None
        return self._process.kill()

    def send_sigterm(self) -> None:
        """SIGTERM the master only and return at once (gunicorn then stops its workers)."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGTERM)

    def restart(self) -> BotInstance:
        """Stop gracefully and start again on the same port (a rolling restart's one step)."""
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 60) -> str:
        return self._process.log_tail(lines) if self._process is not None else ""

    def __enter__(self) -> BotInstance:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
