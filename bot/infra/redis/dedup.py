"""Update de-duplication on ``update_id`` (design §4 rule 2).

``begin`` marks an update ``processing`` with a short TTL (``SET NX``): a retry that finds the mark
answers 5xx so Telegram tries again later, and if the owner died the mark expires so a later retry
takes over. ``finish`` replaces it with ``done`` for a long TTL. ``abort`` (a transient failure)
deletes the mark only if it still carries this claim's token, so a slow owner cannot erase the mark
of the instance that took over after its mark expired. IDs can reset, so nothing compares with a
"last seen" id.

:class:`RedisCountedAdmission` is the web tier's way in for an update with a sender: the mark
lives under the sender's hash tag, beside their flood key, so claiming the update and counting
it against the sender's flood budget is one script, one round trip (design §4 rule 8).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster

from bot.infra.redis import keys
from bot.infra.redis.flood import RedisFloodLimiter
from bot.infra.redis.lua import COMPARE_AND_DELETE, DEDUP_BEGIN_AND_FLOOD
from bot.services.ports.ephemeral import DedupClaim, DedupState, FloodVerdict

DEFAULT_PROCESSING_TTL_S = 30
DEFAULT_DONE_TTL_S = 7 * 24 * 60 * 60

_PROCESSING_PREFIX = "processing:"
_DONE = "done"
# A mark can vanish between our failed SET NX and the GET (its TTL ran out); try again a few times.
_BEGIN_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class KeyedDedupClaim(DedupClaim):
    """A claim whose mark is not at ``keys.update_dedup`` (one under the sender's tag)."""

    key: str = ""


def _mark_key(claim: DedupClaim) -> str:
    if isinstance(claim, KeyedDedupClaim):
        return claim.key
    return keys.update_dedup(claim.update_id)


class RedisUpdateDeduplicator:
    def __init__(
        self,
        redis: RedisCluster,
        *,
        processing_ttl_s: float = DEFAULT_PROCESSING_TTL_S,
        done_ttl_s: float = DEFAULT_DONE_TTL_S,
        flood: RedisFloodLimiter | None = None,
    ) -> None:
        """``flood``: the limiter :meth:`begin_counted` counts new updates against."""
        if processing_ttl_s <= 0 or done_ttl_s <= 0:
            raise ValueError("de-duplication TTLs must be positive")
        self._redis = redis
        self._flood = flood
        self._processing_ttl_ms = int(processing_ttl_s * 1000)
        self._done_ttl_ms = int(done_ttl_s * 1000)
        self._compare_and_delete = redis.register_script(COMPARE_AND_DELETE)
        self._begin_and_flood = redis.register_script(DEDUP_BEGIN_AND_FLOOD)

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
        await self._redis.set(_mark_key(claim), _DONE, px=self._done_ttl_ms)

    async def abort(self, claim: DedupClaim) -> bool:
        _require_owned(claim)
        deleted = await self._compare_and_delete(
            keys=[_mark_key(claim)], args=[_PROCESSING_PREFIX + str(claim.token)]
        )
        return bool(int(deleted))

    async def begin_counted(
        self, update_id: int, sender_id: int
    ) -> tuple[DedupClaim, FloodVerdict | None]:
        """Claim ``update_id`` and, when it is new, count it against ``sender_id``'s flood
        budget, in one round trip; the verdict is None for a retry (in progress or done), which
        is not counted, and without a flood limiter (then this is :meth:`begin`). ``finish`` and
        ``abort`` take the claim as they take ``begin``'s."""
        if self._flood is None:
            return await self.begin(update_id), None
        key = keys.sender_update_dedup(sender_id, update_id)
        token = secrets.token_hex(8)
        interval_ms, tolerance_ms = self._flood.gcra_args
        state, allowed, wait_ms = await self._begin_and_flood(
            keys=[key, keys.user_flood(sender_id)],
            args=[_PROCESSING_PREFIX + token, self._processing_ttl_ms, interval_ms, tolerance_ms],
        )
        if int(state) == 2:
            return DedupClaim(update_id=update_id, state=DedupState.DONE), None
        if int(state) == 1:
            return DedupClaim(update_id=update_id, state=DedupState.IN_PROGRESS), None
        claim = KeyedDedupClaim(update_id=update_id, state=DedupState.BEGUN, token=token, key=key)
        if int(allowed):
            return claim, FloodVerdict(allowed=True)
        return claim, FloodVerdict(allowed=False, retry_after_s=int(wait_ms) / 1000)


def _require_owned(claim: DedupClaim) -> None:
    if claim.state is not DedupState.BEGUN or claim.token is None:
        raise ValueError(f"update {claim.update_id} was not begun by this caller ({claim.state})")
