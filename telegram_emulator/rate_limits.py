"""Telegram's flood limits: token buckets (per chat, per bot) and a sliding window (per group).

Groups use a window because "20 messages per minute" must hold for every minute; a refilling
bucket of 20 would let almost 40 through in the first one.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class BucketSpec:
    key: str
    rate: float
    capacity: float


@dataclass(frozen=True)
class WindowSpec:
    key: str
    limit: int
    seconds: float


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

    def admit(self, specs: list[BucketSpec], windows: list[WindowSpec] | None = None) -> int | None:
        """Count one send against every limit, or none; return `retry_after` if refused."""
        now = self._clock.now()
        buckets = [self._bucket(spec, now) for spec in specs]
        logs = [self._window(spec, now) for spec in windows or []]
        wait = max(
            [bucket.wait_seconds() for bucket in buckets] + [pause for _, pause in logs],
            default=0.0,
        )
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1.0
        for sent, _ in logs:
            sent.append(now)
        return None

    def clear(self) -> None:
        self._buckets.clear()
        self._windows.clear()
