"""Prometheus and Alertmanager with the local variants of the configs in monitoring/, and the
Debian exporters they scrape (prometheus-node-exporter, prometheus-redis-exporter).

The templates are rendered with the chosen ports into the run directory and checked with
promtool / amtool before the server starts, so a broken config fails `up` with the checker's
message instead of a dead process.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from string import Template

from devcluster.executables import find_executable
from devcluster.paths import REPO_ROOT
from devcluster.ports import LOOPBACK
from devcluster.process import ManagedProcess, ProcessStartError, SingleProcessService

MONITORING_DIR = REPO_ROOT / "monitoring"
PROMETHEUS_TEMPLATE = MONITORING_DIR / "prometheus" / "prometheus.local.yml.tmpl"
RULES_DIR = MONITORING_DIR / "prometheus" / "rules"
ALERTMANAGER_TEMPLATE = MONITORING_DIR / "alertmanager" / "alertmanager.local.yml.tmpl"
ALERT_TEMPLATES_DIR = MONITORING_DIR / "alertmanager" / "templates"
# Each Celery queue (workers/schedule.py) is a Redis list of that name in the broker's db 0;
# redis_exporter reports its length as redis_key_size{key="<queue>"} (0 for a queue never used).
CELERY_QUEUE_KEYS = ",".join(
    f"db0={queue}" for queue in ("fok", "notifications", "reminders", "reports", "backups")
)


def bot_targets_file(run_dir: Path) -> Path:
    """The file_sd file of the bot instances Prometheus scrapes (rewritten on scale)."""
    return run_dir / "prometheus" / "targets" / "bots.json"


def worker_targets_file(run_dir: Path) -> Path:
    """The file_sd file of the Celery workers' metrics addresses (rewritten on scale)."""
    return run_dir / "prometheus" / "targets" / "workers.json"


def write_scrape_targets(path: Path, addresses: list[str]) -> None:
    """Replace a file_sd file in one rename, so Prometheus never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps([{"targets": addresses}]) + "\n")
    partial.replace(path)


def render_template(template: Path, destination: Path, values: dict[str, str]) -> Path:
    """Substitute every placeholder (a missing one is an error, not an empty string)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_text(Template(template.read_text()).substitute(values))
    return destination


def _run_checker(argv: list[str], what: Path) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise ProcessStartError(f"{argv[0]} rejected {what}:\n{result.stdout}{result.stderr}")


def _answers_ready(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (http on loopback)
        return bool(response.status == 200)


class AlertmanagerServer:
    def __init__(
        self, run_dir: Path, *, port: int, webhook_url: str, die_with_parent: bool = True
    ) -> None:
        self.port = port
        self.config_path = render_template(
            ALERTMANAGER_TEMPLATE,
            run_dir / "alertmanager" / "alertmanager.yml",
            {"WEBHOOK_URL": webhook_url, "TEMPLATES_DIR": str(ALERT_TEMPLATES_DIR)},
        )
        self.process = ManagedProcess(
            "alertmanager",
            [
                find_executable("prometheus-alertmanager"),
                f"--config.file={self.config_path}",
                f"--storage.path={run_dir / 'alertmanager' / 'data'}",
                f"--web.listen-address={LOOPBACK}:{port}",
                # Empty turns off the HA gossip listener (default 0.0.0.0:9094): one instance.
                "--cluster.listen-address=",
            ],
            log_dir=run_dir / "logs",
            die_with_parent=die_with_parent,
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def start(self) -> AlertmanagerServer:
        _run_checker(
            [find_executable("amtool"), "check-config", str(self.config_path)], self.config_path
        )
        self.process.start()
        try:
            self.process.wait_ready(
                port=self.port, check=lambda: _answers_ready(f"{self.url}-/ready"), timeout=30
            )
        except BaseException:
            self.process.stop()
            raise
        return self

    def stop(self) -> None:
        self.process.stop()

    def processes(self) -> list[ManagedProcess]:
        return [self.process]


def _serves_metrics(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http on loopback)
        return bool(response.status == 200 and response.read())


class NodeExporterServer(SingleProcessService):
    """Debian's prometheus-node-exporter: this machine's CPU, memory and filesystems."""

    def __init__(self, run_dir: Path, *, port: int, die_with_parent: bool = True) -> None:
        self.port = port
        self.process = ManagedProcess(
            "node-exporter",
            [
                find_executable("prometheus-node-exporter"),
                f"--web.listen-address={LOOPBACK}:{port}",
                # The package's textfile directory belongs to a system install, not to us.
                "--no-collector.textfile",
            ],
            log_dir=run_dir / "logs",
            die_with_parent=die_with_parent,
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/metrics"

    def wait_ready(self) -> None:
        self.process.wait_ready(port=self.port, check=lambda: _serves_metrics(self.url))


class RedisExporterServer(SingleProcessService):
    """Debian's prometheus-redis-exporter in multi-target mode, as in production: Prometheus asks
    ``/scrape?target=redis://host:port`` once per Redis node (the six cluster nodes, the broker).

    No default address (``-redis.addr=``), so its own ``/metrics`` reports only the exporter.
    """

    def __init__(self, run_dir: Path, *, port: int, die_with_parent: bool = True) -> None:
        self.port = port
        self.process = ManagedProcess(
            "redis-exporter",
            [
                find_executable("prometheus-redis-exporter"),
                f"-web.listen-address={LOOPBACK}:{port}",
                "-redis.addr=",
                f"-check-single-keys={CELERY_QUEUE_KEYS}",
            ],
            log_dir=run_dir / "logs",
            die_with_parent=die_with_parent,
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/metrics"

    def wait_ready(self) -> None:
        self.process.wait_ready(port=self.port, check=lambda: _serves_metrics(self.url))


class PrometheusServer:
    def __init__(
        self,
        run_dir: Path,
        *,
        port: int,
        bot_addresses: list[str],
        worker_metrics_addresses: list[str],
        haproxy_metrics_address: str,
        alertmanager_address: str,
        node_exporter_address: str,
        redis_exporter_address: str,
        redis_cluster_addresses: list[str],
        redis_broker_address: str,
        die_with_parent: bool = True,
    ) -> None:
        if not redis_cluster_addresses:
            raise ValueError("the redis job needs the cluster's nodes")
        self.port = port
        write_scrape_targets(bot_targets_file(run_dir), bot_addresses)
        write_scrape_targets(worker_targets_file(run_dir), worker_metrics_addresses)
        self.config_path = render_template(
            PROMETHEUS_TEMPLATE,
            run_dir / "prometheus" / "prometheus.yml",
            {
                "RULES_DIR": str(RULES_DIR),
                "BOT_TARGETS_FILE": str(bot_targets_file(run_dir)),
                "WORKER_TARGETS_FILE": str(worker_targets_file(run_dir)),
                "HAPROXY_METRICS_ADDR": haproxy_metrics_address,
                "ALERTMANAGER_ADDR": alertmanager_address,
                "PROMETHEUS_ADDR": f"{LOOPBACK}:{port}",
                "NODE_EXPORTER_ADDR": node_exporter_address,
                "REDIS_EXPORTER_ADDR": redis_exporter_address,
                "REDIS_CLUSTER_TARGETS": ", ".join(
                    f'"redis://{address}"' for address in redis_cluster_addresses
                ),
                "REDIS_BROKER_TARGET": f"redis://{redis_broker_address}",
            },
        )
        self.process = ManagedProcess(
            "prometheus",
            [
                find_executable("prometheus"),
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={run_dir / 'prometheus' / 'data'}",
                f"--web.listen-address={LOOPBACK}:{port}",
            ],
            log_dir=run_dir / "logs",
            die_with_parent=die_with_parent,
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    def target_health(self) -> dict[str, list[str]]:
        """job -> the health of each of its targets ("up", "down", "unknown")."""
        with urllib.request.urlopen(f"{self.url}api/v1/targets", timeout=5) as response:  # noqa: S310
            targets = json.load(response)["data"]["activeTargets"]
        health: dict[str, list[str]] = {}
        for target in targets:
            health.setdefault(target["labels"]["job"], []).append(target["health"])
        return health

    def start(self) -> PrometheusServer:
        _run_checker(
            [find_executable("promtool"), "check", "config", str(self.config_path)],
            self.config_path,
        )
        self.process.start()
        try:
            self.process.wait_ready(
                port=self.port, check=lambda: _answers_ready(f"{self.url}-/ready"), timeout=60
            )
        except BaseException:
            self.process.stop()
            raise
        return self

    def stop(self) -> None:
        self.process.stop()

    def processes(self) -> list[ManagedProcess]:
        return [self.process]
