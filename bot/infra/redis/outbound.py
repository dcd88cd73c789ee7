"""The cluster-wide outbound send limiter (design §4 rule 5).

Every bot instance and Celery worker calls :meth:`RedisOutboundLimiter.acquire` right before a Bot
API send, so Telegram sees one well-behaved sender instead of several independent ones:

* per chat, for every send: at most one message per ``chat_interval_s`` (1 s); per group chat one
  per ``group_interval_s`` (3 s, which is what "20 messages per minute" allows without a burst: any
  burst would put more than 20 into some sliding minute);
* globally, for the sends of one :class:`SendPurpose` that has a global budget: at most
  ``global_rate_per_s`` in any second as Telegram counts the requests arriving. The budget is a
  sliding window over the reserved slots: at most ``floor(rate)`` slots within any window of
  1 s + ``global_jitter_s``. The sends arriving within one second had their slots within 1 s plus
  the spread of their delays on the way (a late wake-up, the network), so while that spread stays
  within ``global_jitter_s`` (``LIMITS_GLOBAL_SEND_JITTER_SECONDS``) no second holds more than
  the budget. No pacing can sustain more than
  ``rate / (1 + spread)`` under that guarantee, whatever the shape of its slots (the fixed interval
  of ``(1 s + safety_margin_s / 2) / rate`` used before gave exactly that with a 50 ms spread);
  25 ms allows 29.3/s of 30. Slots are at least ``1 / (rate * global_catch_up)`` apart (twice the
  rate by default): after a lull (a sender busy with its database, a stalled process) the
  window's unused sends catch up instead of being lost for good, as with a fixed interval. The
  price: with a standing backlog each window's sends go at up to twice the rate and the next
  window's wait for it, so a process stalled at the start of a window bunches twice as many
  sends as with even pacing (the emulator's busiest second shows it on a loaded machine; its
  flood limit, a bucket, never refused one: docs/benchmarks.md).
  Telegram's ~30 messages a second is a limit on *bulk* sends, what the bot sends on its own
  (notices, reminders, seat offers, broadcasts, reports: the Celery workers), so
  :attr:`SendPurpose.BULK` has the budget (``LIMITS_GLOBAL_SENDS_PER_SECOND``, 25/s; a paid
  broadcast's faster one takes its slots from the same key). Replies into the chat of the update
  being handled (:attr:`SendPurpose.REPLY`, the web tier) obey only the per-chat and group limits:
  ``global_rate_per_s=None``, no global step. ``LIMITS_REPLY_SENDS_PER_SECOND`` can cap them
  cluster-wide all the same, with a budget key of its own, so replies never spend the bulk budget
  and bulk sends never spend theirs;
* after a 429 anywhere, :meth:`pause_all` stores a pause key with the ``retry_after`` TTL and every
  process holds its sends until it expires, replies and bulk sends alike.

Both budgets are *reservations* whose slots may lie in the future (GCRA per chat, a log of slots
for the global window): a sender gets the next free slot and sleeps until then, so waiting
senders queue first come, first served and never poll each other (no thundering herd, three Redis
calls per send at most in the common cases). The two budgets live in different hash slots (per-chat keys under ``{chat:<id>}``,
the global keys and the pause under ``{out}``), so no script may touch both (design §4 rule 8).
They are combined like this, so that both limits hold at the moment a request leaves:

1. Reserve the chat's next slot and sleep until it.
2. Reserve a global slot (without a global budget: only look at the pause; the "slot" is now). If
   it is due within ``inline_wait_s`` of the chat slot, sleep and send.
3. Otherwise (a global backlog, or a pause that has just ended) move the chat reservation to the
   global slot: if nobody queued behind us in that chat, our old slot is given back and the new one
   starts exactly at the global slot, so sleep and send. If the chat is busy until later, give the
   global slot back if still possible, sleep until the new chat slot, and go to step 2.

Each send therefore happens at a global slot and at most ``inline_wait_s`` after one of its chat's
slots; chat slots are ``interval + safety_margin_s`` apart, and ``inline_wait_s`` is half the margin,
leaving the other half for event-loop and network jitter. When a request was answered later than
that (``answered``, called by the request path after every limited send), the jitter may have been
larger, so the chat's next slot is pushed to one interval after the answer: per chat the limit then
holds by causality, however late the request left.

Trade-offs (fairness): per chat the order is FIFO; globally it is FIFO among senders that reserve,
except that a sender coming back from a pause reserves in whatever order it wakes (jittered). A
global slot can go unused when its chat turns out to be busy (the budget is then under-used, never
exceeded). Concurrent messages to one chat may leave in a different order than they asked when
one of them had to move its slot; sequential sends (awaiting one before the next) keep their order.
A sender never waits longer than ``max_wait_s``: it gets :class:`OutboundWaitTooLong` at once
(nothing stays reserved) and its caller (a Celery task with its own retry policy, or a handler that
can tell the user) decides. The ``{out}`` keys are one hot slot; every send reads the pause there
(one call), and a budget's GCRA costs nothing more at the rates Telegram allows.
Time is the Redis server's; waits cross nodes only as relative durations, never as absolute times,
so clock differences between cluster nodes do not matter.
"""

from __future__ import annotations

import asyncio
import enum
import math
import random
import time
from dataclasses import dataclass

from redis.asyncio.cluster import RedisCluster

from bot.infra.redis import keys
from bot.infra.redis.lua import NOW_MS
from bot.services.ports.ephemeral import OutboundWaitTooLong


class SendPurpose(enum.StrEnum):
    """Why a process sends, which decides the global budget its sends are counted against."""

    # Into the chat of the update being handled (the web tier): per-chat and group limits only,
    # or the optional cap LIMITS_REPLY_SENDS_PER_SECOND with a budget key of its own.
    REPLY = "reply"
    # What the bot sends on its own (the workers: notices, reminders, seat offers, broadcasts,
    # reports): Telegram's ~30/s, LIMITS_GLOBAL_SENDS_PER_SECOND.
    BULK = "bulk"


@dataclass(frozen=True, slots=True)
class OutboundLimits:
    chat_interval_s: float = 1.0
    group_interval_s: float = 3.0
    # None: no global step at all (only the per-chat and group slots and the cluster-wide pause).
    global_rate_per_s: float | None = 25.0
    # How much later one send may reach Telegram than another, each measured from its slot,
    # without any second as Telegram counts holding more than the budget: added to the edge of
    # the global window (1 s, or 1/rate below 1/s), not to every slot.
    global_jitter_s: float = 0.025
    # Slots at least 1 / (rate * this) apart: after a lull (a sender busy with its database, a
    # stall) the window's unused sends go at up to this many times the rate, so each window's
    # budget is spent, not lost; with a backlog too, each window's sends go first at this pace.
    global_catch_up: float = 2.0
    # Added to every per-chat interval; half of it lets a short global wait be slept inline, the
    # other half absorbs jitter between the Redis decision and the request reaching Telegram.
    safety_margin_s: float = 0.1
    max_wait_s: float = 30.0
    # Spread of the wake-up after a cluster-wide pause, so waiting senders do not all call at once.
    pause_jitter_s: float = 0.05

    def __post_init__(self) -> None:
        rates = [self.chat_interval_s, self.group_interval_s]
        if self.global_rate_per_s is not None:
            rates.append(self.global_rate_per_s)
        if min(rates) <= 0:
            raise ValueError("outbound intervals and rates must be positive")
        if self.safety_margin_s < 0 or self.max_wait_s <= 0 or self.global_jitter_s < 0:
            raise ValueError("invalid outbound limiter bounds")
        if self.global_catch_up < 1:
            raise ValueError("the global catch-up factor is at least 1")
        if self.pause_jitter_s < 0:
            raise ValueError("pause jitter must not be negative")

    @property
    def inline_wait_s(self) -> float:
        return self.safety_margin_s / 2

    @property
    def global_window(self) -> tuple[int, float] | None:
        """The global budget as (sends, per seconds): the most sends whose slots fall within any
        window that long, before the edge margin. ``floor(rate)`` per second, or one per
        ``1/rate`` seconds below one a second."""
        rate = self.global_rate_per_s
        if rate is None:
            return None
        seconds = max(1.0, 1.0 / rate)
        return max(1, math.floor(rate * seconds + 1e-9)), seconds


# KEYS[1] chat budget (its value: the end of the last reserved slot, server ms).
# ARGV[1] interval ms, ARGV[2] longest acceptable wait ms, ARGV[3] earliest slot, ms from now,
# ARGV[4] end of the caller's previous reservation to give back if nobody reserved after it (0: none).
# Returns {reserved 0|1, wait ms, end of the new reservation, 1 if the slot starts exactly at
# "earliest"}. A refusal reserves nothing (but still gives the previous reservation back).
_RESERVE_CHAT_SLOT = (
    NOW_MS
    + """
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local not_before = now + tonumber(ARGV[3])
local previous_end = tonumber(ARGV[4])
local stored = tonumber(redis.call('GET', KEYS[1]) or 0)
local base = stored
local released = false
if previous_end > 0 and stored == previous_end then
  base = previous_end - interval
  released = true
end
local tat = base
if tat < now then tat = now end
local slot = tat
local aligned = 0
if not_before >= slot then
  slot = not_before
  aligned = 1
end
if slot - now > max_wait then
  if released and base > now then
    redis.call('SET', KEYS[1], string.format('%d', base), 'PX', base - now + 1)
  elseif released then
    redis.call('DEL', KEYS[1])
  end
  return {0, slot - now, 0, 0}
end
local slot_end = slot + interval
redis.call('SET', KEYS[1], string.format('%d', slot_end), 'PX', slot_end - now + 1)
return {1, slot - now, slot_end, aligned}
"""
)

# KEYS[1] global budget: the log of reserved slot times (server ms, oldest first, a list), KEYS[2]
# global pause (same hash tag). ARGV[1] window ms (the counting window plus the edge margin),
# ARGV[2] sends per window, ARGV[3] least spacing ms between two slots, ARGV[4] longest acceptable
# wait ms, ARGV[5] entries kept beyond one window's worth (so that a slot given back never takes a
# still-counted one with it). The next slot is the earliest at or after now that is at least the
# spacing after the newest slot and a whole window after the one ``sends per window`` back, so no
# window holds more. Returns {0, pause ms left, 0, 0} while paused, {1, wait ms, slot, slot} when
# reserved, {2, wait ms, 0, 0} when the wait would be too long (nothing reserved).
_RESERVE_GLOBAL_SLOT = (
    """
local paused_ms = redis.call('PTTL', KEYS[2])
if paused_ms > 0 then
  return {0, paused_ms, 0, 0}
end
"""
    + NOW_MS
    + """
local window = tonumber(ARGV[1])
local per_window = tonumber(ARGV[2])
local spacing = tonumber(ARGV[3])
local max_wait = tonumber(ARGV[4])
local slot = now
local logged = redis.call('LLEN', KEYS[1])
if logged > 0 then
  local newest = tonumber(redis.call('LINDEX', KEYS[1], -1))
  if newest + spacing > slot then slot = newest + spacing end
  if logged >= per_window then
    local window_back = tonumber(redis.call('LINDEX', KEYS[1], -per_window))
    if window_back + window > slot then slot = window_back + window end
  end
end
if slot - now > max_wait then
  return {2, slot - now, 0, 0}
end
redis.call('RPUSH', KEYS[1], string.format('%d', slot))
redis.call('LTRIM', KEYS[1], -(per_window + tonumber(ARGV[5])), -1)
redis.call('PEXPIRE', KEYS[1], slot - now + window + 1)
return {1, slot - now, slot, slot}
"""
)

# KEYS[1] global budget (the log); ARGV[1] the slot, ARGV[2] sends per window. Gives the slot back
# when nobody reserved after it, unless that could drop a slot that still counts: a log longer
# than one window's worth keeps every counted slot after the pop, a shorter one was never trimmed.
# 1 when given back.
_RELEASE_GLOBAL_SLOT = """
local logged = redis.call('LLEN', KEYS[1])
local per_window = tonumber(ARGV[2])
local newest = tonumber(redis.call('LINDEX', KEYS[1], -1) or -1)
if logged ~= per_window and newest == tonumber(ARGV[1]) then
  redis.call('RPOP', KEYS[1])
  return 1
end
return 0
"""

# KEYS[1] global pause; the ARGV of _RESERVE_GLOBAL_SLOT, unused. The global step of a purpose
# without a global budget: {0, pause ms left, 0, 0} while paused, else {1, 0, 0, now}.
_AWAIT_PAUSE = (
    """
local paused_ms = redis.call('PTTL', KEYS[1])
if paused_ms > 0 then
  return {0, paused_ms, 0, 0}
end
"""
    + NOW_MS
    + """
return {1, 0, 0, now}
"""
)

# KEYS[1] a chat budget; ARGV[1] end of a reservation, ARGV[2] interval ms. Gives the slot back
# when nobody reserved after it (the stored end is still ours); 1 when given back.
_RELEASE_SLOT = """
if tonumber(redis.call('GET', KEYS[1]) or 0) == tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], string.format('%d', tonumber(ARGV[1]) - tonumber(ARGV[2])), 'KEEPTTL')
  return 1
end
return 0
"""

# KEYS[1] chat budget; ARGV[1] interval ms. A send was answered late: the chat's next slot starts
# no earlier than one interval from now (never moved earlier).
_SPACE_FROM_NOW = (
    NOW_MS
    + """
local target = now + tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or 0) < target then
  redis.call('SET', KEYS[1], string.format('%d', target), 'PX', target - now + 1)
end
return 0
"""
)

# KEYS[1] pause key; ARGV[1] pause ms. Only ever lengthens a pause already in place.
_PAUSE = """
local remaining = redis.call('PTTL', KEYS[1])
local wanted = tonumber(ARGV[1])
if remaining < wanted then
  redis.call('SET', KEYS[1], '1', 'PX', wanted)
  return wanted
end
return remaining
"""

_PAUSED, _RESERVED = 0, 1
# Slots the global log keeps beyond one window's worth: as many senders in a row as may give theirs
# back without the log forgetting a slot that still counts (more are simply not given back).
_LOG_SPARE = 64


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


@dataclass(frozen=True, slots=True)
class OutboundGrant:
    """What one :meth:`RedisOutboundLimiter.acquire_grant` was let go with.

    The slots are the reservations the send used, in server milliseconds (each on the clock of the
    node holding its key): the limits hold on these, whatever the caller's wake-up jitter. Without a
    global budget, ``global_slot_ms`` is when the send passed the pause check.
    """

    waited_s: float
    chat_slot_ms: int
    global_slot_ms: int


def budget_log_key(purpose: SendPurpose) -> str:
    """The log of a purpose's global slots. Beside, not in, the key under which the previous
    version kept one time (a string): workers of both versions during a rolling restart never
    read the other's format."""
    base = (
        keys.reply_outbound_budget()
        if purpose is SendPurpose.REPLY
        else keys.global_outbound_budget()
    )
    return f"{base}-log"


class RedisOutboundLimiter:
    """The limiter for the sends of one ``purpose``: its global budget key when it has a rate."""

    def __init__(
        self,
        redis: RedisCluster,
        limits: OutboundLimits | None = None,
        purpose: SendPurpose = SendPurpose.BULK,
    ) -> None:
        self._redis = redis
        self._limits = limits or OutboundLimits()
        self._purpose = purpose
        margin_s = self._limits.safety_margin_s
        self._chat_interval_ms = _ms(self._limits.chat_interval_s + margin_s)
        self._group_interval_ms = _ms(self._limits.group_interval_s + margin_s)
        window = self._limits.global_window
        if window is None:
            self._per_window = 0
            self._global_args = [0, 0, 0]
            self._budget_key: str | None = None
            self._global_keys = [keys.global_outbound_pause()]
            self._reserve_global_slot = redis.register_script(_AWAIT_PAUSE)
        else:
            # At most `per_window` slots within any window of `seconds` plus the edge margin: a
            # second as Telegram counts the arrivals can then only hold sends whose slots lie
            # within one such window, however their delays on the way differ (up to the margin).
            self._per_window, seconds = window
            spacing_ms = max(
                1, math.floor(seconds / self._per_window / self._limits.global_catch_up * 1000)
            )
            self._global_args = [
                _ms(seconds + self._limits.global_jitter_s),
                self._per_window,
                spacing_ms,
            ]
            self._budget_key = budget_log_key(purpose)
            self._global_keys = [self._budget_key, keys.global_outbound_pause()]
            self._reserve_global_slot = redis.register_script(_RESERVE_GLOBAL_SLOT)
        self._release_global_slot = redis.register_script(_RELEASE_GLOBAL_SLOT)
        self._reserve_chat_slot = redis.register_script(_RESERVE_CHAT_SLOT)
        self._space_from_now = redis.register_script(_SPACE_FROM_NOW)
        self._release_slot = redis.register_script(_RELEASE_SLOT)
        self._pause = redis.register_script(_PAUSE)

    @property
    def limits(self) -> OutboundLimits:
        return self._limits

    @property
    def purpose(self) -> SendPurpose:
        return self._purpose

    async def acquire(self, chat_id: int | str, is_group: bool) -> float:
        return (await self.acquire_grant(chat_id, is_group)).waited_s

    async def acquire_grant(self, chat_id: int | str, is_group: bool) -> OutboundGrant:
        """:meth:`acquire`, also telling which chat and global slots the send was given."""
        started = time.monotonic()
        deadline = started + self._limits.max_wait_s
        chat_key = keys.chat_outbound(chat_id)
        chat_interval_ms = self._group_interval_ms if is_group else self._chat_interval_ms
        chat_end = 0  # the end of our current chat reservation (server ms); 0 while none

        def remaining_ms() -> int:
            return max(0, int((deadline - time.monotonic()) * 1000))

        def too_long(wait_ms: int) -> OutboundWaitTooLong:
            return OutboundWaitTooLong(chat_id, time.monotonic() - started + wait_ms / 1000)

        try:
            reserved, wait_ms, chat_end, _ = await self._reserve_chat_slot(
                keys=[chat_key], args=[chat_interval_ms, remaining_ms(), 0, 0]
            )
            if not int(reserved):
                raise too_long(int(wait_ms))
            chat_slot_at = time.monotonic() + int(wait_ms) / 1000
            await _sleep_until(chat_slot_at)

            while True:
                state, global_wait_ms, _, global_slot = await self._reserve_global_slot(
                    keys=self._global_keys,
                    args=[*self._global_args, remaining_ms(), _LOG_SPARE],
                )
                if int(state) == _PAUSED:
                    resume_at = time.monotonic() + int(global_wait_ms) / 1000
                    resume_at += random.uniform(0, self._limits.pause_jitter_s)  # noqa: S311
                    if resume_at > deadline:
                        raise too_long(int(global_wait_ms))
                    await _sleep_until(resume_at)
                    continue
                if int(state) != _RESERVED:
                    raise too_long(int(global_wait_ms))

                send_at = time.monotonic() + int(global_wait_ms) / 1000
                if send_at - chat_slot_at <= self._limits.inline_wait_s:
                    chat_slot = int(chat_end) - chat_interval_ms
                    chat_end = 0  # used: nothing to give back any more
                    await _sleep_until(send_at)
                    return OutboundGrant(time.monotonic() - started, chat_slot, int(global_slot))

                # The global slot is too far from our chat slot: move the chat slot onto it.
                reserved, wait_ms, new_chat_end, aligned = await self._reserve_chat_slot(
                    keys=[chat_key],
                    args=[chat_interval_ms, remaining_ms(), int(global_wait_ms), chat_end],
                )
                chat_end = int(new_chat_end)  # the script gave our previous slot back if it could
                if self._budget_key is not None and (not int(reserved) or not int(aligned)):
                    await self._release_global_slot(
                        keys=[self._budget_key], args=[int(global_slot), self._per_window]
                    )
                if not int(reserved):
                    raise too_long(int(wait_ms))
                chat_slot_at = time.monotonic() + int(wait_ms) / 1000
                await _sleep_until(chat_slot_at)
                if int(aligned):
                    chat_slot = chat_end - chat_interval_ms
                    chat_end = 0
                    return OutboundGrant(time.monotonic() - started, chat_slot, int(global_slot))
        except BaseException:
            if chat_end:
                # Best effort: an abandoned slot (too long a wait, cancelled caller) is given back
                # so the chat's next sender need not wait for a message that never went out.
                await self._release_slot(keys=[chat_key], args=[chat_end, chat_interval_ms])
            raise

    async def answered(self, chat_id: int | str, is_group: bool, after_s: float) -> None:
        """After a send: if its answer came later than ``inline_wait_s`` after :meth:`acquire`
        returned, the request may have reached Telegram that late too, eating into the chat's
        interval (a busy event loop, a full connection pool, the network). The chat's next slot is
        then one interval after now, when the request had certainly arrived; an answer in time
        costs no Redis call. A send already queued behind it in the same chat keeps its slot."""
        if after_s <= self._limits.inline_wait_s:
            return
        interval_ms = self._group_interval_ms if is_group else self._chat_interval_ms
        await self._space_from_now(keys=[keys.chat_outbound(chat_id)], args=[interval_ms])

    async def pause_all(self, retry_after_s: float) -> None:
        if retry_after_s <= 0:
            return
        await self._pause(keys=[keys.global_outbound_pause()], args=[_ms(retry_after_s)])

    async def paused_for_s(self) -> float:
        """Seconds left of the cluster-wide pause (0 when none); for health pages and tests."""
        remaining_ms = await self._redis.pttl(keys.global_outbound_pause())
        return max(0, int(remaining_ms)) / 1000


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
