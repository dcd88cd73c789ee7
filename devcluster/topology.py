"""The local cluster, defined in Python: which components run, in which order, on which ports.

Adding a component takes a build function (construct the server from the cluster so far, say
what to show and what to export to the bot's environment) and one `ComponentSpec` line.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from devcluster.alert_sink import AlertSinkServer
from devcluster.bot_fleet import BotFleet
from devcluster.celery import CeleryBeat, CeleryWorker
from devcluster.credentials import Credentials
from devcluster.emulator import EmulatorServer
from devcluster.haproxy import HAProxyPorts, HAProxyServer
from devcluster.monitoring import (
    AlertmanagerServer,
    NodeExporterServer,
    PrometheusServer,
    RedisExporterServer,
)
from devcluster.ports import LOOPBACK, free_ports
from devcluster.process import ManagedProcess
from devcluster.redis import RedisClusterServer, StandaloneRedisServer
from devcluster.secantus import SecantusServer
from devcluster.tls import LocalTls

# A staff account preset in the emulator, so the admin side of the bot can be tried at once.
LOCAL_SUPER_ADMIN = (100001, "Админ", "fok_admin")
BOT_INSTANCE_COUNT = 3


class Component(Protocol):
    def start(self) -> object: ...

    def stop(self) -> object: ...

    def processes(self) -> list[ManagedProcess]: ...


@dataclass(frozen=True)
class Endpoint:
    label: str
    url: str


@dataclass
class Built:
    """A component ready to start, with what `up` shows and what the bot processes need."""

    component: Component
    endpoints: list[Endpoint] = field(default_factory=list)
    # Environment variables (bot/settings.py names) that point the bot at this component.
    exports: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalCluster:
    """Everything a build function may use: ports, secrets, certificates, components so far."""

    run_dir: Path
    data_dir: Path
    ports: Mapping[str, int]
    credentials: Credentials
    tls: LocalTls
    built: dict[str, Built] = field(default_factory=dict)

    def component(self, name: str) -> Component:
        return self.built[name].component

    def exported_environment(self) -> dict[str, str]:
        environment: dict[str, str] = {}
        for built in self.built.values():
            environment.update(built.exports)
        return environment

    def address(self, port_name: str) -> str:
        return f"{LOOPBACK}:{self.ports[port_name]}"


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    port_names: tuple[str, ...]
    build: Callable[[LocalCluster], Built]


def _secantus(cluster: LocalCluster) -> Built:
    server = SecantusServer(
        cluster.run_dir / "logs",
        port=cluster.ports["mongo"],
        storage_path=cluster.data_dir / "secantus",
        die_with_parent=False,
    )
    return Built(
        server,
        endpoints=[Endpoint("MongoDB (SecantusDB)", server.url)],
        exports={"MONGO_URL": server.url, "MONGO_DATABASE": "fok_bot"},
    )


_REDIS_NODE_PORTS = tuple(f"redis-cluster-{index}" for index in range(1, 7))
_REDIS_BUS_PORTS = tuple(f"redis-cluster-bus-{index}" for index in range(1, 7))


def _redis_cluster(cluster: LocalCluster) -> Built:
    server = RedisClusterServer(
        cluster.run_dir / "redis-cluster",
        ports=[cluster.ports[name] for name in _REDIS_NODE_PORTS],
        bus_ports=[cluster.ports[name] for name in _REDIS_BUS_PORTS],
        die_with_parent=False,
    )
    nodes = ",".join(f"{host}:{port}" for host, port in server.startup_nodes)
    return Built(
        server,
        endpoints=[Endpoint("Redis Cluster", server.url)],
        exports={"REDIS_CLUSTER_NODES": nodes},
    )


def _broker_redis(cluster: LocalCluster) -> Built:
    server = StandaloneRedisServer(
        cluster.run_dir / "broker-redis", port=cluster.ports["broker-redis"], die_with_parent=False
    )
    return Built(
        server,
        endpoints=[Endpoint("Celery broker (Redis)", server.url)],
        exports={"CELERY_BROKER_URL": server.url},
    )


def _telegram_emulator(cluster: LocalCluster) -> Built:
    admin_id, admin_name, admin_username = LOCAL_SUPER_ADMIN
    server = EmulatorServer(
        cluster.run_dir / "logs",
        bot_token=cluster.credentials.bot_token,
        port=cluster.ports["telegram-emulator"],
        webhook_ca_file=cluster.tls.ca_pem,
        state_dir=cluster.data_dir / "telegram-emulator",
        preset_users=[f"{admin_id}:{admin_name}:{admin_username}"],
        # Only for `up --only ...` without HAProxy, when the webhook goes straight to instance 1.
        extra_args=["--allow-http-webhooks"],
        die_with_parent=False,
    )
    return Built(
        server,
        endpoints=[Endpoint("Telegram emulator chat page", server.chat_page_url)],
        exports={
            "TELEGRAM_BOT_TOKEN": cluster.credentials.bot_token,
            "TELEGRAM_API_BASE_URL": server.base_url,
            # The emulator speaks plain HTTP, which production settings refuse.
            "APP_ENV": "local",
            "APP_SUPER_ADMIN_IDS": str(admin_id),
        },
    )


_BOT_PORTS = tuple(f"bot-{index}" for index in range(1, BOT_INSTANCE_COUNT + 1))


def _haproxy(cluster: LocalCluster) -> Built:
    server = HAProxyServer(
        cluster.run_dir / "logs",
        ports=HAProxyPorts(
            https=cluster.ports["haproxy-https"],
            http=cluster.ports["haproxy-http"],
            stats=cluster.ports["haproxy-stats"],
            metrics=cluster.ports["haproxy-metrics"],
        ),
        bot_addresses=[cluster.address(name) for name in _BOT_PORTS],
        tls=cluster.tls,
        credentials=cluster.credentials,
        die_with_parent=False,
    )
    return Built(
        server,
        endpoints=[
            Endpoint("HAProxy stats (user admin, password in credentials.json)", server.stats_url),
            Endpoint("HAProxy webhook (TLS, local CA in tls/ca.pem)", server.webhook_url),
        ],
        exports={
            "TELEGRAM_WEBHOOK_SECRET": cluster.credentials.webhook_secret,
            "TELEGRAM_WEBHOOK_PATH": server.webhook_path,
            "TELEGRAM_WEBHOOK_URL": server.webhook_url,
        },
    )


def _bots(cluster: LocalCluster) -> Built:
    emulator = cluster.component("telegram-emulator")
    assert isinstance(emulator, EmulatorServer)
    # Through the TLS edge like production; straight to instance 1 when HAProxy is left out.
    haproxy = cluster.built.get("haproxy")
    if haproxy is not None:
        assert isinstance(haproxy.component, HAProxyServer)
        webhook_url = haproxy.component.webhook_url
    else:
        webhook_url = f"http://{cluster.address(_BOT_PORTS[0])}/telegram/webhook"
    fleet = BotFleet(
        cluster.run_dir / "bots",
        ports=[cluster.ports[name] for name in _BOT_PORTS],
        env=cluster.exported_environment(),
        webhook_url=webhook_url,
        emulator_base_url=emulator.base_url,
        die_with_parent=False,
    )
    return Built(
        fleet,
        endpoints=[
            Endpoint(f"Bot instance {index} (/ready, /metrics)", instance.base_url)
            for index, instance in enumerate(fleet.instances, start=1)
        ],
    )


def _celery_worker(cluster: LocalCluster) -> Built:
    # Samples of a previous run would be summed into this one's: the directory starts empty.
    metrics_dir = cluster.run_dir / "celery" / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    worker = CeleryWorker(
        cluster.run_dir / "celery",
        name="worker1",
        env={
            **cluster.exported_environment(),
            "WORKER_INSTANCE_ID": "worker1",
            "WORKER_METRICS_BIND": cluster.address("worker-metrics"),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
        concurrency=2,
        die_with_parent=False,
    )
    return Built(
        worker,
        endpoints=[
            Endpoint("Celery worker metrics", f"http://{cluster.address('worker-metrics')}/")
        ],
    )


def _celery_beat(cluster: LocalCluster) -> Built:
    beat = CeleryBeat(
        cluster.run_dir / "celery", env=cluster.exported_environment(), die_with_parent=False
    )
    return Built(beat)


def _alert_sink(cluster: LocalCluster) -> Built:
    server = AlertSinkServer(
        cluster.run_dir / "logs",
        port=cluster.ports["alert-sink"],
        output=cluster.run_dir / "alerts.jsonl",
        die_with_parent=False,
    )
    return Built(
        server,
        endpoints=[Endpoint("Alerts received (Alertmanager webhook)", server.output.as_uri())],
    )


def _alertmanager(cluster: LocalCluster) -> Built:
    sink = cluster.component("alert-sink")
    assert isinstance(sink, AlertSinkServer)
    server = AlertmanagerServer(
        cluster.run_dir,
        port=cluster.ports["alertmanager"],
        webhook_url=sink.webhook_url,
        die_with_parent=False,
    )
    return Built(server, endpoints=[Endpoint("Alertmanager", server.url)])


def _node_exporter(cluster: LocalCluster) -> Built:
    server = NodeExporterServer(
        cluster.run_dir, port=cluster.ports["node-exporter"], die_with_parent=False
    )
    return Built(server, endpoints=[Endpoint("Node exporter (this machine)", server.url)])


def _redis_exporter(cluster: LocalCluster) -> Built:
    server = RedisExporterServer(
        cluster.run_dir, port=cluster.ports["redis-exporter"], die_with_parent=False
    )
    return Built(
        server, endpoints=[Endpoint("Redis exporter (/scrape?target=redis://...)", server.url)]
    )


def _prometheus(cluster: LocalCluster) -> Built:
    server = PrometheusServer(
        cluster.run_dir,
        port=cluster.ports["prometheus"],
        bot_addresses=[cluster.address(name) for name in _BOT_PORTS],
        worker_metrics_addresses=[cluster.address("worker-metrics")],
        haproxy_metrics_address=cluster.address("haproxy-metrics"),
        alertmanager_address=cluster.address("alertmanager"),
        node_exporter_address=cluster.address("node-exporter"),
        redis_exporter_address=cluster.address("redis-exporter"),
        redis_cluster_addresses=[cluster.address(name) for name in _REDIS_NODE_PORTS],
        redis_broker_address=cluster.address("broker-redis"),
        die_with_parent=False,
    )
    return Built(
        server,
        endpoints=[
            Endpoint("Prometheus", server.url),
            Endpoint("Prometheus targets", f"{server.url}targets"),
        ],
    )


COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec("secantus", ("mongo",), _secantus),
    ComponentSpec("redis-cluster", _REDIS_NODE_PORTS + _REDIS_BUS_PORTS, _redis_cluster),
    ComponentSpec("broker-redis", ("broker-redis",), _broker_redis),
    ComponentSpec("telegram-emulator", ("telegram-emulator",), _telegram_emulator),
    # Before the bots: their webhook is registered at HAProxy's address once they are ready.
    ComponentSpec(
        "haproxy", ("haproxy-https", "haproxy-http", "haproxy-stats", "haproxy-metrics"), _haproxy
    ),
    ComponentSpec("bots", _BOT_PORTS, _bots),
    ComponentSpec("celery-worker", ("worker-metrics",), _celery_worker),
    ComponentSpec("celery-beat", (), _celery_beat),
    ComponentSpec("alert-sink", ("alert-sink",), _alert_sink),
    ComponentSpec("alertmanager", ("alertmanager",), _alertmanager),
    ComponentSpec("node-exporter", ("node-exporter",), _node_exporter),
    ComponentSpec("redis-exporter", ("redis-exporter",), _redis_exporter),
    ComponentSpec("prometheus", ("prometheus",), _prometheus),
)


class PortPlanError(ValueError):
    """An override names an unknown port, or two ports collide."""


def port_names(specs: Sequence[ComponentSpec]) -> list[str]:
    return [name for spec in specs for name in spec.port_names]


def plan_ports(
    specs: Sequence[ComponentSpec],
    overrides: Mapping[str, int],
    base_port: int | None = None,
) -> dict[str, int]:
    """Every port name of `specs` -> a port: overrides first, then base_port + n, else free ports."""
    names = port_names(specs)
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise PortPlanError(f"unknown port name(s) {unknown}; known: {', '.join(names)}")
    plan: dict[str, int] = {}
    unassigned = [name for name in names if name not in overrides]
    if base_port is not None:
        taken = set(overrides.values())
        candidate = base_port
        for name in unassigned:
            while candidate in taken:
                candidate += 1
            plan[name] = candidate
            candidate += 1
    elif unassigned:
        # Ask for extra ports so that dropping any that equal an override still leaves enough.
        reserved = set(overrides.values())
        candidates = [p for p in free_ports(len(unassigned) + len(reserved)) if p not in reserved]
        plan.update(zip(unassigned, candidates, strict=False))
    plan.update(overrides)
    ordered = {name: plan[name] for name in names}
    duplicates = {port for port in ordered.values() if list(ordered.values()).count(port) > 1}
    if duplicates:
        raise PortPlanError(f"ports used twice: {sorted(duplicates)}")
    if any(not 0 < port < 65536 for port in ordered.values()):
        raise PortPlanError("ports must be between 1 and 65535")
    return ordered


def port_environment_variable(port_name: str) -> str:
    """The variable overriding one port, e.g. haproxy-https -> DEVCLUSTER_PORT_HAPROXY_HTTPS."""
    return "DEVCLUSTER_PORT_" + port_name.upper().replace("-", "_")


def port_overrides_from_environment(
    specs: Sequence[ComponentSpec], environment: Mapping[str, str]
) -> dict[str, int]:
    overrides = {}
    for name in port_names(specs):
        value = environment.get(port_environment_variable(name))
        if value:
            if not value.isdigit():
                raise PortPlanError(f"{port_environment_variable(name)} must be a port number")
            overrides[name] = int(value)
    return overrides
