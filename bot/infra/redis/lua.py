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

# An update's de-duplication claim and its sender's flood count in one round trip (both keys
# under the sender's hash tag). KEYS[1]: the update's mark; KEYS[2]: the sender's GCRA TAT (ms).
# ARGV[1]: the processing mark's value; ARGV[2]: its TTL in ms; ARGV[3], ARGV[4]: the GCRA
# emission interval and burst tolerance in ms (as ``GCRA_TRY``). Returns {claim, allowed, wait_ms}:
# claim 0 = begun (the update counted: allowed 1, or 0 with how long to wait), 1 = someone is
# processing it, 2 = done (neither of the last two is counted, as a retry is not a new update).
DEDUP_BEGIN_AND_FLOOD = (
    """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if redis.call('GET', KEYS[1]) == 'done' then
    return {2, 0, 0}
  end
  return {1, 0, 0}
end
"""
    + NOW_MS
    + """
local interval = tonumber(ARGV[3])
local tolerance = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[2]) or now)
if tat < now then tat = now end
local allowed_at = tat - tolerance
if allowed_at > now then
  return {0, 0, allowed_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[2], string.format('%d', new_tat), 'PX', new_tat - now + 1)
return {0, 1, 0}
"""
)
