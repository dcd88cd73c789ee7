"""In-memory fakes of ``bot.services.ports.ephemeral`` for unit tests of services and handlers.

Same semantics as the Redis adapters in ``bot.infra.redis`` (versions and conflicts, TTLs, owner
tokens, GCRA budgets, pauses, bounded waits), in one process and on a clock the test moves by hand:
:class:`ManualSeconds`. Its ``sleep`` advances the clock instead of waiting, so a limiter wait of
30 s costs nothing in a unit test. Stored dialog data goes through a JSON round trip, as it does in
Redis, so a handler that puts something unserialisable into its state fails here too.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.services.ports.ephemeral import (
    DedupClaim,
    DedupState,
    DialogState,
    DialogStateConflict,
    FloodVerdict,
    JsonDict,
    LockLease,
    OutboundWaitTooLong,
)

Now = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class ManualSeconds:
    """A monotonic clock in seconds that only moves when told (``advance`` or ``sleep``)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(max(0.0, seconds))


class _Expiring:
    """Values with deadlines, like Redis keys with a TTL."""

    def __init__(self, now: Now) -> None:
        self._now = now
        self._items: dict[object, tuple[object, float]] = {}

    def get(self, key: object) -> object | None:
        item = self._items.get(key)
        if item is None:
            return None
        value, expires_at = item
        if self._now() >= expires_at:
            del self._items[key]
            return None
        return value

    def set(self, key: object, value: object, ttl_s: float) -> None:
        self._items[key] = (value, self._now() + ttl_s)

    def set_nx(self, key: object, value: object, ttl_s: float) -> bool:
        if self.get(key) is not None:
            return False
        self.set(key, value, ttl_s)
        return True

    def delete(self, key: object) -> None:
        self._items.pop(key, None)

    def ttl_s(self, key: object) -> float | None:
        if self.get(key) is None:
            return None
        return self._items[key][1] - self._now()


class InMemoryDialogStateStore:
    def __init__(self, *, ttl_s: float = 24 * 60 * 60, now: Now = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._states = _Expiring(now)
        self.writes = 0  # successful writes, for tests that count round trips

    async def get(self, chat_id: int, user_id: int) -> DialogState | None:
        raw = self._states.get((chat_id, user_id))
        if raw is None:
            return None
        document = json.loads(str(raw))
        return DialogState(document["step"], document["data"], document["version"])

    async def set_if_version(
        self, chat_id: int, user_id: int, step: str, data: JsonDict, expected_version: int
    ) -> DialogState:
        current = await self.get(chat_id, user_id)
        actual = current.version if current is not None else 0
        if actual != expected_version:
            raise DialogStateConflict(chat_id, user_id, expected_version, actual)
        document = {"step": step, "data": data, "version": expected_version + 1}
        raw = json.dumps(document, ensure_ascii=False)  # fails like Redis would on bad data
        self._states.set((chat_id, user_id), raw, self._ttl_s)
        self.writes += 1
        return DialogState(step, json.loads(raw)["data"], expected_version + 1)

    async def clear(self, chat_id: int, user_id: int) -> None:
        self._states.delete((chat_id, user_id))


class InMemoryUpdateDeduplicator:
    def __init__(
        self,
        *,
        processing_ttl_s: float = 30,
        done_ttl_s: float = 7 * 24 * 60 * 60,
        now: Now = time.monotonic,
    ) -> None:
        self._processing_ttl_s = processing_ttl_s
        self._done_ttl_s = done_ttl_s
        self._marks = _Expiring(now)

    async def begin(self, update_id: int) -> DedupClaim:
        token = secrets.token_hex(8)
        if self._marks.set_nx(update_id, f"processing:{token}", self._processing_ttl_s):
            return DedupClaim(update_id, DedupState.BEGUN, token)
        if self._marks.get(update_id) == "done":
            return DedupClaim(update_id, DedupState.DONE)
        return DedupClaim(update_id, DedupState.IN_PROGRESS)

    async def finish(self, claim: DedupClaim) -> None:
        _require_owned(claim)
        self._marks.set(claim.update_id, "done", self._done_ttl_s)

    async def abort(self, claim: DedupClaim) -> bool:
        _require_owned(claim)
        if self._marks.get(claim.update_id) != f"processing:{claim.token}":
            return False
        self._marks.delete(claim.update_id)
        return True


def _require_owned(claim: DedupClaim) -> None:
    if claim.state is not DedupState.BEGUN or claim.token is None:
        raise ValueError(f"update {claim.update_id} was not begun by this caller ({claim.state})")


class InMemoryFloodLimiter:
    """GCRA like ``RedisFloodLimiter``: a burst of ``limit``, then ``limit`` per ``window_s``."""

    def __init__(self, *, limit: int = 20, window_s: float = 10.0, now: Now = time.monotonic):
        self._interval_s = window_s / limit
        self._tolerance_s = self._interval_s * (limit - 1)
        self._now = now
        self._tat: dict[int, float] = {}

    async def hit(self, user_id: int) -> FloodVerdict:
        now = self._now()
        tat = max(self._tat.get(user_id, now), now)
        allowed_at = tat - self._tolerance_s
        if allowed_at > now:
            return FloodVerdict(allowed=False, retry_after_s=allowed_at - now)
        self._tat[user_id] = tat + self._interval_s
        return FloodVerdict(allowed=True)


@dataclass
class InMemoryOutboundLimiter:
    """The cluster-wide limiter's rules for one process: per-chat and per-group spacing, a global
    rate, a shared pause and a bounded wait. ``sent`` records (chat_id, is_group, time) per send.
    """

    now: Now = time.monotonic
    sleep: Sleep | None = None
    chat_interval_s: float = 1.0
    group_interval_s: float = 3.0
    global_rate_per_s: float = 25.0
    max_wait_s: float = 30.0
    sent: list[tuple[int | str, bool, float]] = field(default_factory=list)
    pauses: list[float] = field(default_factory=list)
    _chat_tat: dict[int | str, float] = field(default_factory=dict)
    _global_tat: float = -math.inf
    _paused_until: float = -math.inf

    async def acquire(self, chat_id: int | str, is_group: bool) -> float:
        now = self.now()
        send_at = max(now, self._chat_tat.get(chat_id, now), self._global_tat, self._paused_until)
        wait_s = send_at - now
        if wait_s > self.max_wait_s:
            raise OutboundWaitTooLong(chat_id, wait_s)
        self._chat_tat[chat_id] = send_at + (
            self.group_interval_s if is_group else self.chat_interval_s
        )
        self._global_tat = send_at + 1 / self.global_rate_per_s
        if wait_s > 0:
            await (self.sleep or asyncio.sleep)(wait_s)
        self.sent.append((chat_id, is_group, send_at))
        return wait_s

    async def answered(self, chat_id: int | str, is_group: bool, after_s: float) -> None:
        interval_s = self.group_interval_s if is_group else self.chat_interval_s
        next_at = self.now() + interval_s
        if after_s > 0 and self._chat_tat.get(chat_id, -math.inf) < next_at:
            self._chat_tat[chat_id] = next_at

    async def pause_all(self, retry_after_s: float) -> None:
        self.pauses.append(retry_after_s)
        self._paused_until = max(self._paused_until, self.now() + retry_after_s)


@dataclass(frozen=True)
class InMemoryLockLease:
    name: str
    token: str


class InMemoryDistributedLock:
    def __init__(self, *, now: Now = time.monotonic) -> None:
        self._holders = _Expiring(now)

    async def try_acquire(self, name: str, ttl_s: float) -> InMemoryLockLease | None:
        if ttl_s <= 0:
            raise ValueError("lock TTL must be positive")
        token = secrets.token_hex(16)
        if not self._holders.set_nx(name, token, ttl_s):
            return None
        return InMemoryLockLease(name, token)

    async def release(self, lease: LockLease) -> bool:
        if self._holders.get(lease.name) != lease.token:
            return False
        self._holders.delete(lease.name)
        return True
