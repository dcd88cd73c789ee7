"""HAProxy with the project's own haproxy/haproxy.cfg, configured entirely through its environment."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devcluster.credentials import Credentials
from devcluster.executables import find_executable
from devcluster.paths import REPO_ROOT
from devcluster.ports import LOOPBACK, free_ports
from devcluster.process import ManagedProcess, ProcessStartError, SingleProcessService
from devcluster.tls import LocalTls

HAPROXY_CONFIG = REPO_ROOT / "haproxy" / "haproxy.cfg"
WEBHOOK_PATH = "/telegram/webhook"


@dataclass(frozen=True)
class HAProxyPorts:
    https: int
    http: int
    stats: int
    metrics: int

    @classmethod
    def allocate(cls) -> HAProxyPorts:
        https, http, stats, metrics = free_ports(4)
        return cls(https=https, http=http, stats=stats, metrics=metrics)


class HAProxyServer(SingleProcessService):
    """The edge proxy in front of the bot instances (which may not be running yet)."""

    def __init__(
        self,
        run_dir: Path,
        *,
        ports: HAProxyPorts,
        bot_addresses: list[str],
        tls: LocalTls,
        credentials: Credentials,
        webhook_path: str = WEBHOOK_PATH,
        config_path: Path = HAPROXY_CONFIG,
        name: str = "haproxy",
        die_with_parent: bool = True,
    ) -> None:
        if len(bot_addresses) != 3:
            raise ValueError("haproxy.cfg names exactly three bot instances")
        self.ports = ports
        self.webhook_path = webhook_path
        self.config_path = config_path
        self.environment = {
            "HTTPS_BIND": f"{LOOPBACK}:{ports.https}",
            "HTTP_BIND": f"{LOOPBACK}:{ports.http}",
            "STATS_BIND": f"{LOOPBACK}:{ports.stats}",
            "METRICS_BIND": f"{LOOPBACK}:{ports.metrics}",
            "BOT1_ADDR": bot_addresses[0],
            "BOT2_ADDR": bot_addresses[1],
            "BOT3_ADDR": bot_addresses[2],
            "TLS_CERT_PEM": str(tls.haproxy_pem),
            "WEBHOOK_PATH": webhook_path,
            "WEBHOOK_SECRET_TOKEN": credentials.webhook_secret,
            "STATS_USER": credentials.stats_user,
            "STATS_PASSWORD": credentials.stats_password,
            "HAPROXY_RUNTIME_SOCKET": str(run_dir / "haproxy.sock"),
        }
        self._haproxy = find_executable("haproxy")
        self.process = ManagedProcess(
            name,
            # -db: stay in the foreground so the process we track is HAProxy itself.
            [self._haproxy, "-db", "-f", str(config_path)],
            log_dir=run_dir,
            env=self.environment,
            die_with_parent=die_with_parent,
        )

    @property
    def webhook_url(self) -> str:
        return f"https://{LOOPBACK}:{self.ports.https}{self.webhook_path}"

    @property
    def stats_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.stats}/"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports.metrics}/metrics"

    def check_config(self) -> None:
        """`haproxy -c` with the real environment: never start on a config that does not parse."""
        result = subprocess.run(
            [self._haproxy, "-c", "-f", str(self.config_path)],
            env={**os.environ, **self.environment},  # exactly what the server will see
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise ProcessStartError(
                f"haproxy -c rejected {self.config_path}:\n{result.stdout}{result.stderr}"
            )

    def before_start(self) -> None:
        self.check_config()

    def wait_ready(self) -> None:
        self.process.wait_ready(port=self.ports.stats, timeout=20)
