"""Inbound flood control per user: at most ``limit`` updates per ``window_s`` (GCRA on one key).

GCRA keeps one timestamp per user instead of a list of hits, allows a burst of ``limit`` and then
one update per ``window_s / limit``. A refused hit does not consume budget, so a throttled user gets
through again as soon as the returned wait has passed; other users' keys are untouched.
"""

from __future__ import annotations

from redis.asyncio.cluster import RedisCluster

from bot.infra.redis import keys
from bot.infra.redis.lua import GCRA_TRY
from bot.services.ports.ephemeral import FloodVerdict

DEFAULT_FLOOD_LIMIT = 20
DEFAULT_FLOOD_WINDOW_S = 10.0


class RedisFloodLimiter:
    def __init__(
        self,
        redis: RedisCluster,
        *,
        limit: int = DEFAULT_FLOOD_LIMIT,
        window_s: float = DEFAULT_FLOOD_WINDOW_S,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("flood limit and window must be positive")
        self._redis = redis
        self._interval_ms = max(1, round(window_s * 1000 / limit))
        self._tolerance_ms = self._interval_ms * (limit - 1)
        self._gcra = redis.register_script(GCRA_TRY)

    @property
    def gcra_args(self) -> tuple[int, int]:
        """The emission interval and burst tolerance (ms) the GCRA scripts take."""
        return self._interval_ms, self._tolerance_ms

    async def hit(self, user_id: int) -> FloodVerdict:
        allowed, wait_ms = await self._gcra(
            keys=[keys.user_flood(user_id)], args=[self._interval_ms, self._tolerance_ms]
        )
        if int(allowed):
            return FloodVerdict(allowed=True)
        return FloodVerdict(allowed=False, retry_after_s=int(wait_ms) / 1000)
