"""Dependency probes for readiness and the detailed health page: answered, latency, version."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pymongo.errors
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from bot.infra import metrics

CHECK_TIMEOUT_S = 2.0

Probe = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True)
class DependencyStatus:
    name: str
    ok: bool
    latency_ms: float
    version: str | None = None
    error: str | None = None


def mongo_probe(client: AsyncMongoClient[Any]) -> Probe:
    async def probe() -> str | None:
        await client.admin.command("ping")
        try:
            info = await client.admin.command("buildInfo")
        except pymongo.errors.OperationFailure:
            return None
        return str(info.get("version")) if info.get("version") else None

    return probe


def redis_cluster_probe(cluster: RedisCluster) -> Probe:
    async def probe() -> str | None:
        node = cluster.get_random_node()
        if not await cluster.ping(target_nodes=RedisCluster.PRIMARIES):
            raise ConnectionError("a Redis Cluster primary did not answer PING")
        return _redis_version(await cluster.info("server", target_nodes=node))

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
            version = await probe()
    except Exception as error:
        latency = (time.perf_counter() - started) * 1000
        return DependencyStatus(name, False, round(latency, 2), error=type(error).__name__)
    latency = (time.perf_counter() - started) * 1000
    return DependencyStatus(name, True, round(latency, 2), version=version)


async def check_all(probes: Mapping[str, Probe]) -> list[DependencyStatus]:
    """Every probe at once; each result also sets ``fok_dependency_up``."""
    checks = await asyncio.gather(*(_timed(name, probe) for name, probe in probes.items()))
    for status in checks:
        metrics.DEPENDENCY_UP.labels(dependency=status.name).set(1 if status.ok else 0)
    return list(checks)
