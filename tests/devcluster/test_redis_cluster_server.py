"""The Redis Cluster the tests get is a real cluster: 3 masters, 3 replicas, all slots, failover."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from redis.asyncio.cluster import ClusterNode, RedisCluster

from devcluster.ports import is_listening
from devcluster.process import pid_is_alive
from devcluster.redis import CLUSTER_SLOTS, RedisClusterServer, StandaloneRedisServer


def test_three_masters_each_with_a_replica(redis_cluster: RedisClusterServer) -> None:
    masters = redis_cluster.masters()
    replicas = redis_cluster.replicas()
    assert len(masters) == 3
    assert len(replicas) == 3
    assert {replica.master_id for replica in replicas} == {master.node_id for master in masters}
    assert sum(master.slot_count for master in masters) == CLUSTER_SLOTS
    assert all(master.slot_count > 0 for master in masters)


def test_every_node_reports_cluster_ok(redis_cluster: RedisClusterServer) -> None:
    for node in redis_cluster.nodes:
        with node.client() as connection:
            info = connection.execute_command("CLUSTER", "INFO")
        assert "cluster_state:ok" in info
        assert f"cluster_slots_ok:{CLUSTER_SLOTS}" in info
        assert "cluster_known_nodes:6" in info


async def test_keys_from_redis_py_land_on_different_masters(
    clean_redis_cluster: RedisClusterServer, redis_cluster_nodes: list[tuple[str, int]]
) -> None:
    client = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in redis_cluster_nodes],
        decode_responses=True,
    )
    try:
        for index in range(60):
            await client.set(f"devcluster-key-{index}", str(index))
        assert await client.get("devcluster-key-42") == "42"
    finally:
        await client.aclose()

    per_master = {}
    for master in clean_redis_cluster.masters():
        with clean_redis_cluster.node_by_port(master.port).client() as connection:
            per_master[master.port] = connection.dbsize()
    assert sum(per_master.values()) == 60
    assert all(count > 0 for count in per_master.values()), per_master


def test_clean_redis_cluster_starts_empty(clean_redis_cluster: RedisClusterServer) -> None:
    for master in clean_redis_cluster.masters():
        with clean_redis_cluster.node_by_port(master.port).client() as connection:
            assert connection.dbsize() == 0


def test_a_replica_takes_over_when_a_master_dies(
    make_redis_cluster: Callable[[], RedisClusterServer],
) -> None:
    cluster = make_redis_cluster()
    victim = cluster.kill_master()
    assert not victim.process.is_running()
    cluster.wait_until_healthy(timeout=30)
    masters = cluster.masters()
    assert len(masters) == 3
    assert victim.port not in {master.port for master in masters if master.slot_count > 0}

    cluster.restart_node(victim)
    cluster.wait_until_healthy(timeout=30)
    assert victim.port in {replica.port for replica in cluster.replicas()}


def test_no_process_or_port_is_left_after_stop(
    make_redis_cluster: Callable[[], RedisClusterServer],
) -> None:
    cluster = make_redis_cluster()
    pids = [node.process.pid for node in cluster.nodes]
    cluster.stop()
    assert all(pid is not None and not pid_is_alive(pid) for pid in pids)
    assert not any(is_listening(host, port) for host, port in cluster.startup_nodes)


def test_broker_is_a_plain_redis(broker_redis: StandaloneRedisServer) -> None:
    with redis.Redis.from_url(broker_redis.url, decode_responses=True) as connection:
        assert connection.info("cluster")["cluster_enabled"] == 0
        connection.set("celery-probe", "1")
        assert connection.get("celery-probe") == "1"
        connection.delete("celery-probe")


def test_cluster_constructor_refuses_wrong_port_count(tmp_path: object) -> None:
    from pathlib import Path

    with pytest.raises(ValueError, match="exactly 6"):
        RedisClusterServer(Path(str(tmp_path)), ports=[1, 2, 3], bus_ports=[4, 5, 6])
