"""Per-user flood limiter and the short distributed lock against the real Redis Cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio.cluster import RedisCluster

from bot.infra.redis.flood import RedisFloodLimiter
from bot.infra.redis.lock import RedisDistributedLock

pytestmark = pytest.mark.integration

ClientFactory = Callable[..., Awaitable[RedisCluster]]


async def test_flood_limiter_slows_one_user_and_not_another(make_client: ClientFactory) -> None:
    # Two instances share one budget per user: 5 updates per second.
    instance_a = RedisFloodLimiter(await make_client(), limit=5, window_s=1.0)
    instance_b = RedisFloodLimiter(await make_client(), limit=5, window_s=1.0)

    verdicts = [await (instance_a if i % 2 else instance_b).hit(1) for i in range(7)]
    assert [v.allowed for v in verdicts] == [True] * 5 + [False] * 2
    throttled = verdicts[-1]
    assert 0 < throttled.retry_after_s <= 0.2 + 0.01

    assert (await instance_a.hit(2)).allowed  # another user is unaffected
    await asyncio.sleep(throttled.retry_after_s + 0.02)
    assert (await instance_b.hit(1)).allowed  # the throttled user gets through after the wait


async def test_flood_limiter_sustained_rate_matches_the_budget(redis_client: RedisCluster) -> None:
    limiter = RedisFloodLimiter(redis_client, limit=10, window_s=1.0)
    allowed = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + 1.5
    while loop.time() < end:
        if (await limiter.hit(3)).allowed:
            allowed += 1
        await asyncio.sleep(0.005)
    # A burst of 10, then 10/s for the remaining 1.5 s: about 25, never the ~300 attempts made.
    assert 20 <= allowed <= 27


async def test_lock_is_exclusive_across_instances_and_released_by_owner_only(
    make_client: ClientFactory,
) -> None:
    lock_a = RedisDistributedLock(await make_client())
    lock_b = RedisDistributedLock(await make_client())

    leases = await asyncio.gather(*(lock.try_acquire("reports", 5) for lock in (lock_a, lock_b)))
    held = [lease for lease in leases if lease is not None]
    assert len(held) == 1
    assert await lock_b.try_acquire("reports", 5) is None
    assert await lock_a.try_acquire("other-name", 5) is not None

    assert await lock_a.release(held[0]) is True
    assert await lock_a.release(held[0]) is False
    assert await lock_b.try_acquire("reports", 5) is not None


async def test_expired_lock_is_taken_over_and_old_lease_cannot_release_it(
    make_client: ClientFactory,
) -> None:
    lock_a = RedisDistributedLock(await make_client())
    lock_b = RedisDistributedLock(await make_client())
    old = await lock_a.try_acquire("beat", 0.2)
    assert old is not None
    await asyncio.sleep(0.3)
    new = await lock_b.try_acquire("beat", 5)
    assert new is not None
    assert await lock_a.release(old) is False
    assert await lock_a.try_acquire("beat", 5) is None
