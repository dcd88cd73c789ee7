"""Root fixtures: real SecantusDB and Redis servers on free ports, started only when a test asks.

Session-scoped servers are shared by every test in a run; per-test isolation comes from
`mongo_db_name` (a fresh database, dropped afterwards) and `clean_redis_cluster` (all masters
flushed first). A test that breaks a server (failover, crash) must use the `make_*` factories,
which give it a private instance.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from pymongo import MongoClient

from devcluster.redis import RedisClusterServer, StandaloneRedisServer
from devcluster.secantus import SecantusServer

# PTB 22 warns on every read of a time span given in seconds unless it may answer timedelta,
# as its next major version will: the tests (and the product, which reads none) take that now.
os.environ.setdefault("PTB_TIMEDELTA", "1")
# The emulator speaks plain HTTP: the tests run in local mode (bot/settings.py RuntimeEnv), which
# every process they start inherits. A test of production mode sets APP_ENV itself.
os.environ.setdefault("APP_ENV", "local")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fail-on-skip",
        action="store_true",
        help="fail the run when any test was skipped (make test: a skip is not a pass)",
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not session.config.getoption("--fail-on-skip") or exitstatus != pytest.ExitCode.OK:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reporter.write_line(f"--fail-on-skip: {len(skipped)} test(s) skipped", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def devcluster_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's servers keep their configs, data and logs (shown on failures)."""
    return tmp_path_factory.mktemp("devcluster")


@pytest.fixture(scope="session")
def secantus(devcluster_run_dir: Path) -> Iterator[SecantusServer]:
    server = SecantusServer(devcluster_run_dir / "secantus").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_url(secantus: SecantusServer) -> str:
    return secantus.url


@pytest.fixture
def mongo_db_name(mongo_url: str) -> Iterator[str]:
    """A database name no other test uses; the database is dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    yield name
    client: MongoClient[dict[str, object]]
    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(name)


@pytest.fixture(scope="session")
def redis_cluster(devcluster_run_dir: Path) -> Iterator[RedisClusterServer]:
    cluster = RedisClusterServer(devcluster_run_dir / "redis-cluster").start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_cluster_nodes(redis_cluster: RedisClusterServer) -> list[tuple[str, int]]:
    """(host, port) of every node, for `RedisCluster(startup_nodes=...)`."""
    return redis_cluster.startup_nodes


@pytest.fixture
def clean_redis_cluster(redis_cluster: RedisClusterServer) -> RedisClusterServer:
    """The shared cluster with every master flushed before the test."""
    redis_cluster.flush_all_masters()
    return redis_cluster


@pytest.fixture(scope="session")
def broker_redis_server(devcluster_run_dir: Path) -> Iterator[StandaloneRedisServer]:
    server = StandaloneRedisServer(devcluster_run_dir / "broker").start()
    yield server
    server.stop()


@pytest.fixture
def broker_redis(broker_redis_server: StandaloneRedisServer) -> StandaloneRedisServer:
    """The standalone Redis that Celery uses as its broker (`.url` for Celery), emptied before
    the test: a message another test left on a queue (a bare string, a task for a database
    that is gone) would otherwise reach this test's workers, and a worker exits on a message
    that is not JSON."""
    with redis.Redis.from_url(broker_redis_server.url) as connection:
        connection.flushdb()
    return broker_redis_server


@pytest.fixture
def make_redis_cluster(tmp_path: Path) -> Iterator[Callable[[], RedisClusterServer]]:
    """Start private clusters (for tests that kill nodes); all are stopped after the test."""
    started: list[RedisClusterServer] = []

    def start_cluster() -> RedisClusterServer:
        cluster = RedisClusterServer(tmp_path / f"redis-cluster-{len(started)}")
        started.append(cluster)
        return cluster.start()

    yield start_cluster
    for cluster in started:
        cluster.stop()


@pytest.fixture
def make_secantus(tmp_path: Path) -> Iterator[Callable[..., SecantusServer]]:
    """Start private SecantusDB servers (e.g. with a persistent storage path); stopped after."""
    started: list[SecantusServer] = []

    def start_server(
        storage_path: Path | str = ":memory:", *, sync_on_commit: bool = False
    ) -> SecantusServer:
        server = SecantusServer(
            tmp_path / f"secantus-{len(started)}",
            storage_path=storage_path,
            sync_on_commit=sync_on_commit,
        )
        started.append(server)
        return server.start()

    yield start_server
    for server in started:
        server.stop()


# The longest modules first: `make test` hands whole modules to three xdist workers in this order
# (`--dist loadfile --no-loadscope-reorder`), and a long module handed out last would run alone at
# the end while the others idle.
_LONG_FIRST = (
    "tests/e2e/workers/",
    "tests/e2e/chaos/",
    "tests/bench/",
    "tests/security/",
    "tests/ops/",
    "tests/browser/",
    "tests/monitoring/",
    "tests/e2e/",
    "tests/devcluster/",
    "tests/integration/",
)


def _run_order(item: pytest.Item) -> int:
    path = item.nodeid
    return next(
        (rank for rank, prefix in enumerate(_LONG_FIRST) if path.startswith(prefix)),
        len(_LONG_FIRST),
    )


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    items.sort(key=_run_order)  # stable: the order within each group stays as collected
