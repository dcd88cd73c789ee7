"""Update de-duplication against the real Redis Cluster (design §4 rule 2)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio.cluster import RedisCluster

from bot.infra.redis import keys
from bot.infra.redis.dedup import RedisUpdateDeduplicator
from bot.infra.redis.flood import RedisFloodLimiter
from bot.services.ports.ephemeral import DedupState

pytestmark = pytest.mark.integration

ClientFactory = Callable[..., Awaitable[RedisCluster]]


async def test_begin_finish_then_retries_see_done(redis_client: RedisCluster) -> None:
    dedup = RedisUpdateDeduplicator(redis_client)
    claim = await dedup.begin(1001)
    assert claim.state is DedupState.BEGUN
    assert claim.token

    assert (await dedup.begin(1001)).state is DedupState.IN_PROGRESS
    await dedup.finish(claim)
    assert (await dedup.begin(1001)).state is DedupState.DONE
    done_ttl_s = await redis_client.ttl(keys.update_dedup(1001))
    assert done_ttl_s > 6 * 24 * 3600


async def test_only_one_of_many_instances_begins_an_update(make_client: ClientFactory) -> None:
    instances = [RedisUpdateDeduplicator(await make_client()) for _ in range(3)]
    claims = await asyncio.gather(*(dedup.begin(77) for dedup in instances for _ in range(5)))
    states = [claim.state for claim in claims]
    assert states.count(DedupState.BEGUN) == 1
    assert states.count(DedupState.IN_PROGRESS) == 14


async def test_abort_releases_the_update_for_a_retry(redis_client: RedisCluster) -> None:
    dedup = RedisUpdateDeduplicator(redis_client)
    claim = await dedup.begin(5)
    assert await dedup.abort(claim) is True
    retry = await dedup.begin(5)
    assert retry.state is DedupState.BEGUN
    assert retry.token != claim.token


async def test_expired_owner_is_taken_over_and_cannot_abort_the_new_owner(
    make_client: ClientFactory,
) -> None:
    slow_instance = RedisUpdateDeduplicator(await make_client(), processing_ttl_s=0.3)
    other_instance = RedisUpdateDeduplicator(await make_client(), processing_ttl_s=30)
    slow_claim = await slow_instance.begin(42)
    assert (await other_instance.begin(42)).state is DedupState.IN_PROGRESS

    await asyncio.sleep(0.45)  # the slow owner "died": its processing mark expires
    takeover = await other_instance.begin(42)
    assert takeover.state is DedupState.BEGUN

    assert await slow_instance.abort(slow_claim) is False  # not its mark any more
    assert (await slow_instance.begin(42)).state is DedupState.IN_PROGRESS
    await other_instance.finish(takeover)
    assert (await slow_instance.begin(42)).state is DedupState.DONE


async def test_update_ids_are_independent_even_after_a_reset(redis_client: RedisCluster) -> None:
    dedup = RedisUpdateDeduplicator(redis_client)
    await dedup.finish(await dedup.begin(900_000))
    # update_id sequences can restart lower: a small id is new, not "older than last seen".
    assert (await dedup.begin(3)).state is DedupState.BEGUN


async def test_finish_and_abort_need_an_owned_claim(redis_client: RedisCluster) -> None:
    dedup = RedisUpdateDeduplicator(redis_client)
    await dedup.begin(8)
    foreign = await dedup.begin(8)
    with pytest.raises(ValueError, match="not begun"):
        await dedup.finish(foreign)
    with pytest.raises(ValueError, match="not begun"):
        await dedup.abort(foreign)


# --- the claim and the sender's flood count in one round trip --------------------------------


async def test_begin_counted_claims_once_and_counts_only_new_updates(
    redis_client: RedisCluster,
) -> None:
    flood = RedisFloodLimiter(redis_client, limit=2, window_s=60)
    dedup = RedisUpdateDeduplicator(redis_client, flood=flood)
    first, verdict = await dedup.begin_counted(501, sender_id=7)
    assert first.state is DedupState.BEGUN
    assert verdict is not None
    assert verdict.allowed
    # A retry while the owner works, then after it finished: neither is counted again.
    retry, retry_verdict = await dedup.begin_counted(501, sender_id=7)
    assert (retry.state, retry_verdict) == (DedupState.IN_PROGRESS, None)
    await dedup.finish(first)
    done, done_verdict = await dedup.begin_counted(501, sender_id=7)
    assert (done.state, done_verdict) == (DedupState.DONE, None)
    assert await redis_client.ttl(keys.sender_update_dedup(7, 501)) > 6 * 24 * 3600
    # The second new update uses the last of the burst of 2; the third is refused with a wait.
    _second, second_verdict = await dedup.begin_counted(502, sender_id=7)
    assert second_verdict is not None
    assert second_verdict.allowed
    third, refused = await dedup.begin_counted(503, sender_id=7)
    assert third.state is DedupState.BEGUN  # claimed all the same: the gate answers it
    assert refused is not None
    assert not refused.allowed
    assert 0 < refused.retry_after_s <= 30
    # Another sender's budget is their own, and the plain limiter sees the same key.
    _, other = await dedup.begin_counted(504, sender_id=8)
    assert other is not None
    assert other.allowed
    assert not (await flood.hit(7)).allowed


async def test_a_counted_claim_aborts_only_its_own_mark(make_client: ClientFactory) -> None:
    redis = await make_client()
    flood = RedisFloodLimiter(redis, limit=20, window_s=10)
    slow = RedisUpdateDeduplicator(redis, processing_ttl_s=0.3, flood=flood)
    other = RedisUpdateDeduplicator(await make_client(), processing_ttl_s=30, flood=flood)
    slow_claim, _ = await slow.begin_counted(42, sender_id=9)
    await asyncio.sleep(0.45)  # the slow owner "died": its processing mark expires
    takeover, _ = await other.begin_counted(42, sender_id=9)
    assert takeover.state is DedupState.BEGUN
    assert await slow.abort(slow_claim) is False  # not its mark any more
    assert await other.abort(takeover) is True
    retry, verdict = await slow.begin_counted(42, sender_id=9)
    assert retry.state is DedupState.BEGUN
    assert verdict is not None


async def test_only_one_instance_begins_a_counted_update(make_client: ClientFactory) -> None:
    clients = [await make_client() for _ in range(3)]
    instances = [
        RedisUpdateDeduplicator(client, flood=RedisFloodLimiter(client, limit=100, window_s=10))
        for client in clients
    ]
    results = await asyncio.gather(
        *(dedup.begin_counted(78, sender_id=5) for dedup in instances for _ in range(5))
    )
    states = [claim.state for claim, _ in results]
    assert states.count(DedupState.BEGUN) == 1
    assert states.count(DedupState.IN_PROGRESS) == 14
    assert sum(verdict is not None for _, verdict in results) == 1


async def test_without_a_flood_limiter_begin_counted_is_begin(redis_client: RedisCluster) -> None:
    dedup = RedisUpdateDeduplicator(redis_client)
    claim, verdict = await dedup.begin_counted(600, sender_id=7)
    assert (claim.state, verdict) == (DedupState.BEGUN, None)
    assert (await dedup.begin(600)).state is DedupState.IN_PROGRESS
