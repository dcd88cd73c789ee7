"""`python -m devcluster up|status|down` starts the real topology, reports it, and leaves nothing.

One full cluster is shared by the tests that only look at it (it takes ~25 s to start); the
last of them stops it and checks that no process of any group it started survives.
"""

from __future__ import annotations

import json
import os
import signal
import socket
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

from devcluster.ports import LOOPBACK, free_ports
from devcluster.process import pid_is_alive
from devcluster.state import ClusterState

REPO_ROOT = Path(__file__).resolve().parents[2]
FULL_TOPOLOGY_PROCESSES = 21  # secantus, 6 nodes, broker, emulator, haproxy, 3 bots,
# celery worker and two beats, alert sink, alertmanager, node and redis exporters, prometheus


def devcluster(
    run_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devcluster", "--run-dir", str(run_dir), *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _wait_for(condition: Callable[[], bool], timeout: float = 40.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def _process_groups(group_ids: set[int]) -> list[int]:
    """Pids of live processes in any of these process groups (gunicorn workers, celery pool)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        state, process_group = fields[0], int(fields[2])
        if process_group in group_ids and state not in {"Z", "X"}:
            members.append(int(entry.name))
    return members


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


def test_stores_emulator_and_edge_answer(
    shared_cluster: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, _ = shared_cluster
    environment = _bot_environment(run_dir)
    credentials = json.loads((run_dir / "credentials.json").read_text())

    client: MongoClient[dict[str, object]]
    with MongoClient(environment["MONGO_URL"], serverSelectionTimeoutMS=5000) as client:
        seeded = client[environment["MONGO_DATABASE"]]
        assert seeded.list_collection_names(), "up did not migrate and seed the database"

    nodes = environment["REDIS_CLUSTER_NODES"].split(",")
    assert len(nodes) == 6
    host, port = nodes[0].rsplit(":", 1)
    with redis.Redis(host=host, port=int(port), decode_responses=True) as node:
        assert node.cluster("info")["cluster_state"] == "ok"
    with redis.Redis.from_url(environment["CELERY_BROKER_URL"]) as broker:
        assert broker.ping()

    api = environment["TELEGRAM_API_BASE_URL"]
    me = httpx.get(f"{api}/bot{environment['TELEGRAM_BOT_TOKEN']}/getMe", timeout=10).json()
    assert me["result"]["id"] == int(environment["TELEGRAM_BOT_TOKEN"].split(":")[0])
    assert httpx.get(f"{api}/bot1:wrongtoken/getMe", timeout=10).status_code == 401

    state = ClusterState.load(run_dir)
    assert state is not None
    stats = f"http://{LOOPBACK}:{state.ports['haproxy-stats']}/"
    auth = (credentials["stats_user"], credentials["stats_password"])
    assert httpx.get(stats, auth=auth, timeout=10).status_code == 200
    assert httpx.get(stats, auth=(auth[0], "wrong"), timeout=10).status_code == 401

    tls = ssl.create_default_context(cafile=str(run_dir / "tls" / "ca.pem"))
    webhook = environment["TELEGRAM_WEBHOOK_URL"]
    with httpx.Client(verify=tls, timeout=10) as https:
        assert https.post(webhook, json={"update_id": 1}).status_code == 403
        assert https.get(webhook.replace("/telegram/webhook", "/metrics")).status_code == 404


def test_a_user_talks_to_the_bot_through_haproxy(
    shared_cluster: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, _ = shared_cluster
    environment = _bot_environment(run_dir)
    api = environment["TELEGRAM_API_BASE_URL"]
    token = environment["TELEGRAM_BOT_TOKEN"]
    bot_id = token.split(":")[0]

    info = httpx.get(f"{api}/bot{token}/getWebhookInfo", timeout=10).json()["result"]
    assert info["url"] == environment["TELEGRAM_WEBHOOK_URL"]  # the TLS edge, not an instance

    user = httpx.post(
        f"{api}/_emulator/users", json={"first_name": "Анна", "language_code": "ru"}, timeout=10
    ).json()["result"]
    sent = httpx.post(
        f"{api}/_emulator/bots/{bot_id}/users/{user['id']}/text",
        json={"text": "/start"},
        timeout=10,
    )
    assert sent.json()["ok"]

    def bot_replied() -> bool:
        chat = httpx.get(f"{api}/_emulator/bots/{bot_id}/chats/{user['id']}", timeout=10).json()
        return any(message["from_bot"] for message in chat["result"]["messages"])

    assert _wait_for(bot_replied, timeout=30), "no reply to /start through HAProxy"


def test_prometheus_scrapes_and_alerts_reach_the_sink(
    shared_cluster: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, _ = shared_cluster
    state = ClusterState.load(run_dir)
    assert state is not None
    prometheus = f"http://{LOOPBACK}:{state.ports['prometheus']}"

    def targets_up() -> bool:
        targets = httpx.get(f"{prometheus}/api/v1/targets", timeout=5).json()["data"]
        up_by_job: dict[str, int] = {}
        for target in targets["activeTargets"]:
            up_by_job[target["labels"]["job"]] = up_by_job.get(target["labels"]["job"], 0) + (
                target["health"] == "up"
            )
        return (
            up_by_job.get("fok-bot") == 3
            and up_by_job.get("fok-worker") == 1
            and up_by_job.get("haproxy") == 1
            and up_by_job.get("alertmanager") == 1
            and up_by_job.get("node") == 1
            and up_by_job.get("redis") == 7  # six cluster nodes and the broker
        )

    assert _wait_for(targets_up), (
        "Prometheus does not scrape the bots, the worker, HAProxy, Alertmanager and the exporters"
    )
    rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert rules, "the rules from monitoring/prometheus/rules were not loaded"

    alertmanager = f"http://{LOOPBACK}:{state.ports['alertmanager']}"
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
    logs = "".join(path.read_text(errors="replace") for path in run_dir.rglob("*.log"))
    for secret in (
        credentials["bot_token"],
        credentials["webhook_secret"],
        credentials["stats_password"],
    ):
        assert secret not in printed
        assert secret not in state_text
        assert secret not in logs
    for endpoint in ("Telegram emulator chat page", "HAProxy stats", "Prometheus", "Alertmanager"):
        assert endpoint in result.stdout


def test_status_then_down_leaves_no_process_group_behind(
    shared_cluster: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    run_dir, _ = shared_cluster
    state = ClusterState.load(run_dir)
    assert state is not None
    leaders = {process.pid for process in state.all_processes()}
    assert len(leaders) == FULL_TOPOLOGY_PROCESSES
    status = devcluster(run_dir, "status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count(" running") == FULL_TOPOLOGY_PROCESSES
    assert len(_process_groups(leaders)) > len(leaders)  # gunicorn and celery have children

    down = devcluster(run_dir, "down")

    assert down.returncode == 0, down.stdout
    assert _process_groups(leaders) == []
    assert ClusterState.load(run_dir) is None
    assert devcluster(run_dir, "status").returncode == 3


def test_up_refuses_twice_and_status_notices_a_dead_process(run_dir: Path) -> None:
    started = devcluster(run_dir, "up", "--only", "broker-redis,telegram-emulator")
    assert started.returncode == 0, started.stdout + started.stderr
    again = devcluster(run_dir, "up", "--only", "broker-redis")
    assert again.returncode == 1
    assert "already running" in again.stdout

    state = ClusterState.load(run_dir)
    assert state is not None
    broker = next(p for p in state.all_processes() if p.name == "broker-redis")
    os.kill(broker.pid, signal.SIGKILL)
    assert _wait_for(lambda: not pid_is_alive(broker.pid), timeout=10)
    degraded = devcluster(run_dir, "status")
    assert degraded.returncode == 1
    assert "STOPPED" in degraded.stdout
    assert devcluster(run_dir, "down").returncode == 0


def test_fixed_ports_from_flags_and_environment(run_dir: Path) -> None:
    mongo_port, emulator_port = free_ports(2)
    result = devcluster(
        run_dir,
        *("up", "--only", "secantus,telegram-emulator", "--port", f"mongo={mongo_port}"),
        env={"DEVCLUSTER_PORT_TELEGRAM_EMULATOR": str(emulator_port)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"mongodb://{LOOPBACK}:{mongo_port}/" in result.stdout
    assert f"http://{LOOPBACK}:{emulator_port}/" in result.stdout
    state = ClusterState.load(run_dir)
    assert state is not None
    assert [c.name for c in state.components] == ["secantus", "telegram-emulator"]


def _commands_mentioning(fragment: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if fragment in command:
                found.append(command)
    return found


def test_a_failing_component_stops_the_ones_already_started(run_dir: Path) -> None:
    (mongo_port,) = free_ports(1)
    with socket.socket() as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        result = devcluster(
            run_dir,
            *("up", "--only", "secantus,broker-redis"),
            *("--port", f"mongo={mongo_port}", "--port", f"broker-redis={taken}"),
        )
    assert result.returncode == 1
    assert "starting secantus" in result.stdout
    assert "broker-redis failed to start" in result.stdout
    assert "Address already in use" in result.stdout  # the log tail names the cause
    assert ClusterState.load(run_dir) is None
    assert _commands_mentioning(f"--port {mongo_port}") == []


def test_unknown_names_are_usage_errors(run_dir: Path) -> None:
    wrong_port = devcluster(run_dir, "up", "--port", "mongodb=1234")
    assert wrong_port.returncode == 2
    assert "unknown port name" in wrong_port.stderr
    wrong_component = devcluster(run_dir, "up", "--only", "mongo")
    assert wrong_component.returncode == 2
    assert "unknown component" in wrong_component.stderr


def test_foreground_up_stops_everything_on_ctrl_c(run_dir: Path) -> None:
    attached = subprocess.Popen(
        [
            *(sys.executable, "-m", "devcluster", "--run-dir", str(run_dir)),
            *("up", "--foreground", "--only", "broker-redis,alert-sink"),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert attached.stdout is not None
        for line in attached.stdout:
            if line.startswith("local cluster up"):
                break
        state = ClusterState.load(run_dir)
        assert state is not None
        pids = [process.pid for process in state.all_processes()]
        assert all(pid_is_alive(pid) for pid in pids)

        attached.send_signal(signal.SIGINT)
        assert attached.wait(timeout=60) == 0
        assert not any(pid_is_alive(pid) for pid in pids)
        assert ClusterState.load(run_dir) is None
    finally:
        if attached.poll() is None:
            attached.kill()
            attached.wait()
        if attached.stdout is not None:
            attached.stdout.close()  # an unclosed pipe is a ResourceWarning, and warnings fail
