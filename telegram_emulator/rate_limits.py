"""Token buckets for Telegram's flood limits (per chat, per group, per bot overall)."""

from __future__ import annotations

import math
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


@dataclass(frozen=True)
class BucketSpec:
    key: str
    rate: float
    capacity: float


class FloodLimiter:
    """All-or-nothing admission over several buckets: a refused send consumes nothing."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, spec: BucketSpec, now: float) -> _Bucket:
        bucket = self._buckets.get(spec.key)
        if bucket is None or bucket.rate != spec.rate or bucket.capacity != spec.capacity:
            bucket = _Bucket(spec.capacity, spec.rate, spec.capacity, now)
            self._buckets[spec.key] = bucket
        bucket.refill(now)
        return bucket

    def admit(self, specs: list[BucketSpec]) -> int | None:
        """Take one token from every bucket, or none; return `retry_after` seconds if refused."""
        now = self._clock.now()
        buckets = [self._bucket(spec, now) for spec in specs]
        wait = max((bucket.wait_seconds() for bucket in buckets), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1.0
        return None

    def clear(self) -> None:
        self._buckets.clear()
