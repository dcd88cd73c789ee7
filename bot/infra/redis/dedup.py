"""Update de-duplication on ``update_id`` (design §4 rule 2).

``begin`` marks an update ``processing`` with a short TTL (``SET NX``): a retry that finds the mark
answers 5xx so Telegram tries again later, and if the owner died the mark expires so a later retry
takes over. ``finish`` replaces it with ``done`` for a long TTL. ``abort`` (a transient failure)
deletes the mark only if it still carries this claim's token, so a slow owner cannot erase the mark
of the instance that took over after its mark expired. IDs can reset, so nothing compares with a
"last seen" id.
"""

from __future__ import annotations

import secrets

from redis.asyncio.cluster import RedisCluster

from bot.infra.redis import keys
from bot.infra.redis.lua import COMPARE_AND_DELETE
from bot.services.ports.ephemeral import DedupClaim, DedupState

DEFAULT_PROCESSING_TTL_S = 30
DEFAULT_DONE_TTL_S = 7 * 24 * 60 * 60

_PROCESSING_PREFIX = "processing:"
_DONE = "done"
# A mark can vanish between our failed SET NX and the GET (its TTL ran out); try again a few times.
_BEGIN_ATTEMPTS = 3


class RedisUpdateDeduplicator:
    def __init__(
        self,
        redis: RedisCluster,
        *,
        processing_ttl_s: float = DEFAULT_PROCESSING_TTL_S,
        done_ttl_s: float = DEFAULT_DONE_TTL_S,
    ) -> None:
        if processing_ttl_s <= 0 or done_ttl_s <= 0:
            raise ValueError("de-duplication TTLs must be positive")
        self._redis = redis
        self._processing_ttl_ms = int(processing_ttl_s * 1000)
        self._done_ttl_ms = int(done_ttl_s * 1000)
        self._compare_and_delete = redis.register_script(COMPARE_AND_DELETE)

    async def begin(self, update_id: int) -> DedupClaim:
        key = keys.update_dedup(update_id)
        for _ in range(_BEGIN_ATTEMPTS):
            token = secrets.token_hex(8)
            marked = await self._redis.set(
                key, _PROCESSING_PREFIX + token, nx=True, px=self._processing_ttl_ms
            )
            if marked:
                return DedupClaim(update_id=update_id, state=DedupState.BEGUN, token=token)
            existing = await self._redis.get(key)
            if existing == _DONE:
                return DedupClaim(update_id=update_id, state=DedupState.DONE)
            if existing is not None:
                return DedupClaim(update_id=update_id, state=DedupState.IN_PROGRESS)
        # The mark keeps appearing and vanishing: someone is actively working on it.
        return DedupClaim(update_id=update_id, state=DedupState.IN_PROGRESS)

    async def finish(self, claim: DedupClaim) -> None:
        _require_owned(claim)
        await self._redis.set(keys.update_dedup(claim.update_id), _DONE, px=self._done_ttl_ms)

    async def abort(self, claim: DedupClaim) -> bool:
        _require_owned(claim)
        deleted = await self._compare_and_delete(
            keys=[keys.update_dedup(claim.update_id)],
            args=[_PROCESSING_PREFIX + str(claim.token)],
        )
        return bool(int(deleted))


def _require_owned(claim: DedupClaim) -> None:
    if claim.state is not DedupState.BEGUN or claim.token is None:
        raise ValueError(f"update {claim.update_id} was not begun by this caller ({claim.state})")
