"""Update de-duplication against the real Redis Cluster (design §4 rule 2)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio.cluster import RedisCluster

from bot.infra.redis import keys
from bot.infra.redis.dedup import RedisUpdateDeduplicator
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
