"""What readiness says while Redis Cluster masters are down (a private six-node cluster).

Readiness (``/ready``) asks ``bot.infra.health.redis_cluster_probe``: ready while the primaries
that answer serve more than half of the 16384 slots. One master down (before and after its
replica takes over): ready, every instance stays in HAProxy and only updates whose keys live on
the failed third meet a 503 until the failover. Two of three masters down: not ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.infra.health import CLUSTER_SLOTS, check_all, redis_cluster_probe
from bot.infra.redis.client import close_redis_cluster, connect_redis_cluster
from devcluster.redis import RedisClusterServer


def served_slots(detail: str | None) -> int:
    """The number of slots a detail names ("10923/16384 slots served", "5461 of 16384 ...")."""
    assert detail is not None
    return int(detail.replace("/", " ").split()[0])


async def test_one_master_down_keeps_the_instance_ready_two_do_not(
    make_redis_cluster: Callable[[], RedisClusterServer],
) -> None:
    servers = await asyncio.to_thread(make_redis_cluster)
    cluster = await connect_redis_cluster(servers.startup_nodes, max_connections=16)
    probes = {"redis_cluster": redis_cluster_probe(cluster)}
    try:
        (healthy,) = await check_all(probes)
        assert healthy.ok
        assert served_slots(healthy.detail) == CLUSTER_SLOTS

        await asyncio.to_thread(servers.kill_master)  # a crash; its replica has not taken over
        (failing_over,) = await check_all(probes)
        assert failing_over.ok, failing_over
        assert CLUSTER_SLOTS // 2 < served_slots(failing_over.detail) < CLUSTER_SLOTS

        await asyncio.to_thread(servers.wait_until_healthy, 30)  # the replica is master now
        (recovered,) = await check_all(probes)
        assert recovered.ok
        assert served_slots(recovered.detail) == CLUSTER_SLOTS

        masters = [m for m in await asyncio.to_thread(servers.masters) if m.slot_count > 0]
        for master in masters[:2]:  # two of three: no majority left to fail over
            await asyncio.to_thread(servers.node_by_port(master.port).kill)
        (down,) = await check_all(probes)
        assert not down.ok
        assert down.error == "ClusterMostlyDown"
        assert served_slots(down.detail) <= CLUSTER_SLOTS // 2
    finally:
        await close_redis_cluster(cluster)
