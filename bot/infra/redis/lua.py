"""Lua sources shared by several adapters.

Each script touches one key, or keys of one hash tag, so it runs on one cluster node atomically
(design §4 rule 8). Time comes from the Redis server (``TIME``) rather than from each process, so
instances with skewed clocks still agree on rate limits; since Redis 7 scripts replicate by effects,
so reading ``TIME`` before a write is allowed.
"""

from __future__ import annotations

# Milliseconds since the epoch on the Redis server (fits a Lua double exactly).
NOW_MS = """
local server_time = redis.call('TIME')
local now = tonumber(server_time[1]) * 1000 + math.floor(tonumber(server_time[2]) / 1000)
"""

# Delete KEYS[1] only if it still holds ARGV[1] (an owner token): 1 when deleted, else 0.
COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# GCRA (generic cell rate algorithm) that does not consume on refusal.
# KEYS[1]: the theoretical arrival time (TAT) in ms; ARGV[1]: emission interval ms; ARGV[2]:
# burst tolerance ms (0 = strictly one per interval). Returns {1, 0} when allowed (and consumed) or
# {0, wait_ms} with how long until the next call would be allowed.
GCRA_TRY = (
    NOW_MS
    + """
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat - tolerance
if allowed_at > now then
  return {0, allowed_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', new_tat - now + 1)
return {1, 0}
"""
)
