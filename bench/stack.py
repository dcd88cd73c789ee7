"""What a bench run starts: the shared servers, the receivers under test and HAProxy in front.

The pieces are devcluster's: SecantusDB, the Redis Cluster, the broker, ``BotInstance``, local
TLS, and HAProxy running ``haproxy/haproxy.cfg`` through ``devcluster.edge`` (which the e2e stack
of ``tests/e2e/conftest.py`` starts its edge with too). The config names three bot servers: a
target with fewer backends points the spare ones at a closed port, and the run waits until
HAProxy has marked them DOWN, so consistent hashing spreads the chats over the live ones only.
"""

from __future__ import annotations

import json
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from bot.bootstrap import build_services, build_storage
from bot.infra.mongo.migrations import migrate
from bot.services.catalog_io import import_catalog
from devcluster.bot import BotInstance
from devcluster.edge import start_haproxy_edge
from devcluster.paths import REPO_ROOT
from devcluster.ports import LOOPBACK, free_port, free_ports
from devcluster.process import ManagedProcess
from devcluster.redis import RedisClusterServer, StandaloneRedisServer
from devcluster.secantus import SecantusServer
from devcluster.tls import LocalTls, ensure_local_tls

CATALOG_FILE = REPO_ROOT / "data" / "catalog" / "nizhny-novgorod.json"
WEBHOOK_PATH = "/telegram/webhook"
SESSION_DAYS = 7
MAX_BODY_BYTES = 64 * 1024


def new_token() -> str:
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(30)}"


@dataclass
class Shared:
    """Servers every target of a run uses: database, Redis Cluster, broker, the sink, TLS."""

    run_dir: Path
    secantus: SecantusServer
    redis_cluster: RedisClusterServer
    broker: StandaloneRedisServer
    sink: ManagedProcess
    sink_port: int
    feed_port: int
    tls: LocalTls
    token: str = field(default_factory=new_token)
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def sink_url(self) -> str:
        return f"http://{LOOPBACK}:{self.sink_port}"

    @classmethod
    def start(cls, run_dir: Path) -> Shared:
        run_dir.mkdir(parents=True, exist_ok=True)
        tls = ensure_local_tls(run_dir / "tls", "localhost")
        secantus = SecantusServer(run_dir / "secantus").start()
        cluster = RedisClusterServer(run_dir / "redis-cluster").start()
        broker = StandaloneRedisServer(run_dir / "broker").start()
        sink_port, feed_port = free_ports(2)
        sink = ManagedProcess(
            "sink",
            [
                sys.executable,
                "-m",
                "bench.sink",
                "--api-port",
                str(sink_port),
                "--feed-port",
                str(feed_port),
            ],
            log_dir=run_dir,
            cwd=REPO_ROOT,
        ).start()
        sink.wait_ready(port=feed_port, timeout=20)
        return cls(run_dir, secantus, cluster, broker, sink, sink_port, feed_port, tls)

    def stop(self) -> None:
        for stop in (self.sink.stop, self.broker.stop, self.redis_cluster.stop, self.secantus.stop):
            try:
                stop()
            except Exception as error:  # keep stopping the rest
                print(f"bench: stopping failed: {error}", file=sys.stderr)

    def pids(self) -> dict[str, list[int]]:
        return {
            "redis": [p.pid for p in self.redis_cluster.processes() if p.pid is not None],
            "database": [self.secantus.process.pid] if self.secantus.process.pid else [],
            "sink": [self.sink.pid] if self.sink.pid else [],
        }


def dead_address() -> str:
    """A loopback port nobody listens on (HAProxy's health check marks it DOWN)."""
    return f"{LOOPBACK}:{free_port()}"


@dataclass
class Edge:
    process: ManagedProcess
    https_port: int
    runtime_socket: Path

    def server_states(self) -> dict[str, str]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.runtime_socket))
            sock.sendall(b"show stat\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        states: dict[str, str] = {}
        header: list[str] = []
        for line in b"".join(chunks).decode().splitlines():
            if line.startswith("# "):
                header = line[2:].split(",")
            elif line:
                row = dict(zip(header, line.split(","), strict=False))
                if row.get("pxname") == "bots" and row.get("svname", "").startswith("bot"):
                    states[row["svname"]] = row["status"]
        return states

    def wait_for(self, live: int, within_s: float = 30.0) -> None:
        expected = {f"bot{i + 1}": ("UP" if i < live else "DOWN") for i in range(3)}
        deadline = time.monotonic() + within_s
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.server_states()
            if all(states.get(name, "").startswith(want) for name, want in expected.items()):
                return
            time.sleep(0.1)
        raise RuntimeError(f"HAProxy servers did not reach {expected}; last seen {states}")


def start_edge(run_dir: Path, shared: Shared, backends: list[str], name: str) -> Edge:
    addresses = backends + [dead_address() for _ in range(3 - len(backends))]
    started = start_haproxy_edge(
        run_dir,
        backends=addresses,
        tls_pem=shared.tls.haproxy_pem,
        webhook_path=WEBHOOK_PATH,
        secret=shared.secret,
        max_body_bytes=MAX_BODY_BYTES,
        name=f"haproxy-{name}",
        # One log line per request would make HAProxy's CPU partly our logging's.
        log_level="warning",
    )
    edge = Edge(started.process, started.https_port, started.runtime_socket)
    edge.wait_for(len(backends))
    return edge


async def seed_database(mongo_url: str, db_name: str) -> None:
    """Migrate, import the Nizhny Novgorod catalog, generate a week of sessions (the CLI's steps)."""
    storage = build_storage(mongo_url, db_name, app_name="bench-seed")
    try:
        await migrate(storage.db)
        document = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
        await import_catalog(document, storage.catalog, storage.sessions)
        await build_services(storage).schedule.generate(datetime.now(UTC).date(), SESSION_DAYS)
    finally:
        await storage.close()


async def drop_database(mongo_url: str, db_name: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        await client.drop_database(db_name)
    finally:
        await client.close()


def cluster_env(
    shared: Shared, db_name: str, *, token: str, api_base_url: str, extra: dict[str, str]
) -> dict[str, str]:
    """The settings every process of ours reads to reach the bench's shared servers."""
    return {
        "APP_ENV": "local",
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": api_base_url,
        "TELEGRAM_WEBHOOK_SECRET": shared.secret,
        "MONGO_URL": shared.secantus.url,
        "MONGO_DATABASE": db_name,
        "REDIS_CLUSTER_NODES": ",".join(
            f"{host}:{port}" for host, port in shared.redis_cluster.startup_nodes
        ),
        "CELERY_BROKER_URL": shared.broker.url,
        **extra,
    }


def bulk_worker_env(
    shared: Shared,
    db_name: str,
    *,
    token: str,
    api_base_url: str,
    budget_per_s: float,
    extra: dict[str, str],
) -> dict[str, str]:
    """A bulk-send run's workers (the broadcast, the reminder batch): plain logs, and the bulk
    budget the run's emulator enforces."""
    return cluster_env(
        shared,
        db_name,
        token=token,
        api_base_url=api_base_url,
        extra={
            "APP_LOG_JSON": "false",
            "LIMITS_GLOBAL_SENDS_PER_SECOND": str(int(budget_per_s)),
            **extra,
        },
    )


def bot_env(shared: Shared, db_name: str, extra: dict[str, str]) -> dict[str, str]:
    return cluster_env(
        shared,
        db_name,
        token=shared.token,
        api_base_url=shared.sink_url,
        extra={
            "PTB_TIMEDELTA": "1",
            "TELEGRAM_WEBHOOK_PATH": WEBHOOK_PATH,
            "WEB_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "APP_LOG_JSON": "true",
            # The most the settings allow (Telegram's 30/s); see docs/benchmarks.md.
            "LIMITS_GLOBAL_SENDS_PER_SECOND": "30",
            **extra,
        },
    )


def start_bots(run_dir: Path, env: dict[str, str], count: int, workers: int) -> list[BotInstance]:
    instances = [
        BotInstance(run_dir, instance_id=f"bot{i + 1}", env=env, workers=workers, drain_seconds=2)
        for i in range(count)
    ]
    for instance in instances:
        instance.start(wait=False)
    for instance in instances:
        instance.wait_ready()
    return instances


def python_process(run_dir: Path, name: str, module: str, *args: str) -> ManagedProcess:
    return ManagedProcess(
        name,
        [sys.executable, "-m", module, *args],
        log_dir=run_dir,
        cwd=REPO_ROOT,
        env={"PTB_TIMEDELTA": "1"},
        stop_grace_seconds=5,
    ).start()
