"""gunicorn settings for one bot instance, all from the environment.

    WEB_BIND              host:port to listen on (default 0.0.0.0:8080)
    WEB_WORKERS           worker processes (default 2)
    WEB_DRAIN_SECONDS     in-flight updates get this long after SIGTERM (default 20)
    PROMETHEUS_MULTIPROC_DIR  where workers write metrics; wiped when the master starts

Workers are ``uvicorn_worker.UvicornWorker`` (``uvicorn.workers`` is deprecated). The app is not
preloaded: each worker imports it after fork and builds its own clients (design §4 rule 7).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

_DRAIN_SECONDS = float(os.environ.get("WEB_DRAIN_SECONDS", "20"))
# A master started without the variable still gets multiprocess metrics, in a private directory.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="fok-bot-metrics-"))

bind = [os.environ.get("WEB_BIND", "0.0.0.0:8080")]
workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "uvicorn_worker.UvicornWorker"
preload_app = False
# SIGTERM: stop accepting, let in-flight updates finish, close clients; then SIGKILL.
graceful_timeout = int(_DRAIN_SECONDS) + 10
timeout = 60
keepalive = 75  # longer than HAProxy's http-keep-alive so the proxy closes idle connections first
accesslog = None
errorlog = "-"
loglevel = os.environ.get("APP_LOG_LEVEL", "info").lower()
proc_name = f"fok-bot-{os.environ.get('WEB_INSTANCE_ID', 'instance')}"


def _scrub_gunicorn_logs() -> None:
    """gunicorn's loggers (and uvicorn's, which the workers give gunicorn's handlers) do not
    propagate to the root, where the app's scrubber sits: put one on their handlers too, from
    the environment's secrets, before a worker or the app has logged anything."""
    from bot.infra.logs import SecretScrubber, environment_secrets, install_scrubber

    install_scrubber(SecretScrubber(environment_secrets()))


def on_starting(server: Any) -> None:
    """Wipe the metrics directory: files of a previous run would be summed into this one."""
    _scrub_gunicorn_logs()
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


_PR_SET_PDEATHSIG = 1


def post_fork(server: Any, worker: Any) -> None:
    """A worker whose master dies (SIGKILL, the OOM killer) must not go on serving alone, out of
    any supervisor's sight: the kernel sends it SIGTERM then, and it drains and exits as on a
    normal stop. Linux only; elsewhere gunicorn's own parent check is all there is."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is not None:
        ctypes.CDLL(libc_name, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != server.pid:  # the master died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def post_worker_init(worker: Any) -> None:
    # The worker has set up uvicorn's loggers on gunicorn's handlers by now.
    _scrub_gunicorn_logs()


def on_reload(server: Any) -> None:
    # SIGHUP builds gunicorn's log handlers anew.
    _scrub_gunicorn_logs()


def child_exit(server: Any, worker: Any) -> None:
    from bot.infra.metrics import mark_worker_dead

    mark_worker_dead(worker.pid)
