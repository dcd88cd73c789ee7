"""scripts/monitor-enterprise.sh against the real local cluster (`python -m devcluster up`): every
read-only command answers from the real sources and says the cluster is healthy; the compose
code path reads the same sources through `docker compose exec` (a stand-in docker, no engine
here); and when a bot instance crashes, FokBotInstanceDown reaches Alertmanager and the alert
sink, and `overview --local` shows it and exits non-zero.

One cluster serves the whole module (about half a minute to start); the crash is the last test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ops.deployments import ALL_SERVICES, COMPOSE_SERVICES
from tests.local_cluster import Cluster, running_local_cluster

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "monitor-enterprise.sh"
FAKE_DOCKER = Path(__file__).with_name("fake_docker.py")
# FokBotInstanceDown has `for: 1m`; Prometheus scrapes and evaluates every 5 s locally and
# Alertmanager waits 1 s for a critical group: the alert arrives a little over a minute after.
ALERT_WAIT_SECONDS = 150

pytestmark = pytest.mark.timeout(420)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from running_local_cluster(tmp_path_factory, "ops")


def monitor(
    cluster: Cluster, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        # the run directory comes the way an operator's shell would give it
        env={**os.environ, "DEVCLUSTER_RUN_DIR": str(cluster.run_dir), **(env or {})},
    )


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def commands(output: str) -> list[str]:
    return [line[2:] for line in output.splitlines() if line.startswith("+ ")]


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(2)


# --- the healthy cluster -------------------------------------------------------------------


def test_devcluster_status_json_names_every_process_and_port(cluster: Cluster) -> None:
    status = cluster.status
    assert status["all_running"] is True
    assert Path(status["run_dir"]) == cluster.run_dir
    names = {p["name"] for c in status["components"] for p in c["processes"]}
    assert {"bot-bot1", "bot-bot2", "bot-bot3", "haproxy", "prometheus"} <= names
    assert {"haproxy-stats", "prometheus", "alertmanager", "bot-1"} <= set(status["ports"])
    # files only: the secrets stay in the files it names
    assert cluster.credentials()["stats_password"] not in json.dumps(status)


def test_overview_shows_a_healthy_cluster(cluster: Cluster) -> None:
    result = monitor(cluster, "overview", "--local")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "overview: local cluster in" in out
    for name in ("bot-bot1", "bot-bot2", "bot-bot3", "secantus", "celery-worker1", "prometheus"):
        assert name in out
    assert "HAProxy backend bots" in out
    assert "backend UP: 3 of 3 in rotation" in out
    assert "healthy: no problem found" in out
    # colour only on a terminal
    assert "\x1b[" not in out


def test_overview_json_is_found_without_local_and_parses(cluster: Cluster) -> None:
    result = monitor(cluster, "overview", "--json")  # --local is detected from the run dir
    assert result.returncode == 0, result.stdout + result.stderr
    data = report(result)
    assert data["mode"] == "local"
    assert data["healthy"] is True
    assert data["problems"] == []
    sections = data["sections"]
    assert list(sections) == ["processes", "haproxy", "instances", "alerts"]
    assert all(p["ok"] for p in sections["processes"]["data"])
    assert len(sections["processes"]["data"]) == sum(
        len(c["processes"]) for c in cluster.status["components"]
    )
    servers = sections["haproxy"]["data"]["servers"]
    assert [(s["name"], s["status"]) for s in servers] == [
        ("bot1", "UP"),
        ("bot2", "UP"),
        ("bot3", "UP"),
    ]
    instances = sections["instances"]["data"]
    assert [(i["name"], i["status"]) for i in instances] == [
        ("bot1", "ok"),
        ("bot2", "ok"),
        ("bot3", "ok"),
    ]
    # the instances' own documents, with every dependency checked
    for instance in instances:
        assert instance["detail"]["instance"] == instance["name"]
        assert {d["name"] for d in instance["detail"]["dependencies"]} == {
            "mongodb",
            "redis_cluster",
            "broker",
        }
    assert sections["alerts"]["data"] == []


def test_infra_reads_the_replica_set_the_redis_cluster_and_the_broker(cluster: Cluster) -> None:
    text = monitor(cluster, "infra", "--local")
    assert text.returncode == 0, text.stdout + text.stderr
    assert "MongoDB replica set secantus" in text.stdout
    assert "3 masters, 3 replicas" in text.stdout
    data = report(monitor(cluster, "infra", "--local", "--json"))
    assert data["healthy"] is True
    sections = data["sections"]
    # SecantusDB answers replSetGetStatus as a one-member set
    mongodb = sections["mongodb"]["data"]
    assert mongodb["standalone"] is False
    assert [(m["name"], m["state"]) for m in mongodb["members"]] == [
        (f"127.0.0.1:{cluster.ports['mongo']}", "PRIMARY")
    ]
    nodes = sections["redis_cluster"]["data"]
    assert sorted(n["address"] for n in nodes) == sorted(
        f"127.0.0.1:{cluster.ports[f'redis-cluster-{i}']}" for i in range(1, 7)
    )
    assert {n["cluster"]["cluster_state"] for n in nodes} == {"ok"}
    assert sorted(n["info"]["role"] for n in nodes) == ["master"] * 3 + ["slave"] * 3
    broker = sections["broker"]["data"]
    assert broker["address"] == f"127.0.0.1:{cluster.ports['broker-redis']}"
    assert broker["info"]["maxmemory_policy"] == "noeviction"
    jobs = {t["job"] for t in sections["targets"]["data"]}
    assert {"fok-bot", "fok-worker", "haproxy", "redis", "node", "prometheus"} <= jobs


def test_metrics_come_from_prometheus_on_the_rules_metric_names(cluster: Cluster) -> None:
    # the worker's and HAProxy's series reach Prometheus on their first scrapes (every 5 s),
    # which may come after the cluster reports itself up
    def queues_and_rotation_reported() -> dict[str, Any] | None:
        data = report(monitor(cluster, "metrics", "--json"))
        values = {row["label"]: row["value"] for row in data["sections"]["metrics"]["data"]}
        scraped = "Celery queue [notifications]" in values and values.get("bots in rotation")
        return data if scraped else None

    data = wait_for(
        queues_and_rotation_reported, 60, "the Celery queues and HAProxy's rotation in Prometheus"
    )
    assert data["healthy"] is True, data["problems"]
    figures = {row["label"]: row for row in data["sections"]["metrics"]["data"]}
    for queue in ("fok", "notifications", "reminders", "reports", "backups"):
        assert figures[f"Celery queue [{queue}]"]["value"] == 0
    assert figures["bots in rotation"]["value"] == 3
    for label in ("updates/s", "webhook 5xx ratio", "p95 handler latency", "Telegram 429/s"):
        assert any(name.startswith(label) for name in figures), label
    assert figures["outbox parked"]["expr"] == "max(fok_outbox_parked)"
    hosts = data["sections"]["resources"]["data"]
    assert {row["label"].split(" [")[0] for row in hosts} == {
        "CPU busy",
        "memory used",
        "fullest filesystem",
    }
    text = monitor(cluster, "metrics")
    assert text.returncode == 0, text.stdout + text.stderr
    assert "Cluster metrics (Prometheus)" in text.stdout
    assert "FokCeleryQueueBacklog > 100" in text.stdout


def test_logs_of_one_instance(cluster: Cluster) -> None:
    result = monitor(cluster, "logs", "bot1", "20", "--local")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"==> bot-bot1 ({cluster.run_dir / 'bots' / 'bot-bot1.log'}) <=="
    body = [line for line in lines[1:] if line]
    assert 0 < len(body) <= 20
    assert any('"instance": "bot1"' in line for line in body)
    data = report(monitor(cluster, "logs", "bot1", "20", "--json"))
    assert [chunk["name"] for chunk in data["logs"]] == ["bot-bot1"]
    assert 0 < len(data["logs"][0]["lines"]) <= 20
    every = report(monitor(cluster, "logs", "5", "--json"))
    assert len(every["logs"]) == sum(len(c["processes"]) for c in cluster.status["components"])
    assert all(len(chunk["lines"]) <= 5 for chunk in every["logs"])
    unknown = monitor(cluster, "logs", "nonesuch")
    assert unknown.returncode == 2
    assert "no process or component 'nonesuch'" in unknown.stderr


def test_alerts_and_full_on_a_quiet_cluster(cluster: Cluster) -> None:
    alerts = monitor(cluster, "alerts", "--local")
    assert alerts.returncode == 0, alerts.stdout + alerts.stderr
    assert "Alertmanager holds no alert" in alerts.stdout
    full = monitor(cluster, "full", "--local", "--json")
    assert full.returncode == 0, full.stdout + full.stderr
    data = report(full)
    assert data["healthy"] is True, data["problems"]
    assert list(data["sections"]) == [
        "processes",
        "haproxy",
        "instances",
        "mongodb",
        "redis_cluster",
        "broker",
        "targets",
        "metrics",
        "resources",
        "alerts",
        "pending",
    ]
    assert all(section["error"] is None for section in data["sections"].values())
    urls = report(monitor(cluster, "urls", "--json"))["urls"]
    assert urls["Prometheus"] == cluster.url("prometheus") + "/"


def test_the_compose_path_reads_the_same_sources_through_docker_compose(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The compose side, over a stand-in docker whose containers are the local processes."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_DOCKER}" "$@"\n')
    docker.chmod(0o755)
    mongo_password = "exporter-password-for-the-test"
    ps = [
        {"Name": f"fok-{service}-1", "Service": service, "State": "running", "Health": "healthy"}
        for service in ALL_SERVICES
        if service not in COMPOSE_SERVICES["jobs"] + COMPOSE_SERVICES["tools"] + ("bot",)
    ]
    ps += [
        {"Name": f"fok-bot-{i}", "Service": "bot", "State": "running", "Health": "healthy"}
        for i in (1, 2, 3)
    ]
    ps += [
        {"Name": f"fok-{job}-1", "Service": job, "State": "exited", "ExitCode": 0}
        for job in COMPOSE_SERVICES["jobs"]
    ]
    bot_env = dict(
        line.split("=", 1)
        for line in (cluster.run_dir / "bot.env").read_text().splitlines()
        if line
    )
    config = tmp_path / "fake-docker.json"
    config.write_text(
        json.dumps(
            {
                "ps": ps,
                "bots": [cluster.url(f"bot-{i}") for i in (1, 2, 3)],
                "redis": {
                    **{f"redis-{i}": cluster.ports[f"redis-cluster-{i}"] for i in range(1, 7)},
                    "redis-broker": cluster.ports["broker-redis"],
                },
                "mongo_url": bot_env["MONGO_URL"],
                "mongo_password": mongo_password,
            }
        )
    )
    credentials = cluster.credentials()
    env_file = tmp_path / ".env.prod"
    env_file.write_text(
        f"STATS_USER={credentials['stats_user']}\n"
        f"STATS_PASSWORD={credentials['stats_password']}\n"
        f"MONGO_EXPORTER_PASSWORD={mongo_password}\n"
    )
    calls = tmp_path / "docker-calls.jsonl"
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_DOCKER_CONFIG": str(config),
        "FAKE_DOCKER_LOG": str(calls),
        "FOK_HAPROXY_STATS_URL": cluster.url("haproxy-stats"),
        "FOK_PROMETHEUS_URL": cluster.url("prometheus"),
        "FOK_ALERTMANAGER_URL": cluster.url("alertmanager"),
    }
    result = monitor(cluster, "full", "--compose", "--env-file", str(env_file), "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    data = report(result)
    assert data["mode"] == "compose"
    assert data["healthy"] is True, data["problems"]
    sections = data["sections"]
    assert len(sections["processes"]["data"]) == len(ALL_SERVICES) - 1 + 2  # cli absent, 3 bots
    assert [(i["name"], i["status"]) for i in sections["instances"]["data"]] == [
        ("fok-bot-1", "ok"),
        ("fok-bot-2", "ok"),
        ("fok-bot-3", "ok"),
    ]
    assert sections["mongodb"]["data"]["set_name"] == "secantus"
    assert len(sections["redis_cluster"]["data"]) == 6
    assert {n["cluster"]["cluster_state"] for n in sections["redis_cluster"]["data"]} == {"ok"}
    assert sections["broker"]["data"]["info"]["maxmemory_policy"] == "noeviction"
    assert "containers" in sections
    recorded = [json.loads(line) for line in calls.read_text().splitlines()]
    argvs = [call["argv"] for call in recorded]
    # the bots are asked one replica at a time, inside their containers
    assert [a[a.index("--index") + 1] for a in argvs if "--index" in a] == ["1", "2", "3"]
    # the Mongo password travels in the environment of `docker compose exec -e NAME` only
    mongo = [call for call in recorded if "mongo-1" in call["argv"]]
    assert mongo
    assert mongo[0]["mongo_password_env"] == mongo_password
    assert all(mongo_password not in " ".join(a) for a in argvs)
    assert all(credentials["stats_password"] not in " ".join(a) for a in argvs)
    prefix = ["compose", "-p", "fok", "--env-file", str(env_file.resolve()), "-f"]
    assert all(a[:6] == prefix for a in argvs)

    logs = monitor(cluster, "logs", "bot2", "5", "--compose", "--env-file", str(env_file), env=env)
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == "log line of fok-bot-2\n"
    assert "+ docker logs --tail 5 fok-bot-2" in logs.stderr


# --- actions on the local cluster --------------------------------------------------------------


def test_local_scale_and_restart_plans_are_the_launchers_commands(cluster: Cluster) -> None:
    same = monitor(cluster, "scale", "bot", "3", "--local")
    assert same.returncode == 0, same.stderr
    assert "bots: 3 already running, nothing to do" in same.stdout
    launcher = f"{sys.executable} -m devcluster --run-dir {cluster.run_dir}"
    more = monitor(cluster, "scale", "bot", "4", "--local", "--dry-run")
    assert more.returncode == 0, more.stderr
    assert commands(more.stdout) == [f"{launcher} scale bots 4"]
    workers = monitor(cluster, "scale", "celery-worker", "2", "--local", "--dry-run")
    assert commands(workers.stdout) == [f"{launcher} scale celery-worker 2"]
    restart = monitor(cluster, "restart", "bot-1", "--local", "--dry-run")
    assert commands(restart.stdout) == [f"{launcher} restart bot-1"]
    too_many = monitor(cluster, "scale", "bot", "11", "--local")
    assert too_many.returncode == 2
    assert "1 to 10 instances" in too_many.stderr
    unknown = monitor(cluster, "restart", "prometheus", "--local")
    assert unknown.returncode != 0
    assert "restartable: bots, bot-1, bot-2, bot-3, worker1, celery-worker" in unknown.stderr


def test_local_backup_plan_is_admin_tools_on_the_local_database(cluster: Cluster) -> None:
    plan = monitor(cluster, "backup", "--local", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    backups = cluster.run_dir / "backups"
    assert commands(plan.stdout) == [
        f"{sys.executable} {REPO_ROOT / 'scripts' / 'admin_tools.py'} backup --dir {backups}"
    ]
    assert not backups.exists()


# --- a bot instance crashes (last: the cluster stays degraded) ---------------------------------


def _active_alerts(cluster: Cluster, name: str, instance: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{cluster.url('alertmanager')}/api/v2/alerts", timeout=5)
    response.raise_for_status()
    return [
        alert
        for alert in response.json()
        if alert["labels"].get("alertname") == name
        and alert["labels"].get("instance") == instance
        and alert["status"]["state"] == "active"
    ]


def _notified(cluster: Cluster, name: str, instance: str) -> list[dict[str, Any]]:
    sink = cluster.run_dir / "alerts.jsonl"
    if not sink.exists():
        return []
    return [
        notification
        for notification in map(json.loads, sink.read_text().splitlines())
        if notification["status"] == "firing"
        and any(
            a["labels"].get("alertname") == name and a["labels"].get("instance") == instance
            for a in notification["alerts"]
        )
    ]


def test_a_crashed_instance_reaches_alertmanager_and_overview_exits_non_zero(
    cluster: Cluster,
) -> None:
    """Also: a backup works with an instance down (run while the alert is pending)."""
    pid = cluster.pid("bot-bot1")
    # SIGKILL the gunicorn master as the launcher started it: it leads its own process group,
    # and its uvicorn worker goes with it (killed alone, an orphaned worker keeps serving).
    os.killpg(pid, signal.SIGKILL)
    address = f"127.0.0.1:{cluster.ports['bot-1']}"

    # While the alert waits out its `for:`, a real backup runs: it needs MongoDB, not the bots.
    backup = monitor(cluster, "backup", "--local")
    assert backup.returncode == 0, backup.stdout + backup.stderr
    archives = sorted((cluster.run_dir / "backups").glob("fok-backup-*.tar.gz"))
    assert len(archives) == 1
    assert f"backup written: {archives[0]}" in backup.stdout

    alerts = wait_for(
        lambda: _active_alerts(cluster, "FokBotInstanceDown", address),
        ALERT_WAIT_SECONDS,
        "FokBotInstanceDown in Alertmanager",
    )
    assert alerts[0]["labels"]["severity"] == "critical"
    notifications = wait_for(
        lambda: _notified(cluster, "FokBotInstanceDown", address),
        30,
        "the alert sink to receive FokBotInstanceDown",
    )
    assert notifications[0]["receiver"] == "admins-urgent"

    result = monitor(cluster, "overview", "--local")
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "UNHEALTHY" in out
    assert "bots/bot-bot1 is STOPPED" in out
    assert "HAProxy: bot1 is DOWN, out of rotation" in out
    assert f"alert FokBotInstanceDown (critical) on bot1 ({address})" in out
    data = report(monitor(cluster, "overview", "--local", "--json"))
    assert data["healthy"] is False
    assert [i["status"] for i in data["sections"]["instances"]["data"]] == [
        "unreachable",
        "ok",
        "ok",
    ]
    active = [a["labels"] for a in data["sections"]["alerts"]["data"]]
    assert {"alertname": "FokBotInstanceDown", "instance": address} in [
        {"alertname": a["alertname"], "instance": a.get("instance")} for a in active
    ]
    assert any("FokBotInstanceDown" in problem for problem in data["problems"])
