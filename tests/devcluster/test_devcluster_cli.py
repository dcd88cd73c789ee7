"""`python -m devcluster up|status|down` starts real servers, reports them, and leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from pymongo import MongoClient

from devcluster.process import pid_is_alive
from devcluster.state import ClusterState

REPO_ROOT = Path(__file__).resolve().parents[2]


def devcluster(run_dir: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devcluster", "--run-dir", str(run_dir), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "run"
    yield directory
    # `up` detaches its servers on purpose; whatever a test did, they must not outlive it.
    devcluster(directory, "down")


@pytest.fixture(scope="module")
def shared_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, subprocess.CompletedProcess[str]]]:
    """One cluster for the tests that only look at it."""
    directory = tmp_path_factory.mktemp("shared") / "run"
    try:
        result = devcluster(directory, "up")
        assert result.returncode == 0, result.stdout + result.stderr
        yield directory, result
    finally:
        devcluster(directory, "down")


def _bot_environment(run_dir: Path) -> dict[str, str]:
    lines = (run_dir / "bot.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line)


def test_up_starts_real_servers_that_answer(
    shared_cluster: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, _ = shared_cluster
    environment = _bot_environment(run_dir)
    credentials = json.loads((run_dir / "credentials.json").read_text())

    client: MongoClient[dict[str, object]]
    with MongoClient(environment["MONGO_URL"], serverSelectionTimeoutMS=5000) as client:
        assert client.admin.command("ping")["ok"] == 1

    first_node = environment["REDIS_CLUSTER_NODES"].split(",")[0]
    host, port = first_node.rsplit(":", 1)
    with redis.Redis(host=host, port=int(port), decode_responses=True) as node:
        assert node.cluster("info")["cluster_state"] == "ok"
    assert len(environment["REDIS_CLUSTER_NODES"].split(",")) == 6

    with redis.Redis.from_url(environment["CELERY_BROKER_URL"]) as broker:
        assert broker.ping()

    api = environment["TELEGRAM_API_BASE_URL"]
    me = httpx.get(f"{api}/bot{environment['TELEGRAM_BOT_TOKEN']}/getMe", timeout=10).json()
    assert me["ok"]
    assert me["result"]["id"] == int(environment["TELEGRAM_BOT_TOKEN"].split(":")[0])
    assert httpx.get(f"{api}/botwrong:token/getMe", timeout=10).status_code == 401

    state = ClusterState.load(run_dir)
    assert state is not None
    stats_url = state.ports["haproxy-stats"]
    stats = f"http://127.0.0.1:{stats_url}/"
    auth = (credentials["stats_user"], credentials["stats_password"])
    assert httpx.get(stats, auth=auth, timeout=10).status_code == 200
    assert httpx.get(stats, auth=(auth[0], "wrong"), timeout=10).status_code == 401

    tls = ssl.create_default_context(cafile=str(run_dir / "tls" / "ca.pem"))
    webhook = environment["TELEGRAM_WEBHOOK_URL"]
    secret = {"X-Telegram-Bot-Api-Secret-Token": environment["TELEGRAM_WEBHOOK_SECRET"]}
    with httpx.Client(verify=tls, timeout=10) as https:
        assert https.post(webhook, json={"update_id": 1}).status_code == 403
        # The secret passes the gate; no bot instance runs yet, so HAProxy has no backend.
        assert https.post(webhook, json={"update_id": 1}, headers=secret).status_code == 503
        assert https.get(webhook.replace("/telegram/webhook", "/metrics")).status_code == 404


def _wait_for(condition: Callable[[], bool], timeout: float = 40.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_prometheus_scrapes_haproxy_and_alerts_reach_the_sink(
    shared_cluster: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, _ = shared_cluster
    state = ClusterState.load(run_dir)
    assert state is not None
    prometheus = f"http://127.0.0.1:{state.ports['prometheus']}"

    def haproxy_scraped() -> bool:
        targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).json()["data"]
        health = {t["labels"]["job"]: t["health"] for t in targets["activeTargets"]}
        return health.get("haproxy") == "up" and health.get("alertmanager") == "up"

    assert _wait_for(haproxy_scraped), "Prometheus never scraped HAProxy's exporter"
    rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert rules, "the rules from monitoring/prometheus/rules were not loaded"

    alertmanager = f"http://127.0.0.1:{state.ports['alertmanager']}"
    probe_alert = {
        "labels": {"alertname": "DevclusterProbe", "severity": "critical"},
        "annotations": {"summary": "probe from the devcluster test"},
    }
    assert httpx.post(f"{alertmanager}/api/v2/alerts", json=[probe_alert], timeout=5).is_success

    sink_file = run_dir / "alerts.jsonl"

    def probe_delivered() -> bool:
        if not sink_file.exists():
            return False
        notifications = [json.loads(line) for line in sink_file.read_text().splitlines()]
        return any(
            alert["labels"].get("alertname") == "DevclusterProbe"
            for notification in notifications
            for alert in notification["alerts"]
        )

    assert _wait_for(probe_delivered), "Alertmanager did not deliver to the local webhook"


def test_secrets_stay_in_private_files(
    shared_cluster: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, result = shared_cluster
    credentials = json.loads((run_dir / "credentials.json").read_text())
    for private in ("credentials.json", "bot.env"):
        assert (run_dir / private).stat().st_mode & 0o077 == 0, private
    printed = result.stdout + result.stderr + devcluster(run_dir, "status").stdout
    state_text = (run_dir / "state.json").read_text()
    for secret in (
        credentials["bot_token"],
        credentials["webhook_secret"],
        credentials["stats_password"],
    ):
        assert secret not in printed
        assert secret not in state_text
    for endpoint in ("Telegram emulator chat page", "HAProxy stats", "MongoDB"):
        assert endpoint in result.stdout


def test_status_and_down_from_another_process(run_dir: Path) -> None:
    started = devcluster(run_dir, "up")
    assert started.returncode == 0, started.stdout + started.stderr
    state = ClusterState.load(run_dir)
    assert state is not None
    pids = [process.pid for process in state.all_processes()]
    # secantus, 6 cluster nodes, broker, emulator, haproxy, alert sink, alertmanager, prometheus
    assert len(pids) == 13

    status = devcluster(run_dir, "status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("running") == 13

    again = devcluster(run_dir, "up")
    assert again.returncode == 1
    assert "already running" in again.stdout

    broker = next(p for p in state.all_processes() if p.name == "broker-redis")
    os.kill(broker.pid, signal.SIGKILL)
    degraded = devcluster(run_dir, "status")
    assert degraded.returncode == 1
    assert "STOPPED" in degraded.stdout

    down = devcluster(run_dir, "down")
    assert down.returncode == 0, down.stdout
    assert not any(pid_is_alive(pid) for pid in pids)
    assert ClusterState.load(run_dir) is None
    assert devcluster(run_dir, "status").returncode == 3


def test_fixed_ports_and_a_subset(run_dir: Path) -> None:
    from devcluster.ports import free_ports

    mongo_port, emulator_port = free_ports(2)
    result = subprocess.run(
        [
            sys.executable, "-m", "devcluster", "--run-dir", str(run_dir), "up",
            "--only", "secantus,telegram-emulator", "--port", f"mongo={mongo_port}",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "DEVCLUSTER_PORT_TELEGRAM_EMULATOR": str(emulator_port)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"mongodb://127.0.0.1:{mongo_port}/" in result.stdout
    assert f"http://127.0.0.1:{emulator_port}/" in result.stdout
    state = ClusterState.load(run_dir)
    assert state is not None
    assert [component.name for component in state.components] == [
        "secantus",
        "telegram-emulator",
    ]


def test_a_failing_component_stops_the_ones_already_started(run_dir: Path) -> None:
    import socket

    from devcluster.ports import LOOPBACK

    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = devcluster(
            run_dir, "up", "--only", "secantus,broker-redis", "--port", f"broker-redis={taken}"
        )
    assert result.returncode == 1
    assert "broker-redis failed to start" in result.stdout
    assert ClusterState.load(run_dir) is None
    secantus_log = run_dir / "logs" / "secantus.log"
    assert secantus_log.exists()
    assert not any(
        "secantusd-py" in " ".join(p.cmdline) and str(run_dir) in " ".join(p.cmdline)
        for p in _processes()
    )


class _Process:
    def __init__(self, pid: int, cmdline: list[str]) -> None:
        self.pid = pid
        self.cmdline = cmdline


def _processes() -> list[_Process]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            found.append(_Process(int(entry.name), raw.decode(errors="replace").split("\0")))
    return found


def test_unknown_port_name_is_a_usage_error(run_dir: Path) -> None:
    result = devcluster(run_dir, "up", "--port", "mongodb=1234")
    assert result.returncode == 2
    assert "unknown port name" in result.stderr
