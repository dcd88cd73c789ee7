"""A short single-key lock: ``SET NX PX`` with an owner token, released by compare-and-delete.

Only for coordination where a duplicate is merely wasteful (e.g. one instance rebuilding a cache);
correctness-critical exclusivity belongs in MongoDB (design §4 rule 6), because Redis replication is
asynchronous and a failover can lose a lock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster

from bot.infra.redis import keys
from bot.infra.redis.lua import COMPARE_AND_DELETE
from bot.services.ports.ephemeral import LockLease


@dataclass(frozen=True, slots=True)
class RedisLockLease:
    name: str
    token: str


class RedisDistributedLock:
    def __init__(self, redis: RedisCluster) -> None:
        self._redis = redis
        self._compare_and_delete = redis.register_script(COMPARE_AND_DELETE)

    async def try_acquire(self, name: str, ttl_s: float) -> RedisLockLease | None:
        if ttl_s <= 0:
            raise ValueError("lock TTL must be positive")
        token = secrets.token_hex(16)
        taken = await self._redis.set(keys.lock(name), token, nx=True, px=max(1, int(ttl_s * 1000)))
        return RedisLockLease(name=name, token=token) if taken else None

    async def release(self, lease: LockLease) -> bool:
        deleted = await self._compare_and_delete(keys=[keys.lock(lease.name)], args=[lease.token])
        return bool(int(deleted))
