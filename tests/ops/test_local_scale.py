"""`monitor-enterprise.sh --local scale|restart` on a real local cluster (`devcluster up`).

The tests run in order on one cluster: scale the bots 3 -> 4 (the fourth answers webhook traffic
through HAProxy and Prometheus scrapes it), restart bot-2 under traffic (no webhook delivery
fails: the emulator, which retries like Telegram, counts every attempt), scale back to 3, then
scale the Celery workers 1 -> 2 (the new worker consumes tasks) and back to 1.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from devcluster.process import pid_is_alive
from ops.sources import parse_haproxy_csv, read_haproxy_csv
from tests.local_cluster import Cluster, running_local_cluster
from tests.ops.test_monitor_local import monitor, report, wait_for

pytestmark = pytest.mark.timeout(600)

# Bound on waits for a condition (a slow, loaded machine); failures show the condition.
WAIT_SECONDS = 120
_names = itertools.count(1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from running_local_cluster(tmp_path_factory, "scale")


class Emulator:
    """The emulator's client API, as people who write to the bot."""

    def __init__(self, cluster: Cluster) -> None:
        self.base = cluster.url("telegram-emulator")
        self.bot_path = f"/_emulator/bots/{cluster.bot_env()['TELEGRAM_BOT_TOKEN'].split(':')[0]}"
        self.http = httpx.Client(base_url=self.base, timeout=30)

    def _result(self, response: httpx.Response) -> Any:
        body = response.json()
        assert body["ok"], body
        return body["result"]

    def new_user(self) -> int:
        user = self._result(
            self.http.post("/_emulator/users", json={"first_name": f"Scale{next(_names)}"})
        )
        return int(user["id"])

    def send(self, user_id: int, text: str) -> int:
        sent = self._result(
            self.http.post(f"{self.bot_path}/users/{user_id}/text", json={"text": text})
        )
        return int(sent["update_id"])

    def deliveries(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._result(self.http.get(f"{self.bot_path}/deliveries"))
        return result

    def wait_idle(self) -> None:
        idle = self._result(self.http.get(f"{self.bot_path}/idle", params={"timeout": 60}))
        assert idle["idle"], f"{idle['pending']} updates still pending after 60 s"


@pytest.fixture(scope="module")
def emulator(cluster: Cluster) -> Iterator[Emulator]:
    client = Emulator(cluster)
    yield client
    client.http.close()


def _counter(metrics_url: str, name: str, **labels: str) -> float:
    """The sum of one counter's samples matching `labels` on a /metrics page."""
    text = httpx.get(metrics_url, timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        sample_labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if all(sample_labels.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _overview(cluster: Cluster) -> dict[str, Any]:
    result = monitor(cluster, "overview", "--local", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return report(result)


def _scrape_targets(cluster: Cluster, job: str) -> dict[str, str]:
    response = httpx.get(f"{cluster.url('prometheus')}/api/v1/targets", timeout=5)
    return {
        t["labels"]["instance"]: t["health"]
        for t in response.json()["data"]["activeTargets"]
        if t["labels"]["job"] == job
    }


def _process_names(cluster: Cluster, component: str) -> list[str]:
    return [
        p["name"]
        for c in cluster.refreshed().status["components"]
        if c["name"] == component
        for p in c["processes"]
        if p["running"]
    ]


def _proxy_errors(cluster: Cluster, server: str) -> dict[str, int]:
    """HAProxy's count of what went wrong towards one server: connection errors, broken
    answers, retries and redispatches (which would hide a refused request from the emulator)."""
    credentials = cluster.credentials()
    rows = parse_haproxy_csv(
        read_haproxy_csv(
            cluster.url("haproxy-stats"), credentials["stats_user"], credentials["stats_password"]
        )
    )
    row = next(r for r in rows if r["pxname"] == "bots" and r["svname"] == server)
    return {field: int(row[field] or 0) for field in ("econ", "eresp", "wretr", "wredis")}


def _proxy_status(cluster: Cluster, server: str) -> str:
    credentials = cluster.credentials()
    rows = parse_haproxy_csv(
        read_haproxy_csv(
            cluster.url("haproxy-stats"), credentials["stats_user"], credentials["stats_password"]
        )
    )
    return next(r["status"] for r in rows if r["pxname"] == "bots" and r["svname"] == server)


def _watch(
    cluster: Cluster, server: str, pid: int, stop: threading.Event, seen: list[tuple[str, bool]]
) -> None:
    """Record (HAProxy's status of `server`, whether process `pid` still runs) until stopped."""
    while not stop.is_set():
        seen.append((_proxy_status(cluster, server), pid_is_alive(pid)))
        stop.wait(0.1)


def _failed_attempts(emulator: Emulator, update_ids: set[int]) -> list[dict[str, Any]]:
    return [
        d for d in emulator.deliveries() if d["update_id"] in update_ids and d["outcome"] != "ok"
    ]


def test_scale_bot_to_four_puts_the_fourth_instance_behind_haproxy(
    cluster: Cluster, emulator: Emulator
) -> None:
    scaled = monitor(cluster, "scale", "bot", "4", "--local")
    assert scaled.returncode == 0, scaled.stdout + scaled.stderr
    assert "HAProxy: 4 of 4 bot servers in rotation" in scaled.stdout

    overview = _overview(cluster)
    assert [s["name"] for s in overview["sections"]["haproxy"]["data"]["servers"]] == [
        "bot1",
        "bot2",
        "bot3",
        "bot4",
    ]
    instances = overview["sections"]["instances"]["data"]
    assert [i["name"] for i in instances] == ["bot1", "bot2", "bot3", "bot4"]
    assert all(i["status"] == "ok" for i in instances), instances

    # People write until one of them is pinned to bot4 (consistent hashing on the chat id):
    # counted by the instance itself, for answers that went out through HAProxy.
    bot4 = cluster.refreshed().url("bot-4")
    update_ids = set()
    for _ in range(200):
        update_ids.add(emulator.send(emulator.new_user(), "/start"))
        if len(update_ids) % 4 == 0 and _counter(
            f"{bot4}/metrics", "fok_webhook_requests_total", code="200"
        ):
            break
    emulator.wait_idle()
    assert _counter(f"{bot4}/metrics", "fok_webhook_requests_total", code="200") > 0
    assert _failed_attempts(emulator, update_ids) == []

    bot4_address = bot4.removeprefix("http://")
    wait_for(
        lambda: _scrape_targets(cluster, "fok-bot").get(bot4_address) == "up",
        WAIT_SECONDS,
        "Prometheus to scrape bot4",
    )
    assert len(_scrape_targets(cluster, "fok-bot")) == 4


def _traffic(emulator: Emulator, users: list[int], stop: threading.Event, sent: set[int]) -> None:
    for user in itertools.cycle(users):
        if stop.is_set():
            return
        sent.add(emulator.send(user, "/help"))
        stop.wait(0.1)


def test_restart_bot_2_under_traffic_fails_no_delivery(
    cluster: Cluster, emulator: Emulator
) -> None:
    before = cluster.refreshed().pid("bot-bot2")
    users = [emulator.new_user() for _ in range(24)]
    stop, sent = threading.Event(), set[int]()
    traffic = threading.Thread(target=_traffic, args=(emulator, users, stop, sent), daemon=True)
    seen: list[tuple[str, bool]] = []
    watch = threading.Thread(target=_watch, args=(cluster, "bot2", before, stop, seen), daemon=True)
    traffic.start()
    watch.start()
    try:
        wait_for(lambda: len(sent) >= 10, WAIT_SECONDS, "traffic to flow")
        errors_before = _proxy_errors(cluster, "bot2")
        restarted = monitor(cluster, "restart", "bot-2", "--local")
        sent_while_restarting = len(sent)
        wait_for(lambda: len(sent) >= sent_while_restarting + 10, WAIT_SECONDS, "more traffic")
    finally:
        stop.set()
        traffic.join(timeout=30)
        watch.join(timeout=30)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "bot2 restarted" in restarted.stdout
    emulator.wait_idle()

    after = cluster.refreshed().pid("bot-bot2")
    assert after != before
    assert not pid_is_alive(before)
    delivered = {d["update_id"] for d in emulator.deliveries() if d["outcome"] == "ok"}
    assert sent <= delivered
    assert _failed_attempts(emulator, sent) == []
    assert _proxy_errors(cluster, "bot2") == errors_before
    # Taken out of rotation by HAProxy before it was stopped, not only when its checks failed
    # (the instance's own drain, /ready 503 for WEB_DRAIN_SECONDS, would hide that from the
    # counts above).
    assert any(status.startswith("MAINT") and old_alive for status, old_alive in seen), seen
    overview = _overview(cluster)
    servers = overview["sections"]["haproxy"]["data"]["servers"]
    assert {s["name"]: s["status"] for s in servers}["bot2"] == "UP"


def test_scale_bot_back_to_three_drains_and_removes_the_fourth(cluster: Cluster) -> None:
    bot4_pid = cluster.refreshed().pid("bot-bot4")
    bot4_address = cluster.refreshed().url("bot-4").removeprefix("http://")
    scaled = monitor(cluster, "scale", "bot", "3", "--local")
    assert scaled.returncode == 0, scaled.stdout + scaled.stderr
    assert "HAProxy: 3 of 3 bot servers in rotation" in scaled.stdout
    assert not pid_is_alive(bot4_pid)
    assert "bot-4" not in cluster.refreshed().ports
    assert _process_names(cluster, "bots") == ["bot-bot1", "bot-bot2", "bot-bot3"]
    overview = _overview(cluster)
    assert [i["name"] for i in overview["sections"]["instances"]["data"]] == [
        "bot1",
        "bot2",
        "bot3",
    ]
    wait_for(
        lambda: bot4_address not in _scrape_targets(cluster, "fok-bot"),
        WAIT_SECONDS,
        "Prometheus to stop scraping bot4",
    )


def _tasks_done(metrics_url: str) -> Callable[[], float]:
    return lambda: _counter(metrics_url, "fok_celery_tasks_total", result="success")


def test_scale_celery_worker_up_and_the_new_worker_consumes_tasks(cluster: Cluster) -> None:
    scaled = monitor(cluster, "scale", "celery-worker", "2", "--local")
    assert scaled.returncode == 0, scaled.stdout + scaled.stderr
    assert _process_names(cluster, "celery-worker") == ["celery-worker1", "celery-worker2"]
    worker2 = cluster.refreshed().url("worker-metrics-2")
    # Beat sends the periodic tasks every few seconds locally; the two workers share the queues.
    wait_for(_tasks_done(f"{worker2}/metrics"), WAIT_SECONDS, "worker2 to finish a task")
    wait_for(
        lambda: _scrape_targets(cluster, "fok-worker").get(worker2.removeprefix("http://")) == "up",
        WAIT_SECONDS,
        "Prometheus to scrape worker2",
    )
    processes = _overview(cluster)["sections"]["processes"]["data"]
    assert {"celery-worker1", "celery-worker2"} <= {p["name"] for p in processes}

    back = monitor(cluster, "scale", "celery-worker", "1", "--local")
    assert back.returncode == 0, back.stdout + back.stderr
    assert _process_names(cluster, "celery-worker") == ["celery-worker1"]
    assert "worker-metrics-2" not in cluster.refreshed().ports
