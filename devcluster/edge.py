"""HAProxy running the production ``haproxy/haproxy.cfg`` in front of three local bot servers.

The config takes everything site-specific from its environment (backends, TLS certificate,
webhook path and secret token, body limit, binds, health-check interval, runtime socket, log
level); this is the one place that fills it in for local runs, so the e2e stack
(``tests/e2e/conftest.py``) and the benchmark (``bench/stack.py``) start the same edge.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from devcluster.haproxy_runtime import HAProxyRuntime, RuntimeApiError
from devcluster.paths import REPO_ROOT
from devcluster.ports import LOOPBACK, free_ports
from devcluster.process import ManagedProcess

HAPROXY_CFG = REPO_ROOT / "haproxy" / "haproxy.cfg"
BACKENDS = 3  # haproxy.cfg names bot1..bot3
RESIGNAL_AFTER_S = 5.0


@dataclass(frozen=True)
class EdgeProcess:
    """A started HAProxy: its ports, runtime socket and the stats password it was given."""

    process: ManagedProcess
    https_port: int
    http_port: int
    stats_port: int
    metrics_port: int
    runtime_socket: Path
    stats_password: str
    config_path: Path
    # Where a reload leaves the servers' states for the next process (reloadable edges only).
    server_state_file: Path | None = None


def start_haproxy_edge(
    run_dir: Path,
    *,
    backends: list[str],
    tls_pem: Path,
    webhook_path: str,
    secret: str,
    max_body_bytes: int,
    name: str = "haproxy",
    log_level: str = "info",
    reloadable: bool = False,
    stop_grace_seconds: float = 5.0,
) -> EdgeProcess:
    """Start HAProxy and wait until it listens and its runtime socket exists.

    ``backends``: the three ``host:port`` the config's bot servers point at. ``reloadable``:
    master-worker mode over a copy of the config in ``run_dir`` that the caller may edit before
    a reload (``reload_edge``). Raises ``RuntimeError`` when HAProxy is not installed.
    """
    if len(backends) != BACKENDS:
        raise ValueError(f"haproxy/haproxy.cfg names exactly {BACKENDS} servers")
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
    https_port, http_port, stats_port, metrics_port = free_ports(4)
    socket_path = run_dir / f"{name}.sock"
    stats_password = secrets.token_urlsafe(16)
    env = {
        **{f"BOT{i + 1}_ADDR": address for i, address in enumerate(backends)},
        "TLS_CERT_PEM": str(tls_pem),
        "WEBHOOK_PATH": webhook_path,
        "WEBHOOK_SECRET_TOKEN": secret,
        "WEBHOOK_MAX_BODY_BYTES": str(max_body_bytes),
        "STATS_PASSWORD": stats_password,
        "HTTPS_BIND": f"{LOOPBACK}:{https_port}",
        "HTTP_BIND": f"{LOOPBACK}:{http_port}",
        "STATS_BIND": f"{LOOPBACK}:{stats_port}",
        "METRICS_BIND": f"{LOOPBACK}:{metrics_port}",
        "CHECK_INTERVAL": "250ms",
        "HAPROXY_RUNTIME_SOCKET": str(socket_path),
        "LOG_LEVEL": log_level,
    }
    config = HAPROXY_CFG
    mode = ["-db"]
    state_file = None
    if reloadable:
        config = run_dir / f"{name}.cfg"
        shutil.copyfile(HAPROXY_CFG, config)
        mode = ["-W", "-db"]
        state_file = run_dir / f"{name}.state"
        env["HAPROXY_SERVER_STATE_FILE"] = str(state_file)
    process = ManagedProcess(
        name,
        [haproxy, *mode, "-f", str(config)],
        log_dir=run_dir,
        env=env,
        stop_grace_seconds=stop_grace_seconds,
    ).start()
    process.wait_ready(port=https_port, check=socket_path.exists)
    return EdgeProcess(
        process=process,
        https_port=https_port,
        http_port=http_port,
        stats_port=stats_port,
        metrics_port=metrics_port,
        runtime_socket=socket_path,
        stats_password=stats_password,
        config_path=config,
        server_state_file=state_file,
    )


def reload_edge(
    process: ManagedProcess,
    runtime_socket: Path,
    server_state_file: Path | None,
    *,
    timeout: float = 30.0,
) -> None:
    """What an operator's reload does (haproxy/README.md): save the servers' states, SIGUSR2
    the master, and return once a new worker answers on the runtime socket."""
    if server_state_file is None:
        raise ValueError("this edge was not started reloadable")
    master = process.pid
    if master is None:
        raise RuntimeError("HAProxy is not running")
    runtime = HAProxyRuntime(runtime_socket)
    runtime.save_server_state(server_state_file)
    old_worker = runtime.worker_pid()
    deadline = time.monotonic() + timeout
    signalled_at = -RESIGNAL_AFTER_S
    while True:
        if time.monotonic() - signalled_at >= RESIGNAL_AFTER_S:
            # A master that has only just started may not yet handle SIGUSR2 and drop it (seen
            # here); a second reload where the first was merely slow does no harm.
            os.kill(master, signal.SIGUSR2)
            signalled_at = time.monotonic()
        try:
            if runtime.worker_pid() != old_worker:
                return
        except RuntimeApiError:
            pass  # the socket is between the two workers
        if time.monotonic() >= deadline:
            raise RuntimeError(f"no new HAProxy worker answered within {timeout:.0f} s of SIGUSR2")
        time.sleep(0.05)
