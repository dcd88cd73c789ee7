"""Real redis-server processes: the six-node Redis Cluster and the standalone Celery broker."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from devcluster.executables import find_executable
from devcluster.ports import LOOPBACK, free_ports
from devcluster.process import ManagedProcess, ProcessStartError

CLUSTER_SLOTS = 16384
_READY_TIMEOUT_SECONDS = 20.0
_CLUSTER_FORM_TIMEOUT_SECONDS = 60.0
# Short so failover tests finish quickly; far above loopback latency, so no spurious failovers.
DEFAULT_NODE_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class ClusterNodeView:
    """One line of CLUSTER NODES, as seen by some node."""

    node_id: str
    host: str
    port: int
    flags: frozenset[str]
    master_id: str | None
    link_connected: bool
    slot_count: int

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def is_failed(self) -> bool:
        return "fail" in self.flags or "fail?" in self.flags


def parse_cluster_nodes(text: str) -> list[ClusterNodeView]:
    nodes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        address = fields[1].split("@", 1)[0]
        host, _, port = address.rpartition(":")
        slot_count = 0
        for slot_range in fields[8:]:
            if slot_range.startswith("["):  # a slot being migrated, not owned yet
                continue
            first, _, last = slot_range.partition("-")
            slot_count += int(last or first) - int(first) + 1
        nodes.append(
            ClusterNodeView(
                node_id=fields[0],
                host=host,
                port=int(port),
                flags=frozenset(fields[2].split(",")),
                master_id=None if fields[3] == "-" else fields[3],
                link_connected=fields[7] == "connected",
                slot_count=slot_count,
            )
        )
    return nodes


def _redis_conf(
    *, port: int, data_dir: Path, cluster_bus_port: int | None, node_timeout_ms: int
) -> str:
    lines = [
        f"bind {LOOPBACK}",
        f"port {port}",
        "protected-mode no",
        "daemonize no",
        f'dir "{data_dir}"',
        'logfile ""',
        # Tests and local runs want speed and no stray files; durability is MongoDB's job (§4.6).
        'save ""',
        "appendonly no",
        # Replicas of an empty node should attach at once, not after the default 5 s batching delay.
        "repl-diskless-sync-delay 0",
    ]
    if cluster_bus_port is not None:
        lines += [
            "cluster-enabled yes",
            "cluster-config-file nodes.conf",
            f"cluster-node-timeout {node_timeout_ms}",
            f"cluster-port {cluster_bus_port}",
        ]
    return "\n".join(lines) + "\n"


class RedisServerProcess:
    """One redis-server with its own config file and data directory."""

    def __init__(
        self,
        name: str,
        run_dir: Path,
        *,
        port: int,
        cluster_bus_port: int | None = None,
        node_timeout_ms: int = DEFAULT_NODE_TIMEOUT_MS,
        die_with_parent: bool = True,
    ) -> None:
        self.name = name
        self.host = LOOPBACK
        self.port = port
        self.cluster_bus_port = cluster_bus_port
        self.data_dir = run_dir / name
        self.conf_path = self.data_dir / "redis.conf"
        self._run_dir = run_dir
        self._node_timeout_ms = node_timeout_ms
        self._die_with_parent = die_with_parent
        self.process = self._new_process()

    def _new_process(self) -> ManagedProcess:
        return ManagedProcess(
            self.name,
            [find_executable("redis-server"), str(self.conf_path)],
            log_dir=self._run_dir,
            cwd=self.data_dir,
            die_with_parent=self._die_with_parent,
            stop_grace_seconds=10.0,
        )

    def client(self) -> redis.Redis:
        return redis.Redis(
            host=self.host, port=self.port, decode_responses=True, socket_timeout=5.0
        )

    def answers_ping(self) -> bool:
        # One quick try: redis-py's default retries would turn a probe of a port someone else
        # holds into a minute of waiting instead of an early, clear failure.
        probe = redis.Redis(
            host=self.host,
            port=self.port,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        )
        with probe:
            return bool(probe.ping())

    def start(self, *, fresh: bool = True) -> None:
        """Start it; `fresh` wipes the data dir (a restart after a crash keeps nodes.conf)."""
        if fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(
            _redis_conf(
                port=self.port,
                data_dir=self.data_dir,
                cluster_bus_port=self.cluster_bus_port,
                node_timeout_ms=self._node_timeout_ms,
            )
        )
        if self.process.pid is not None:  # a ManagedProcess runs once; restarts need a new one
            self.process = self._new_process()
        self.process.start()
        self.process.wait_ready(
            port=self.port, check=self.answers_ping, timeout=_READY_TIMEOUT_SECONDS
        )

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()


class StandaloneRedisServer:
    """A plain redis-server: the Celery broker (kombu cannot use Redis Cluster)."""

    def __init__(
        self,
        run_dir: Path,
        *,
        port: int | None = None,
        name: str = "broker-redis",
        die_with_parent: bool = True,
    ) -> None:
        chosen_port = port if port is not None else free_ports(1)[0]
        self.node = RedisServerProcess(
            name, run_dir, port=chosen_port, die_with_parent=die_with_parent
        )

    @property
    def host(self) -> str:
        return self.node.host

    @property
    def port(self) -> int:
        return self.node.port

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> StandaloneRedisServer:
        self.node.start()
        return self

    def stop(self) -> None:
        self.node.stop()

    def processes(self) -> list[ManagedProcess]:
        return [self.node.process]

    def __enter__(self) -> StandaloneRedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class RedisClusterServer:
    """Six redis-server processes joined into 3 masters + 3 replicas by `redis-cli --cluster`."""

    NODE_COUNT = 6

    def __init__(
        self,
        run_dir: Path,
        *,
        ports: list[int] | None = None,
        bus_ports: list[int] | None = None,
        node_timeout_ms: int = DEFAULT_NODE_TIMEOUT_MS,
        name_prefix: str = "redis-cluster",
        die_with_parent: bool = True,
    ) -> None:
        if ports is None or bus_ports is None:
            allocated = free_ports(2 * self.NODE_COUNT)
            ports = ports or allocated[: self.NODE_COUNT]
            bus_ports = bus_ports or allocated[self.NODE_COUNT :]
        if len(ports) != self.NODE_COUNT or len(bus_ports) != self.NODE_COUNT:
            raise ValueError(f"a cluster needs exactly {self.NODE_COUNT} ports and bus ports")
        self._run_dir = run_dir
        self._name_prefix = name_prefix
        self.nodes = [
            RedisServerProcess(
                f"{name_prefix}-{index}",
                run_dir,
                port=port,
                cluster_bus_port=bus_port,
                node_timeout_ms=node_timeout_ms,
                die_with_parent=die_with_parent,
            )
            for index, (port, bus_port) in enumerate(zip(ports, bus_ports, strict=True))
        ]

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(node.host, node.port) for node in self.nodes]

    @property
    def url(self) -> str:
        """A URL of one node; cluster clients discover the rest from it."""
        first = self.nodes[0]
        return f"redis://{first.host}:{first.port}/0"

    def node_by_port(self, port: int) -> RedisServerProcess:
        for node in self.nodes:
            if node.port == port:
                return node
        raise KeyError(port)

    def running_nodes(self) -> list[RedisServerProcess]:
        return [node for node in self.nodes if node.process.is_running()]

    def start(self) -> RedisClusterServer:
        try:
            for node in self.nodes:
                node.start()
            self._create_cluster()
            self.wait_until_healthy()
            self.wait_until_replicas_attached()
        except BaseException:
            self.stop()
            raise
        return self

    def _create_cluster(self) -> None:
        argv = [
            find_executable("redis-cli"),
            "--cluster",
            "create",
            *(f"{host}:{port}" for host, port in self.startup_nodes),
            "--cluster-replicas",
            "1",
            "--cluster-yes",
        ]
        log_path = self._run_dir / f"{self._name_prefix}-create.log"
        with log_path.open("wb") as log:
            completed = subprocess.run(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=_CLUSTER_FORM_TIMEOUT_SECONDS,
                check=False,
            )
        if completed.returncode != 0:
            raise ProcessStartError(
                f"redis-cli --cluster create failed with code {completed.returncode}:\n"
                f"{log_path.read_text(errors='replace')[-4000:]}"
            )

    def cluster_view(self, node: RedisServerProcess | None = None) -> list[ClusterNodeView]:
        """CLUSTER NODES as seen by `node` (default: the first running node)."""
        observer = node or self.running_nodes()[0]
        with observer.client() as connection:
            raw = connection.execute_command("CLUSTER", "NODES")
        return parse_cluster_nodes(raw if isinstance(raw, str) else raw.decode())

    def masters(self) -> list[ClusterNodeView]:
        return [view for view in self.cluster_view() if view.is_master and not view.is_failed]

    def replicas(self) -> list[ClusterNodeView]:
        return [view for view in self.cluster_view() if not view.is_master and not view.is_failed]

    def _health_problem(self) -> str | None:
        """Why the cluster is not settled yet, or None when every running node agrees it is.

        Settled means: each running node says cluster_state:ok with all slots served, and in each
        node's view every running node is either a slot-owning master or a replica of a live
        master, while every stopped node is flagged failed. Right after `--cluster create` or a
        restart, gossip has not spread the roles yet and some views still show slot-less masters.
        """
        running = self.running_nodes()
        running_ports = {node.port for node in running}
        for observer in running:
            with observer.client() as connection:
                info = connection.execute_command("CLUSTER", "INFO")
            text = info if isinstance(info, str) else info.decode()
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            if fields.get("cluster_state") != "ok":
                return f"{observer.name}: cluster_state={fields.get('cluster_state')}"
            if int(fields.get("cluster_slots_ok", "0")) != CLUSTER_SLOTS:
                return f"{observer.name}: cluster_slots_ok={fields.get('cluster_slots_ok')}"
            view = self.cluster_view(observer)
            live_masters = {
                v.node_id for v in view if v.is_master and not v.is_failed and v.slot_count
            }
            if sum(v.slot_count for v in view if v.node_id in live_masters) != CLUSTER_SLOTS:
                return f"{observer.name}: live masters do not cover all slots"
            for entry in view:
                if entry.port not in running_ports:
                    if not entry.is_failed:
                        return f"{observer.name}: stopped node {entry.port} not marked failed yet"
                elif entry.is_failed:
                    return f"{observer.name}: running node {entry.port} still marked failed"
                elif entry.is_master and entry.slot_count == 0:
                    return f"{observer.name}: node {entry.port} is a master without slots"
                elif not entry.is_master and entry.master_id not in live_masters:
                    return f"{observer.name}: replica {entry.port} follows no live master"
        return None

    def wait_until_healthy(self, timeout: float = _CLUSTER_FORM_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        problem: str | None = "not checked yet"
        while time.monotonic() < deadline:
            try:
                problem = self._health_problem()
            except (redis.RedisError, OSError) as error:
                problem = repr(error)
            if problem is None:
                return
            time.sleep(0.1)
        raise ProcessStartError(f"Redis Cluster not healthy after {timeout:.0f}s: {problem}")

    def wait_until_replicas_attached(self, timeout: float = _CLUSTER_FORM_TIMEOUT_SECONDS) -> None:
        """Every live master has a replica with a connected replication link."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            masters = {m.node_id for m in self.masters() if m.slot_count > 0}
            served = set()
            for node in self.running_nodes():
                with node.client() as connection:
                    info = connection.info("replication")
                if info.get("role") == "slave" and info.get("master_link_status") == "up":
                    served |= {
                        v.master_id
                        for v in self.cluster_view(node)
                        if "myself" in v.flags and v.master_id
                    }
            if masters and masters <= served:
                return
            time.sleep(0.1)
        raise ProcessStartError(f"Redis Cluster replicas not attached after {timeout:.0f}s")

    def flush_all_masters(self) -> None:
        for master in self.masters():
            with self.node_by_port(master.port).client() as connection:
                connection.flushall()

    def kill_master(self) -> RedisServerProcess:
        """SIGKILL one slot-owning master (a crash); returns it so a test can restart it."""
        victim_view = next(m for m in self.masters() if m.slot_count > 0)
        victim = self.node_by_port(victim_view.port)
        victim.kill()
        return victim

    def restart_node(self, node: RedisServerProcess) -> None:
        """Start a stopped node again with its nodes.conf; it rejoins (as a replica after failover)."""
        node.start(fresh=False)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def processes(self) -> list[ManagedProcess]:
        return [node.process for node in self.nodes]

    def __enter__(self) -> RedisClusterServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
