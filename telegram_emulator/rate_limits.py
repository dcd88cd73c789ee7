"""Telegram's flood limits: token buckets (per chat, per bot) and a sliding window (per group).

Groups use a window because "20 messages per minute" must hold for every minute; a refilling
bucket of 20 would let almost 40 through in the first one.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass

from telegram_emulator.clock import Clock


@dataclass
class _Bucket:
    capacity: float
    rate: float
    tokens: float
    updated_at: float

    def refill(self, now: float) -> None:
        elapsed = max(now - self.updated_at, 0.0)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated_at = now

    def wait_seconds(self) -> float:
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class Limit(enum.StrEnum):
    """Which of a bot's limits a spec is, as its 429 counters name it (``rejected_429_<limit>``)."""

    CHAT = "chat"  # every send, per chat
    GROUP = "group"  # every send to a group, per group
    GLOBAL = "global"  # bulk sends (not replies, not paid), per bot
    PAID = "paid"  # paid broadcasts, per bot
    ALL_SENDS = "all_sends"  # every send whatever its purpose, per bot (only when configured)


class SendKind(enum.StrEnum):
    """What a send is to Telegram's limits (each counted in its own counters)."""

    REPLY = "reply"  # into a chat the bot received an update from: per-chat and group limits only
    BULK = "bulk"  # any other send: also the global rate
    PAID = "paid"  # with allow_paid_broadcast: the paid broadcast rate instead of the global one


@dataclass(frozen=True)
class BucketSpec:
    key: str
    rate: float
    capacity: float
    kind: Limit


@dataclass(frozen=True)
class WindowSpec:
    key: str
    limit: int
    seconds: float
    kind: Limit = Limit.GROUP


@dataclass(frozen=True)
class Refusal:
    """A refused send: ``retry_after`` (whole seconds) and every limit it ran out of."""

    retry_after: int
    limits: frozenset[Limit]


class FloodLimiter:
    """All-or-nothing admission over several limits: a refused send consumes nothing."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._windows: dict[str, deque[float]] = {}

    def _bucket(self, spec: BucketSpec, now: float) -> _Bucket:
        bucket = self._buckets.get(spec.key)
        if bucket is None or bucket.rate != spec.rate or bucket.capacity != spec.capacity:
            bucket = _Bucket(spec.capacity, spec.rate, spec.capacity, now)
            self._buckets[spec.key] = bucket
        bucket.refill(now)
        return bucket

    def _window(self, spec: WindowSpec, now: float) -> tuple[deque[float], float]:
        sent = self._windows.setdefault(spec.key, deque())
        while sent and sent[0] <= now - spec.seconds:
            sent.popleft()
        wait = sent[0] + spec.seconds - now if len(sent) >= spec.limit else 0.0
        return sent, wait

    def admit(
        self, specs: list[BucketSpec], windows: list[WindowSpec] | None = None
    ) -> Refusal | None:
        """Count one send against every limit, or none; a :class:`Refusal` if refused."""
        now = self._clock.now()
        buckets = [(spec.kind, self._bucket(spec, now)) for spec in specs]
        logs = [(spec.kind, *self._window(spec, now)) for spec in windows or []]
        waits = [(limit, bucket.wait_seconds()) for limit, bucket in buckets]
        waits += [(kind, pause) for kind, _, pause in logs]
        exhausted = frozenset(limit for limit, wait in waits if wait > 0)
        if exhausted:
            return Refusal(max(1, math.ceil(max(wait for _, wait in waits))), exhausted)
        for _, bucket in buckets:
            bucket.tokens -= 1.0
        for _, sent, _ in logs:
            sent.append(now)
        return None

    def clear(self) -> None:
        self._buckets.clear()
        self._windows.clear()
