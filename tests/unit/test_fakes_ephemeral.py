"""The in-memory fakes behave like the Redis adapters (the same cases as the integration tests)."""

from __future__ import annotations

import itertools

import pytest

from bot.services.ports.ephemeral import (
    DedupState,
    DialogState,
    DialogStateConflict,
    DialogStateStore,
    DistributedLock,
    FloodLimiter,
    OutboundLimiter,
    OutboundWaitTooLong,
    UpdateDeduplicator,
)
from tests.fakes.ephemeral import (
    InMemoryDialogStateStore,
    InMemoryDistributedLock,
    InMemoryFloodLimiter,
    InMemoryOutboundLimiter,
    InMemoryUpdateDeduplicator,
    ManualSeconds,
)


def test_fakes_satisfy_the_ports() -> None:
    clock = ManualSeconds()
    ports: tuple[
        DialogStateStore, UpdateDeduplicator, FloodLimiter, OutboundLimiter, DistributedLock
    ] = (
        InMemoryDialogStateStore(now=clock),
        InMemoryUpdateDeduplicator(now=clock),
        InMemoryFloodLimiter(now=clock),
        InMemoryOutboundLimiter(now=clock, sleep=clock.sleep),
        InMemoryDistributedLock(now=clock),
    )
    assert len(ports) == 5


async def test_dialog_state_versions_conflicts_isolation_and_ttl() -> None:
    clock = ManualSeconds()
    store = InMemoryDialogStateStore(ttl_s=60, now=clock)
    first = await store.set_if_version(1, 10, "ask_name", {"lang": "ru"}, 0)
    assert first == DialogState("ask_name", {"lang": "ru"}, 1)
    assert await store.get(1, 11) is None
    assert await store.get(2, 10) is None

    with pytest.raises(DialogStateConflict) as conflict:
        await store.set_if_version(1, 10, "stale", {}, 0)
    assert (conflict.value.expected, conflict.value.actual) == (0, 1)

    clock.advance(61)
    assert await store.get(1, 10) is None
    assert (await store.set_if_version(1, 10, "again", {}, 0)).version == 1


async def test_dialog_state_data_must_be_json() -> None:
    store = InMemoryDialogStateStore()
    with pytest.raises(TypeError):
        await store.set_if_version(1, 1, "x", {"when": object()}, 0)
    stored = await store.set_if_version(1, 1, "x", {"ids": (1, 2)}, 0)
    assert stored.data == {"ids": [1, 2]}  # what a JSON round trip gives back, as in Redis


async def test_dedup_states_owner_only_abort_and_takeover() -> None:
    clock = ManualSeconds()
    dedup = InMemoryUpdateDeduplicator(processing_ttl_s=30, now=clock)
    first = await dedup.begin(5)
    assert first.state is DedupState.BEGUN
    assert (await dedup.begin(5)).state is DedupState.IN_PROGRESS

    clock.advance(31)
    takeover = await dedup.begin(5)
    assert takeover.state is DedupState.BEGUN
    assert await dedup.abort(first) is False
    await dedup.finish(takeover)
    assert (await dedup.begin(5)).state is DedupState.DONE

    with pytest.raises(ValueError, match="not begun"):
        await dedup.finish(await dedup.begin(5))

    retry = await dedup.begin(6)
    assert await dedup.abort(retry) is True
    assert (await dedup.begin(6)).state is DedupState.BEGUN


async def test_flood_limiter_throttles_one_user_only() -> None:
    clock = ManualSeconds()
    flood = InMemoryFloodLimiter(limit=3, window_s=3.0, now=clock)
    assert [(await flood.hit(1)).allowed for _ in range(4)] == [True, True, True, False]
    throttled = await flood.hit(1)
    assert throttled.retry_after_s == pytest.approx(1.0)
    assert (await flood.hit(2)).allowed
    clock.advance(1.0)
    assert (await flood.hit(1)).allowed


async def test_outbound_limiter_spacing_global_rate_pause_and_bound() -> None:
    clock = ManualSeconds()
    limiter = InMemoryOutboundLimiter(now=clock, sleep=clock.sleep, global_rate_per_s=10)
    for _ in range(3):
        await limiter.acquire(7, is_group=False)
    times = [at for _, _, at in limiter.sent]
    assert [b - a for a, b in itertools.pairwise(times)] == [1.0, 1.0]

    await limiter.acquire(-100, is_group=True)
    await limiter.acquire(-100, is_group=True)
    group_times = [at for chat, _, at in limiter.sent if chat == -100]
    assert group_times[1] - group_times[0] == pytest.approx(3.0)

    start = clock()
    for chat in range(100, 110):
        await limiter.acquire(chat, is_group=False)
    assert clock() - start == pytest.approx(0.9, abs=0.11)  # ten sends at 10/s

    await limiter.pause_all(5)
    waited = await limiter.acquire(999, is_group=False)
    assert waited == pytest.approx(5.0)

    limiter.max_wait_s = 0.5
    with pytest.raises(OutboundWaitTooLong):
        await limiter.acquire(999, is_group=False)


async def test_lock_exclusive_expiring_and_owner_release() -> None:
    clock = ManualSeconds()
    lock = InMemoryDistributedLock(now=clock)
    lease = await lock.try_acquire("beat", 10)
    assert lease is not None
    assert await lock.try_acquire("beat", 10) is None
    clock.advance(11)
    newer = await lock.try_acquire("beat", 10)
    assert newer is not None
    assert await lock.release(lease) is False
    assert await lock.release(newer) is True
