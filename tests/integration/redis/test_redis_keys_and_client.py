"""Key layout (one chat = one slot) and the client factory's pool-exhaustion accounting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import MaxConnectionsError, RedisClusterException

from bot.infra.redis import keys
from bot.infra.redis.client import (
    close_redis_cluster,
    connect_redis_cluster,
    create_redis_cluster,
)
from bot.infra.redis.dialog_state import RedisDialogStateStore
from bot.infra.redis.outbound import RedisOutboundLimiter

pytestmark = pytest.mark.integration

ClientFactory = Callable[..., Awaitable[RedisCluster]]


async def test_keys_of_one_chat_share_a_slot_and_chats_spread_over_nodes(
    redis_client: RedisCluster,
) -> None:
    chat_keys = [keys.dialog_state(123, user) for user in (1, 2, 3)] + [keys.chat_outbound(123)]
    slots = {redis_client.keyslot(key) for key in chat_keys}
    assert len(slots) == 1
    assert redis_client.keyslot(keys.global_outbound_budget()) == redis_client.keyslot(
        keys.global_outbound_pause()
    )

    # The store and the limiter write exactly those keys, and the cluster agrees on the slot.
    await RedisDialogStateStore(redis_client).set_if_version(123, 1, "s", {}, 0)
    await RedisOutboundLimiter(redis_client).acquire(123, is_group=False)
    assert await redis_client.cluster_countkeysinslot(slots.pop()) == 2

    owners = {
        getattr(redis_client.get_node_from_key(keys.dialog_state(chat, 1)), "name", None)
        for chat in range(200)
    }
    assert len(owners) == 3  # many chats spread over the three masters


class CountingPoolObserver:
    def __init__(self) -> None:
        self.exhausted: list[str] = []

    def on_max_connections(self, node: str) -> None:
        self.exhausted.append(node)


async def test_pool_exhaustion_is_counted_and_raised(
    clean_redis_cluster: object, redis_cluster_nodes: list[tuple[str, int]]
) -> None:
    observer = CountingPoolObserver()
    client = await connect_redis_cluster(
        redis_cluster_nodes, max_connections=2, pool_observer=observer
    )
    try:
        await client.set("fok:{burst}:k", "v")
        results = await asyncio.gather(
            *(client.blpop(["fok:{burst}:list"], timeout=0.2) for _ in range(10)),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, MaxConnectionsError)]
        assert failures, "a burst above max_connections must fail fast"
        assert len(observer.exhausted) == len(failures)
        assert all(":" in node for node in observer.exhausted)  # host:port of the node
        assert await client.get("fok:{burst}:k") == "v"  # the client still works afterwards
    finally:
        await client.aclose()


def test_factory_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="startup node"):
        create_redis_cluster([], max_connections=4)
    with pytest.raises(ValueError, match="max_connections"):
        create_redis_cluster([("127.0.0.1", 1)], max_connections=0)


async def test_a_connected_client_takes_a_concurrent_burst_at_once(
    clean_redis_cluster: object, redis_cluster_nodes: list[tuple[str, int]]
) -> None:
    for _ in range(3):  # the race this guards against was intermittent on fresh clients
        client = await connect_redis_cluster(redis_cluster_nodes, max_connections=100)
        try:
            results = await asyncio.gather(
                *(client.set(f"fok:burst:{i}", i) for i in range(150)), return_exceptions=True
            )
            assert [r for r in results if r is not True] == []
        finally:
            await close_redis_cluster(client)


async def test_connect_fails_fast_on_a_wrong_address() -> None:
    from devcluster.ports import free_ports

    (unused_port,) = free_ports(1)
    with pytest.raises(RedisClusterException):
        await connect_redis_cluster(
            [("127.0.0.1", unused_port)], max_connections=4, socket_connect_timeout_s=0.5
        )
