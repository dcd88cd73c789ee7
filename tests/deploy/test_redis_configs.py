"""redis-cluster/: the shipped configs and scripts, run with real redis-server processes.

The containers' start is reproduced on loopback: render-config.sh writes the node's config from
the shipped base, redis-server loads it, init-cluster.sh forms the cluster. Only the addresses
differ (one port per node instead of one address per container).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from devcluster.ports import free_ports
from tests.deploy import compose_rules

ROOT = Path(__file__).resolve().parents[2]
REDIS_DIR = ROOT / "redis-cluster"
PASSWORD = "throwaway-redis-password-0123"
READY_SECONDS = 20.0


def render(base: str, output: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(REDIS_DIR / "render-config.sh"), str(REDIS_DIR / base), str(output)],
        env={"PATH": os.environ["PATH"], "REDIS_PASSWORD": PASSWORD, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def wait_until(check: Callable[[], bool], what: str, timeout: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Node:
    def __init__(self, base: str, directory: Path, port: int, **env: str) -> None:
        directory.mkdir(parents=True)
        self.port = port
        rendered = render(
            base,
            directory / "redis.conf",
            REDIS_PORT=str(port),
            REDIS_BIND="127.0.0.1",
            REDIS_DIR=str(directory),
            **env,
        )
        assert rendered.returncode == 0, rendered.stderr
        server = shutil.which("redis-server")
        assert server, "redis-server is missing: run scripts/install.sh"
        self.log = (directory / "log").open("w")
        self.process = subprocess.Popen(
            [server, str(directory / "redis.conf")], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.client = redis.Redis(port=port, password=PASSWORD, socket_timeout=2)
        wait_until(self._answers, f"redis-server on {port}")

    def _answers(self) -> bool:
        assert self.process.poll() is None, "redis-server exited"
        try:
            return bool(self.client.ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[..., Node]]:
    started: list[Node] = []

    def start(base: str, **env: str) -> Node:
        port = free_ports(1)[0]
        node = Node(base, tmp_path / f"node-{port}", port, **env)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


def init_cluster(addresses: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(REDIS_DIR / "init-cluster.sh")],
        env={
            "PATH": os.environ["PATH"],
            "REDIS_PASSWORD": PASSWORD,
            "REDIS_CLUSTER_ADDRS": " ".join(addresses),
            "REDIS_INIT_TIMEOUT_SECONDS": "60",
        },
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_the_broker_keeps_every_task(nodes: Callable[..., Node]) -> None:
    broker = nodes("broker.conf", REDIS_MAXMEMORY="64mb")
    assert broker.client.config_get("appendonly") == {"appendonly": "yes"}
    assert broker.client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    assert broker.client.config_get("maxmemory") == {"maxmemory": str(64 * 1024 * 1024)}
    anonymous = redis.Redis(port=broker.port, socket_timeout=2)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    anonymous.close()


def test_render_refuses_what_would_break_the_config(tmp_path: Path) -> None:
    for env in ({"REDIS_PASSWORD": "two words-0123456789"}, {"REDIS_PASSWORD": "short"}):
        result = render("redis.conf", tmp_path / "out.conf", **env)
        assert result.returncode == 1
        assert "REDIS_PASSWORD must be" in result.stderr
    result = render("redis.conf", tmp_path / "out.conf", REDIS_MAXMEMORY="lots")
    assert result.returncode == 1
    assert not (tmp_path / "out.conf").exists()


def test_the_cluster_forms_once_and_a_second_run_changes_nothing(
    nodes: Callable[..., Node],
) -> None:
    cluster = [
        nodes(
            "redis.conf",
            REDIS_ANNOUNCE_IP="127.0.0.1",
            REDIS_ANNOUNCE_HOSTNAME=f"redis-{index}",
            REDIS_MAXMEMORY="64mb",
        )
        for index in range(1, 7)
    ]
    addresses = [f"127.0.0.1:{node.port}" for node in cluster]
    first = init_cluster(addresses)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "creating the cluster" in first.stdout
    ids = {node.client.execute_command("CLUSTER MYID") for node in cluster}

    second = init_cluster(addresses)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already form a cluster" in second.stdout
    assert {node.client.execute_command("CLUSTER MYID") for node in cluster} == ids

    info = cluster[0].client.execute_command("CLUSTER INFO")
    assert info["cluster_state"] == "ok"
    assert int(info["cluster_size"]) == 3
    # Clients are handed the announced host names, not container addresses.
    slots = subprocess.run(
        ["redis-cli", "-p", str(cluster[0].port), "--raw", "cluster", "slots"],
        env={"PATH": os.environ["PATH"], "REDISCLI_AUTH": PASSWORD},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # The first three addresses are the masters (replicas attach asynchronously).
    assert {"redis-1", "redis-2", "redis-3"} <= set(slots)
    assert "127.0.0.1" in slots  # the announced address rides along as metadata
    for node in cluster:
        assert node.client.config_get("appendonly") == {"appendonly": "yes"}
        assert node.client.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-lru"}

    # A node that lost its data next to a formed cluster is left for the operator.
    stranger = nodes("redis.conf", REDIS_ANNOUNCE_IP="127.0.0.1", REDIS_MAXMEMORY="64mb")
    mixed = init_cluster([*addresses, f"127.0.0.1:{stranger.port}"])
    assert mixed.returncode == 1
    assert "1 of 7 nodes are empty" in mixed.stderr


def test_the_compose_file_gives_the_init_job_the_six_node_addresses() -> None:
    doc = compose_rules.load()
    value = compose_rules.environment_of(doc, "redis-cluster-init")["REDIS_CLUSTER_ADDRS"]
    addresses = value.split()
    expected = [f"${{FOK_INTERNAL_NET:-172.30.240}}.{n}:6379" for n in range(11, 17)]
    assert addresses == expected
    for index, address in enumerate(expected, start=1):
        node = compose_rules.services(doc)[f"redis-{index}"]
        assert node["networks"]["internal"]["ipv4_address"] == address.removesuffix(":6379")
        assert node["environment"]["REDIS_ANNOUNCE_IP"] == address.removesuffix(":6379")
        assert node["environment"]["REDIS_ANNOUNCE_HOSTNAME"] == f"redis-{index}"
