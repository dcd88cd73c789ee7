"""Clients of the real six-node Redis Cluster (root fixtures start it) for the adapter tests.

Each client is a separate ``RedisCluster`` with its own connection pools: two clients stand for two
bot instances (or an instance and a Celery worker) sharing the cluster.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio.cluster import RedisCluster

from bot.infra.redis.client import close_redis_cluster, connect_redis_cluster
from devcluster.redis import RedisClusterServer

ClientFactory = Callable[..., Awaitable[RedisCluster]]

pytestmark = pytest.mark.integration


@pytest.fixture
async def make_client(
    clean_redis_cluster: RedisClusterServer, redis_cluster_nodes: list[tuple[str, int]]
) -> AsyncIterator[ClientFactory]:
    created: list[RedisCluster] = []

    async def make(**overrides: object) -> RedisCluster:
        options: dict[str, object] = {"max_connections": 32}
        options.update(overrides)
        client = await connect_redis_cluster(redis_cluster_nodes, **options)  # type: ignore[arg-type]
        created.append(client)
        return client

    yield make
    for client in created:
        await close_redis_cluster(client)


@pytest.fixture
async def redis_client(make_client: ClientFactory) -> RedisCluster:
    return await make_client()
