"""A real Prometheus loads monitoring/prometheus/prometheus.local.yml.tmpl (rendered the way the
launcher renders it), scrapes the real HAProxy exporter, and evaluates every rule without error.
"""

from __future__ import annotations

import shutil
import string
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devcluster.monitoring import write_scrape_targets
from devcluster.ports import LOOPBACK, free_ports
from devcluster.process import ManagedProcess
from tests.haproxy.edge_harness import REPO_ROOT, EchoBackend, Edge

PROMETHEUS_DIR = REPO_ROOT / "monitoring" / "prometheus"


@pytest.fixture
def prometheus_over_edge(
    start_edge: Callable[..., Edge], backends: list[EchoBackend], tmp_path: Path
) -> Iterator[tuple[str, Edge]]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("Prometheus is not installed (apt-get install prometheus)")
    edge = start_edge()
    prometheus_port, nothing_on_worker, nothing_on_alertmanager, nothing_on_exporters = free_ports(
        4
    )
    template = (PROMETHEUS_DIR / "prometheus.local.yml.tmpl").read_text(encoding="utf-8")
    config = tmp_path / "prometheus.yml"
    bot_targets, worker_targets = tmp_path / "bots.json", tmp_path / "workers.json"
    write_scrape_targets(bot_targets, [backend.address for backend in backends[:3]])
    write_scrape_targets(worker_targets, [f"{LOOPBACK}:{nothing_on_worker}"])
    config.write_text(
        string.Template(template).substitute(
            RULES_DIR=str(PROMETHEUS_DIR / "rules"),
            BOT_TARGETS_FILE=str(bot_targets),
            WORKER_TARGETS_FILE=str(worker_targets),
            HAPROXY_METRICS_ADDR=f"{LOOPBACK}:{edge.metrics_port}",
            ALERTMANAGER_ADDR=f"{LOOPBACK}:{nothing_on_alertmanager}",
            PROMETHEUS_ADDR=f"{LOOPBACK}:{prometheus_port}",
            NODE_EXPORTER_ADDR=f"{LOOPBACK}:{nothing_on_exporters}",
            REDIS_EXPORTER_ADDR=f"{LOOPBACK}:{nothing_on_exporters}",
            REDIS_CLUSTER_TARGETS='"redis://127.0.0.1:7001", "redis://127.0.0.1:7002"',
            REDIS_BROKER_TARGET="redis://127.0.0.1:6379",
        ),
        encoding="utf-8",
    )
    url = f"http://{LOOPBACK}:{prometheus_port}"
    process = ManagedProcess(
        "prometheus",
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address={LOOPBACK}:{prometheus_port}",
        ],
        log_dir=tmp_path,
        stop_grace_seconds=10,
    )
    with process:
        process.wait_ready(
            port=prometheus_port,
            check=lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200,
        )
        yield url, edge


def _api(url: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{url}/api/v1/{path}", params=params, timeout=5)
    response.raise_for_status()
    return response.json()["data"]


def _rules_in_files() -> int:
    """Every recording and alerting rule in monitoring/prometheus/rules/*.yml."""
    return sum(
        len(group["rules"])
        for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    )


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_local_prometheus_scrapes_the_edge_and_evaluates_every_rule(
    prometheus_over_edge: tuple[str, Edge],
) -> None:
    url, _ = prometheus_over_edge

    def target_health() -> dict[tuple[str, str], str]:
        targets = _api(url, "targets")["activeTargets"]
        return {(t["labels"]["job"], t["labels"]["instance"]): t["health"] for t in targets}

    _wait_for(
        lambda: len(target_health()) == 12 and "unknown" not in target_health().values(),
        30,
        "all 12 targets to be scraped once",
    )
    health = target_health()
    assert {job for job, _ in health} == {
        "fok-bot",
        "fok-worker",
        "haproxy",
        "redis",
        "redis-exporter",
        "node",
        "alertmanager",
        "prometheus",
    }
    # one scrape per Redis node, named by the node, not by the exporter they all go through
    assert sorted(instance for job, instance in health if job == "redis") == [
        "redis://127.0.0.1:6379",
        "redis://127.0.0.1:7001",
        "redis://127.0.0.1:7002",
    ]
    assert [h for (job, _), h in health.items() if job == "haproxy"] == ["up"]
    assert [h for (job, _), h in health.items() if job == "prometheus"] == ["up"]
    # the echo backends have no /metrics: the bot job is down, as FokBotInstanceDown will see
    assert [h for (job, _), h in health.items() if job == "fok-bot"] == ["down"] * 3

    result = _api(url, "query", query='haproxy_backend_active_servers{proxy="bots"}')["result"]
    assert [sample["value"][1] for sample in result] == ["3"]

    def rules() -> list[dict[str, Any]]:
        groups = _api(url, "rules")["groups"]
        return [rule for group in groups for rule in group["rules"]]

    _wait_for(
        lambda: all(r.get("lastEvaluation", "").startswith("20") for r in rules()),
        30,
        "every rule to be evaluated",
    )
    loaded = rules()
    assert len(loaded) == _rules_in_files()
    assert [(r["name"], r["lastError"]) for r in loaded if r["health"] != "ok"] == []

    _wait_for(
        lambda: any(
            a["labels"]["alertname"] == "FokBotInstanceDown" for a in _api(url, "alerts")["alerts"]
        ),
        30,
        "FokBotInstanceDown to become pending",
    )
