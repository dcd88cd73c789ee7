"""Dialog state in the real Redis Cluster: isolation per (chat, user), TTL, optimistic concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio.cluster import RedisCluster

from bot.infra.redis import keys
from bot.infra.redis.dialog_state import RedisDialogStateStore
from bot.services.ports.ephemeral import DialogState, DialogStateConflict

pytestmark = pytest.mark.integration

ClientFactory = Callable[..., Awaitable[RedisCluster]]


async def test_state_round_trips_with_versions(redis_client: RedisCluster) -> None:
    store = RedisDialogStateStore(redis_client)
    assert await store.get(100, 1) is None

    first = await store.set_if_version(100, 1, "ask_name", {"lang": "ru"}, expected_version=0)
    assert first == DialogState(step="ask_name", data={"lang": "ru"}, version=1)
    second = await store.set_if_version(
        100, 1, "ask_phone", {"name": "Анна Петрова"}, expected_version=1
    )
    assert second.version == 2
    assert await store.get(100, 1) == DialogState(
        step="ask_phone", data={"name": "Анна Петрова"}, version=2
    )


async def test_states_are_isolated_per_chat_and_user(redis_client: RedisCluster) -> None:
    store = RedisDialogStateStore(redis_client)
    await store.set_if_version(100, 1, "a", {"n": 1}, expected_version=0)
    await store.set_if_version(100, 2, "b", {"n": 2}, expected_version=0)
    await store.set_if_version(-200, 1, "c", {"n": 3}, expected_version=0)

    assert (await store.get(100, 1)) == DialogState("a", {"n": 1}, 1)
    assert (await store.get(100, 2)) == DialogState("b", {"n": 2}, 1)
    assert (await store.get(-200, 1)) == DialogState("c", {"n": 3}, 1)

    await store.clear(100, 1)
    assert await store.get(100, 1) is None
    assert (await store.get(100, 2)) is not None
    assert (await store.get(-200, 1)) is not None


async def test_two_instances_racing_on_one_dialog_cannot_both_win(
    make_client: ClientFactory,
) -> None:
    instance_a = RedisDialogStateStore(await make_client())
    instance_b = RedisDialogStateStore(await make_client())
    await instance_a.set_if_version(7, 7, "menu", {}, expected_version=0)

    read_by_a = await instance_a.get(7, 7)
    read_by_b = await instance_b.get(7, 7)
    assert read_by_a is not None
    assert read_by_b is not None
    assert read_by_a.version == read_by_b.version == 1

    await instance_a.set_if_version(7, 7, "booking", {"by": "a"}, read_by_a.version)
    with pytest.raises(DialogStateConflict) as conflict:
        await instance_b.set_if_version(7, 7, "profile", {"by": "b"}, read_by_b.version)
    assert (conflict.value.expected, conflict.value.actual) == (1, 2)
    assert await instance_b.get(7, 7) == DialogState("booking", {"by": "a"}, 2)


async def test_many_concurrent_writers_produce_exactly_one_winner_per_version(
    make_client: ClientFactory,
) -> None:
    stores = [RedisDialogStateStore(await make_client()) for _ in range(4)]
    outcomes = await asyncio.gather(
        *(
            store.set_if_version(9, 9, f"step-{index}", {"writer": index}, expected_version=0)
            for index, store in enumerate(stores)
        ),
        return_exceptions=True,
    )
    winners = [outcome for outcome in outcomes if isinstance(outcome, DialogState)]
    losers = [outcome for outcome in outcomes if isinstance(outcome, DialogStateConflict)]
    assert len(winners) == 1
    assert len(losers) == 3
    assert await stores[0].get(9, 9) == winners[0]


async def test_creating_over_an_existing_state_is_a_conflict(redis_client: RedisCluster) -> None:
    store = RedisDialogStateStore(redis_client)
    await store.set_if_version(1, 1, "x", {}, expected_version=0)
    with pytest.raises(DialogStateConflict):
        await store.set_if_version(1, 1, "y", {}, expected_version=0)


async def test_state_expires_after_its_ttl(redis_client: RedisCluster) -> None:
    store = RedisDialogStateStore(redis_client, ttl_s=1)
    await store.set_if_version(5, 5, "x", {}, expected_version=0)
    ttl_ms = await redis_client.pttl(keys.dialog_state(5, 5))
    assert 0 < ttl_ms <= 1000
    await asyncio.sleep(1.2)
    assert await store.get(5, 5) is None
    # An expired dialog starts over from version 0.
    assert (await store.set_if_version(5, 5, "y", {}, expected_version=0)).version == 1
