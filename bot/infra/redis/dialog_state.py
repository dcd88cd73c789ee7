"""Dialog (FSM) state per (chat, user) in Redis Cluster, with optimistic concurrency.

Read on every update by whichever instance receives it (design §4 rule 1). A write names the version
it read; a Lua script on the single key compares and sets atomically, so two instances racing on one
dialog produce one winner and one :class:`DialogStateConflict` instead of a lost update.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio.cluster import RedisCluster

from bot.infra.redis import keys
from bot.services.ports.ephemeral import DialogState, DialogStateConflict, JsonDict

DEFAULT_DIALOG_TTL_S = 24 * 60 * 60

# KEYS[1] state key; ARGV[1] expected version; ARGV[2] new document; ARGV[3] TTL ms.
# Returns {1, new_version} or {0, stored_version}.
_SET_IF_VERSION = """
local stored = redis.call('GET', KEYS[1])
local version = 0
if stored then
  version = tonumber(cjson.decode(stored)['version']) or 0
end
if version ~= tonumber(ARGV[1]) then
  return {0, version}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1, version + 1}
"""


def _decode(raw: bytes | str) -> DialogState:
    document: Any = json.loads(raw)
    return DialogState(
        step=str(document["step"]),
        data=dict(document.get("data") or {}),
        version=int(document["version"]),
    )


class RedisDialogStateStore:
    def __init__(self, redis: RedisCluster, *, ttl_s: int = DEFAULT_DIALOG_TTL_S) -> None:
        if ttl_s <= 0:
            raise ValueError("dialog state TTL must be positive")
        self._redis = redis
        self._ttl_ms = ttl_s * 1000
        self._set_if_version = redis.register_script(_SET_IF_VERSION)

    async def get(self, chat_id: int, user_id: int) -> DialogState | None:
        raw = await self._redis.get(keys.dialog_state(chat_id, user_id))
        if raw is None:
            return None
        return _decode(raw)

    async def set_if_version(
        self, chat_id: int, user_id: int, step: str, data: JsonDict, expected_version: int
    ) -> DialogState:
        new_version = expected_version + 1
        document = json.dumps(
            {"step": step, "data": data, "version": new_version},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        written, version = await self._set_if_version(
            keys=[keys.dialog_state(chat_id, user_id)],
            args=[expected_version, document, self._ttl_ms],
        )
        if not int(written):
            raise DialogStateConflict(chat_id, user_id, expected_version, int(version))
        return DialogState(step=step, data=data, version=new_version)

    async def clear(self, chat_id: int, user_id: int) -> None:
        await self._redis.delete(keys.dialog_state(chat_id, user_id))
