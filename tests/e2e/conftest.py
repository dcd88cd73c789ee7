"""Shared e2e fixtures: the Telegram emulator, real bot instances (gunicorn processes), HAProxy.

``bot_stack`` gives one running stack per test (default: one instance, webhook straight to it)::

    async def test_something(bot_stack: BotStack) -> None:
        user = await bot_stack.client.create_user("Анна")
        await bot_stack.client.send_text(user["id"], "/start")
        await bot_stack.client.wait_for(user["id"], 1)

Choose the shape with indirect parametrisation (no custom marker needed)::

    @pytest.mark.parametrize(
        "bot_stack", [StackOptions(instances=3, haproxy=True)], indirect=True
    )

or build stacks inside a test with ``make_bot_stack(StackOptions(...))``.

What a ``BotStack`` offers:

* ``emulator`` (``EmulatorServer``, in this test's event loop) and ``client`` (``EmulatorClient``);
* ``token``, ``secret``, ``webhook_path``;
* ``mongo_url`` / ``db_name``: a fresh database, migrated and seeded with the Nizhny Novgorod
  catalog and 7 days of sessions (dropped after the test); ``mongo()`` opens a PyMongo
  ``AsyncMongoClient`` database handle for assertions (closed with the stack);
* ``instances``: ``BotInstance`` objects (``devcluster/bot.py``: ``base_url``, ``kill()``,
  ``stop()``, ``start()``, ``restart()``, ``log_tail()``); use ``await stack.stop_instance(i)``,
  ``start_instance(i)``, ``kill_instance(i)`` from async tests (they run off the event loop,
  which the emulator needs to answer the bot);
* ``edge`` (``Edge``) when ``haproxy=True``: HTTPS webhook URL, stats page, runtime socket;
* ``await stack.route_to(i)`` points the webhook straight at instance ``i`` (plain HTTP), and
  ``await stack.route_to(None)`` at HAProxy (or at instance 0 without HAProxy): this is how a test
  sends consecutive updates to different processes;
* ``await stack.metrics(i)`` parses instance ``i``'s ``/metrics`` into ``{(name, labels): value}``.

The Redis Cluster, SecantusDB and the broker are the session servers of ``tests/conftest.py``;
the cluster is flushed for every stack. Everything a stack starts is stopped when the test ends.
"""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from bot.bootstrap import build_services, build_storage
from bot.infra.mongo.migrations import migrate
from bot.services.catalog_io import import_catalog
from devcluster.bot import BotInstance
from devcluster.edge import reload_edge, start_haproxy_edge
from devcluster.ports import LOOPBACK
from devcluster.process import ManagedProcess
from devcluster.redis import RedisClusterServer, StandaloneRedisServer
from telegram_emulator.client import EmulatorClient
from telegram_emulator.config import EmulatorConfig
from telegram_emulator.server import EmulatorServer
from tests.security.secret_grep import leaked_secrets

REPO_ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = REPO_ROOT / "haproxy" / "haproxy.cfg"
MAKE_CERT = REPO_ROOT / "scripts" / "make-selfsigned-cert.sh"
CATALOG_FILE = REPO_ROOT / "data" / "catalog" / "nizhny-novgorod.json"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SESSION_DAYS = 7

MetricKey = tuple[str, tuple[tuple[str, str], ...]]
# The bots may serve a catalog this much older than a write made behind their back (the tests'
# own seeding); a test that changes the catalog waits this long before looking.
CATALOG_STALENESS_S = 1.0


@dataclass(frozen=True)
class StackOptions:
    instances: int = 1
    workers: int = 1
    haproxy: bool = False
    # Short, so a test that kills an instance sees its processing marks expire quickly
    # (mark TTL = max(drain, 5 s) + 5 s; see bot/web/pipeline.py).
    drain_seconds: float = 5.0
    max_inflight_updates: int = 48
    webhook_max_connections: int = 40
    super_admin_ids: tuple[int, ...] = ()
    # Emulator retry backoff: Telegram's is slower; short keeps failover tests quick.
    backoff_initial: float = 0.2
    backoff_max: float = 2.0
    extra_env: tuple[tuple[str, str], ...] = ()
    seed_catalog: bool = True
    # The emulator's per-bot rate for bulk sends (Telegram's 30/s); replies are not held to it.
    emulator_global_rate: float = 30.0
    # Private servers for a test that breaks them (tests/chaos): a SecantusDB URL and Redis
    # Cluster startup nodes of the test's own, instead of the session's shared ones.
    mongo_url: str | None = None
    redis_nodes: tuple[tuple[str, int], ...] | None = None
    # HAProxy in master-worker mode from a copy of haproxy.cfg that the test may edit, so that
    # ``Edge.reload()`` applies the edited copy the way an operator's reload does.
    reloadable_edge: bool = False


@dataclass
class Edge:
    """A running HAProxy (haproxy/haproxy.cfg) in front of the stack's three instances."""

    process: ManagedProcess
    https_port: int
    stats_port: int
    metrics_port: int
    runtime_socket: Path
    ca_file: Path
    stats_user: str
    stats_password: str
    config_path: Path = HAPROXY_CFG
    server_state_file: Path | None = None

    def reload(self) -> None:
        """What an operator's reload does: save the servers' states, SIGUSR2 to the master,
        which re-reads the configuration and starts a new worker; the old one finishes what it
        holds. Returns once the new worker answers."""
        reload_edge(self.process, self.runtime_socket, self.server_state_file)

    @property
    def webhook_url(self) -> str:
        return f"https://localhost:{self.https_port}{WEBHOOK_PATH}"

    @property
    def stats_url(self) -> str:
        return f"http://{LOOPBACK}:{self.stats_port}/"

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def runtime_command(self, command: str) -> str:
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(str(self.runtime_socket))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_states(self) -> dict[str, str]:
        """bot1..bot3 → UP / DOWN / MAINT... as HAProxy sees them now."""
        states: dict[str, str] = {}
        header: list[str] = []
        for line in self.runtime_command("show stat").splitlines():
            if line.startswith("# "):
                header = line[2:].split(",")
            elif line:
                row = dict(zip(header, line.split(","), strict=False))
                if row.get("pxname") == "bots" and row.get("svname", "").startswith("bot"):
                    states[row["svname"]] = row["status"]
        return states

    async def wait_for_states(self, expected: dict[str, str], within_s: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + within_s
        states: dict[str, str] = {}
        while asyncio.get_running_loop().time() < deadline:
            states = await asyncio.to_thread(self.server_states)
            if all(states.get(name, "").startswith(want) for name, want in expected.items()):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"HAProxy servers did not reach {expected}; last seen {states}")


@dataclass
class BotStack:
    options: StackOptions
    emulator: EmulatorServer
    client: EmulatorClient
    token: str
    secret: str
    mongo_url: str
    db_name: str
    instances: list[BotInstance]
    edge: Edge | None = None
    webhook_path: str = WEBHOOK_PATH
    _mongo_clients: list[AsyncMongoClient[dict[str, Any]]] = field(default_factory=list)

    @property
    def bot_api_url(self) -> str:
        return f"{self.emulator.base_url}/bot{self.token}"

    def instance_webhook_url(self, index: int) -> str:
        return f"{self.instances[index].base_url}{self.webhook_path}"

    async def set_webhook(self, url: str, *, max_connections: int | None = None) -> None:
        """What ``setWebhook`` does at deploy time (never at bot start)."""
        async with httpx.AsyncClient(timeout=10.0) as http:
            response = await http.post(
                f"{self.bot_api_url}/setWebhook",
                json={
                    "url": url,
                    "secret_token": self.secret,
                    "max_connections": max_connections or self.options.webhook_max_connections,
                },
            )
        body = response.json()
        if not body.get("ok"):
            raise RuntimeError(f"setWebhook failed: {body}")

    async def route_to(self, index: int | None) -> None:
        """Deliver from now on straight to instance ``index``; None = the normal front door."""
        if index is not None:
            await self.set_webhook(self.instance_webhook_url(index))
        elif self.edge is not None:
            await self.set_webhook(self.edge.webhook_url)
        else:
            await self.set_webhook(self.instance_webhook_url(0))

    def mongo(self) -> Any:
        """An async database handle (PyMongo AsyncMongoClient) for assertions."""
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            self.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True
        )
        self._mongo_clients.append(client)
        return client[self.db_name]

    async def kill_instance(self, index: int) -> None:
        await asyncio.to_thread(self.instances[index].kill)

    async def stop_instance(self, index: int) -> None:
        await asyncio.to_thread(self.instances[index].stop)

    async def start_instance(self, index: int) -> None:
        await asyncio.to_thread(self.instances[index].start)

    async def restart_instance(self, index: int) -> None:
        await asyncio.to_thread(self.instances[index].restart)

    async def metrics(self, index: int) -> dict[MetricKey, float]:
        async with httpx.AsyncClient(timeout=10.0) as http:
            response = await http.get(f"{self.instances[index].base_url}/metrics")
        response.raise_for_status()
        return parse_metrics(response.text)

    async def close_clients(self) -> None:
        for client in self._mongo_clients:
            await client.close()
        self._mongo_clients.clear()


def parse_metrics(text: str) -> dict[MetricKey, float]:
    samples: dict[MetricKey, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric_sum(samples: dict[MetricKey, float], name: str, **labels: str) -> float:
    """Sum of every sample of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(
        value
        for (sample_name, sample_labels), value in samples.items()
        if sample_name == name and wanted <= set(sample_labels)
    )


def new_bot_token() -> str:
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:{secrets.token_urlsafe(30)}"


@pytest.fixture(scope="session")
def e2e_cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("e2e-tls")
    subprocess.run([str(MAKE_CERT), str(out), "localhost"], check=True, capture_output=True)
    return out


async def seed_database(mongo_url: str, db_name: str) -> None:
    """Migrate and import the seed catalog with a week of sessions (the admin CLI's steps)."""
    storage = build_storage(mongo_url, db_name, app_name="e2e-seed")
    try:
        await migrate(storage.db)
        document = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
        await import_catalog(document, storage.catalog, storage.sessions)
        services = build_services(storage)
        await services.schedule.generate(datetime.now(UTC).date(), SESSION_DAYS)
    finally:
        await storage.close()


def _start_edge(
    run_dir: Path,
    cert_dir: Path,
    instances: list[BotInstance],
    secret: str,
    max_body: int,
    *,
    reloadable: bool = False,
) -> Edge:
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is not installed (apt-get install haproxy)")
    started = start_haproxy_edge(
        run_dir,
        backends=[instance.address for instance in instances],
        tls_pem=cert_dir / "haproxy.pem",
        webhook_path=WEBHOOK_PATH,
        secret=secret,
        max_body_bytes=max_body,
        reloadable=reloadable,
    )
    process, https_port, stats_port = started.process, started.https_port, started.stats_port
    metrics_port, socket_path = started.metrics_port, started.runtime_socket
    stats_password, config = started.stats_password, started.config_path
    return Edge(
        process=process,
        https_port=https_port,
        stats_port=stats_port,
        metrics_port=metrics_port,
        runtime_socket=socket_path,
        ca_file=cert_dir / "ca.pem",
        stats_user="admin",
        stats_password=stats_password,
        config_path=config,
        server_state_file=started.server_state_file,
    )


MAX_BODY_BYTES = 64 * 1024


async def mongo_user(mongo_url: str, user: str, password: str) -> str:
    """Create a MongoDB user; the URL that logs in as it."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        await client.admin.command("createUser", user, pwd=password, roles=["root"])
    finally:
        await client.close()
    scheme, rest = mongo_url.split("://", 1)
    separator = "&" if "?" in rest else "/?"
    return f"{scheme}://{user}:{password}@{rest}{separator}authSource=admin"


StackFactory = Callable[[StackOptions], Awaitable[BotStack]]


@pytest.fixture
async def make_bot_stack(
    tmp_path: Path,
    mongo_url: str,
    mongo_db_name: str,
    clean_redis_cluster: RedisClusterServer,
    broker_redis: StandaloneRedisServer,
    e2e_cert_dir: Path,
) -> AsyncIterator[StackFactory]:
    """Build stacks inside a test (one per call); all are torn down after it."""
    session_mongo_url = mongo_url
    cleanups: list[Callable[[], Awaitable[None]]] = []
    built = 0
    # Every secret a stack's processes know, and the run directory of their log files: after
    # the test, no log may hold any of them (bot/infra/logs.py scrubs every logger).
    known_secrets: list[tuple[Path, dict[str, str]]] = []

    async def build(options: StackOptions) -> BotStack:
        nonlocal built
        if options.haproxy and options.instances != 3:
            raise ValueError("haproxy/haproxy.cfg names exactly three instances")
        built += 1
        run_dir = tmp_path / f"stack-{built}"
        run_dir.mkdir()
        db_name = mongo_db_name if built == 1 else f"{mongo_db_name}_{built}"
        mongo_url = options.mongo_url or session_mongo_url
        if built > 1 or options.mongo_url:  # mongo_db_name drops the first one of the session's

            async def drop_database() -> None:
                client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
                await client.drop_database(db_name)
                await client.close()

            cleanups.append(drop_database)
        if options.seed_catalog:
            await seed_database(mongo_url, db_name)
        token = new_bot_token()
        secret = secrets.token_urlsafe(24)
        # The bots log in to MongoDB with a password of their own (SecantusDB keeps users).
        mongo_password = secrets.token_urlsafe(18)
        bot_mongo_url = await mongo_user(
            mongo_url, f"fok_e2e_{secrets.token_hex(4)}", mongo_password
        )
        stack_secrets = {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_WEBHOOK_SECRET": secret,
            "MONGO_PASSWORD": mongo_password,
            "MONGO_URL": bot_mongo_url,
        }
        known_secrets.append((run_dir, stack_secrets))
        emulator = EmulatorServer(
            EmulatorConfig(
                tokens=(token,),
                global_rate=options.emulator_global_rate,
                webhook_ca_file=str(e2e_cert_dir / "ca.pem"),
                allow_http_webhooks=True,
                webhook_backoff_initial=options.backoff_initial,
                webhook_backoff_max=options.backoff_max,
            )
        )
        await emulator.__aenter__()
        cleanups.append(lambda: emulator.__aexit__(None, None, None))
        client = EmulatorClient(emulator.base_url, token)
        cleanups.append(client.aclose)
        env = {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": emulator.base_url,
            "TELEGRAM_WEBHOOK_SECRET": secret,
            "TELEGRAM_WEBHOOK_PATH": WEBHOOK_PATH,
            "MONGO_URL": bot_mongo_url,
            "MONGO_DATABASE": db_name,
            "REDIS_CLUSTER_NODES": ",".join(
                f"{host}:{port}"
                for host, port in options.redis_nodes or clean_redis_cluster.startup_nodes
            ),
            "CELERY_BROKER_URL": broker_redis.url,
            "LIMITS_MAX_INFLIGHT_UPDATES": str(options.max_inflight_updates),
            "WEB_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "APP_SUPER_ADMIN_IDS": ",".join(map(str, options.super_admin_ids)),
            "APP_LOG_JSON": "true",
            "APP_CATALOG_CACHE_SECONDS": str(CATALOG_STALENESS_S),
            **dict(options.extra_env),
        }
        instances = [
            BotInstance(
                run_dir,
                instance_id=f"bot{index + 1}",
                env=env,
                workers=options.workers,
                drain_seconds=options.drain_seconds,
            )
            for index in range(options.instances)
        ]

        async def stop_instances() -> None:
            await asyncio.gather(*(asyncio.to_thread(i.stop) for i in instances))

        cleanups.append(stop_instances)
        # Start together; each waits for /ready off the loop (the emulator answers getMe here).
        await asyncio.gather(*(asyncio.to_thread(i.start) for i in instances))
        stack = BotStack(
            options=options,
            emulator=emulator,
            client=client,
            token=token,
            secret=secret,
            mongo_url=mongo_url,
            db_name=db_name,
            instances=instances,
        )
        cleanups.append(stack.close_clients)
        if options.haproxy:
            edge = await asyncio.to_thread(
                functools.partial(
                    _start_edge,
                    run_dir,
                    e2e_cert_dir,
                    instances,
                    secret,
                    MAX_BODY_BYTES,
                    reloadable=options.reloadable_edge,
                )
            )
            cleanups.append(lambda: asyncio.to_thread(edge.process.stop))
            stack_secrets["STATS_PASSWORD"] = edge.stats_password
            stack.edge = edge
            await edge.wait_for_states({"bot1": "UP", "bot2": "UP", "bot3": "UP"})
        await stack.route_to(None)
        return stack

    yield build
    failures: list[BaseException] = []
    for cleanup in reversed(cleanups):
        try:
            await cleanup()
        except Exception as error:  # keep stopping the rest; report afterwards
            failures.append(error)
    if failures:
        raise failures[0]
    leaks = [leak for run_dir, known in known_secrets for leak in leaked_secrets(run_dir, known)]
    assert not leaks, f"secrets in the log files of the run: {leaks}"


@pytest.fixture
async def bot_stack(request: pytest.FixtureRequest, make_bot_stack: StackFactory) -> BotStack:
    """One stack; ``StackOptions`` via indirect parametrisation, else one plain instance."""
    options = getattr(request, "param", None) or StackOptions()
    if not isinstance(options, StackOptions):
        raise TypeError("parametrize bot_stack with a StackOptions")
    return await make_bot_stack(options)
