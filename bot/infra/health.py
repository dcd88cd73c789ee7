"""Dependency probes for readiness and the detailed health page: answered, latency, version."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pymongo.errors
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot.infra import metrics

CHECK_TIMEOUT_S = 2.0
CLUSTER_SLOTS = 16384
# Within CHECK_TIMEOUT_S: CLUSTER SLOTS from every node at once, PING every primary at once, then
# INFO from one that answered.
NODE_PING_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class ProbeAnswer:
    version: str | None = None
    detail: str | None = None  # e.g. how many Redis Cluster slots answer


Probe = Callable[[], Awaitable[str | ProbeAnswer | None]]


class ClusterMostlyDown(ConnectionError):
    """Half or more of the Redis Cluster's slots have no primary that answers."""


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    ok: bool
    latency_ms: float
    version: str | None = None
    error: str | None = None
    detail: str | None = None


def mongo_probe(client: AsyncMongoClient[Any]) -> Probe:
    async def probe() -> str | None:
        await client.admin.command("ping")
        try:
            info = await client.admin.command("buildInfo")
        except pymongo.errors.OperationFailure:
            return None
        return str(info.get("version")) if info.get("version") else None

    return probe


async def _within(awaitable: Awaitable[Any]) -> Any:
    """The answer of one node, or None when it failed or took longer than a healthy node."""
    try:
        async with asyncio.timeout(NODE_PING_TIMEOUT_S):
            return await awaitable
    except Exception:
        return None


Address = tuple[str, int]


class _NodeProbe:
    """Short-lived connections of the probe's own, one per node and check: what the probe does
    can never disturb the cluster client's pools or its slot map (redis-py refreshes those on
    the errors its commands meet), and it sees the cluster's current map, not the client's."""

    def __init__(self, cluster: RedisCluster) -> None:
        self._cluster = cluster
        kwargs = cluster.nodes_manager.connection_kwargs
        self._username: str | None = kwargs.get("username")
        self._password: str | None = kwargs.get("password")

    def addresses(self) -> list[Address]:
        nodes = [*self._cluster.get_nodes(), *self._cluster.nodes_manager.startup_nodes.values()]
        return list(dict.fromkeys((str(node.host), int(node.port)) for node in nodes))

    async def command(self, address: Address, *args: str) -> Any:
        client = Redis(
            host=address[0],
            port=address[1],
            socket_connect_timeout=NODE_PING_TIMEOUT_S,
            socket_timeout=NODE_PING_TIMEOUT_S,
            decode_responses=True,
            username=self._username,
            password=self._password,
        )
        try:
            return await _within(client.execute_command(*args))  # type: ignore[no-untyped-call]
        finally:
            await client.aclose()


def _slot_owners(answer: Any, asked: Address) -> Counter[Address] | None:
    """CLUSTER SLOTS as slots per primary address (an empty host is the node asked)."""
    if not isinstance(answer, list) or not answer:
        return None
    owners: Counter[Address] = Counter()
    for entry in answer:
        first, last, primary = entry[0], entry[1], entry[2]
        host = str(primary[0]) or asked[0]
        owners[(host, int(primary[1]))] += int(last) - int(first) + 1
    return owners


async def _served_slots(cluster: RedisCluster) -> tuple[int, Address | None]:
    """How many slots have a primary that answers PING, after the slot map of the first node
    that answers CLUSTER SLOTS; and one such primary."""
    nodes = _NodeProbe(cluster)
    asked = nodes.addresses()
    maps = await asyncio.gather(*(nodes.command(address, "CLUSTER", "SLOTS") for address in asked))
    owners = next(
        (o for o in (_slot_owners(m, a) for m, a in zip(maps, asked, strict=True)) if o), None
    )
    if owners is None:
        return 0, None
    primaries = list(owners)
    answers = await asyncio.gather(*(nodes.command(address, "PING") for address in primaries))
    alive = [address for address, ok in zip(primaries, answers, strict=True) if ok]
    return sum(owners[address] for address in alive), alive[0] if alive else None


def redis_cluster_probe(cluster: RedisCluster) -> Probe:
    """Ready while the primaries that answer serve more than half of the slots.

    All instances share the cluster, so while one master is down and its replica takes over,
    taking every instance out of HAProxy would refuse every update, where today only those whose
    keys live on the failed master meet a 503 (and Telegram retries them). An instance that
    reaches at most half of the slots (the cluster is down, or this instance is cut off from it)
    is not ready. The detail says how many slots answer.
    """

    async def probe() -> ProbeAnswer:
        served, primary = await _served_slots(cluster)
        if served * 2 <= CLUSTER_SLOTS or primary is None:
            raise ClusterMostlyDown(f"{served} of {CLUSTER_SLOTS} slots answer")
        info = await _NodeProbe(cluster).command(primary, "INFO", "server")
        return ProbeAnswer(_redis_version(info), f"{served}/{CLUSTER_SLOTS} slots served")

    return probe


def redis_probe(client: Redis) -> Probe:
    async def probe() -> str | None:
        return _redis_version(await client.info("server"))

    return probe


def _redis_version(info: Any) -> str | None:
    if isinstance(info, dict):
        if "redis_version" in info:
            return str(info["redis_version"])
        for value in info.values():  # per-node answers
            if isinstance(value, dict) and "redis_version" in value:
                return str(value["redis_version"])
    return None


async def _timed(name: str, probe: Probe) -> DependencyStatus:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            answer = await probe()
    except Exception as error:
        latency = (time.perf_counter() - started) * 1000
        detail = str(error) if isinstance(error, ClusterMostlyDown) else None
        return DependencyStatus(
            name, False, round(latency, 2), error=type(error).__name__, detail=detail
        )
    latency = (time.perf_counter() - started) * 1000
    if isinstance(answer, ProbeAnswer):
        return DependencyStatus(
            name, True, round(latency, 2), version=answer.version, detail=answer.detail
        )
    return DependencyStatus(name, True, round(latency, 2), version=answer)


async def check_all(probes: Mapping[str, Probe]) -> list[DependencyStatus]:
    """Every probe at once; each result also sets ``fok_dependency_up``."""
    checks = await asyncio.gather(*(_timed(name, probe) for name, probe in probes.items()))
    for status in checks:
        metrics.DEPENDENCY_UP.labels(dependency=status.name).set(1 if status.ok else 0)
    return list(checks)
