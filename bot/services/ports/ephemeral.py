"""Ports for ephemeral, cluster-shared state (implemented over Redis Cluster: ``bot.infra.redis``).

Everything here is *lossy by design*: Redis replicates asynchronously, so nothing in these ports is
a source of truth (MongoDB is). They exist because bot instances are stateless and interchangeable
(design §4 rules 1, 2, 5, 8): dialog state, update de-duplication, flood control, the outbound send
budget and short locks must be shared by every instance and worker, not kept in process memory.

Pure typing: standard library only, so services and handlers can depend on it without drivers.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias

# --------------------------------------------------------------------------------------------------
# Dialog (FSM) state
# --------------------------------------------------------------------------------------------------

JsonDict: TypeAlias = dict[str, Any]


@dataclass(frozen=True, slots=True)
class DialogState:
    """The dialog position of one user in one chat.

    ``version`` grows by one on every successful write; a writer passes the version it read so that
    two instances handling updates of the same dialog cannot silently overwrite each other.
    A state that was never written has version 0.
    """

    step: str
    data: JsonDict = field(default_factory=dict)
    version: int = 0


class DialogStateConflict(Exception):
    """Raised when the stored version is not the one the writer read (another instance won)."""

    def __init__(self, chat_id: int, user_id: int, expected: int, actual: int) -> None:
        super().__init__(
            f"dialog state of chat {chat_id} user {user_id} is at version {actual}, "
            f"writer expected {expected}"
        )
        self.chat_id = chat_id
        self.user_id = user_id
        self.expected = expected
        self.actual = actual


class DialogStateStore(Protocol):
    async def get(self, chat_id: int, user_id: int) -> DialogState | None:
        """The current state, or ``None`` when there is none (never set, cleared or expired)."""
        ...

    async def set_if_version(
        self, chat_id: int, user_id: int, step: str, data: JsonDict, expected_version: int
    ) -> DialogState:
        """Write ``step``/``data`` if the stored version equals ``expected_version``.

        Use 0 for "no state yet". Returns the new state (version ``expected_version + 1``) and
        refreshes the TTL; raises :class:`DialogStateConflict` otherwise.
        """
        ...

    async def clear(self, chat_id: int, user_id: int) -> None:
        """Forget the dialog (idempotent)."""
        ...


# --------------------------------------------------------------------------------------------------
# Update de-duplication (design §4 rule 2)
# --------------------------------------------------------------------------------------------------


class DedupState(enum.Enum):
    BEGUN = "begun"  # this caller owns the update now and must finish() or abort()
    IN_PROGRESS = "in_progress"  # someone else is processing it (or died: the mark will expire)
    DONE = "done"  # already processed; answer 200 without processing


@dataclass(frozen=True, slots=True)
class DedupClaim:
    """The outcome of :meth:`UpdateDeduplicator.begin`.

    ``token`` identifies this particular claim (set only when ``state`` is BEGUN), so that a slow
    owner whose mark expired and was taken over cannot abort the new owner's mark.
    """

    update_id: int
    state: DedupState
    token: str | None = None


class UpdateDeduplicator(Protocol):
    async def begin(self, update_id: int) -> DedupClaim:
        """Mark the update as being processed unless someone already did (never "last seen")."""
        ...

    async def finish(self, claim: DedupClaim) -> None:
        """Record the update as done (long TTL)."""
        ...

    async def abort(self, claim: DedupClaim) -> bool:
        """Drop the processing mark if it is still this claim's; True when it was dropped."""
        ...


# --------------------------------------------------------------------------------------------------
# Inbound flood control per user
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FloodVerdict:
    allowed: bool
    retry_after_s: float = 0.0  # how long the user should wait before the next update is allowed


class FloodLimiter(Protocol):
    async def hit(self, user_id: int) -> FloodVerdict:
        """Count one update of ``user_id``; throttled once the user exceeds its budget."""
        ...


# --------------------------------------------------------------------------------------------------
# Outbound send budget (design §4 rule 5)
# --------------------------------------------------------------------------------------------------


class OutboundWaitTooLong(Exception):
    """The limiter would have to wait longer than its bound; the caller should retry later."""

    def __init__(self, chat_id: int | str, would_wait_s: float) -> None:
        super().__init__(f"outbound send to chat {chat_id} would wait {would_wait_s:.1f} s")
        self.chat_id = chat_id
        self.would_wait_s = would_wait_s


class OutboundLimiter(Protocol):
    async def acquire(self, chat_id: int | str, is_group: bool) -> float:
        """Wait until one message to ``chat_id`` may be sent; returns the seconds waited.

        Raises :class:`OutboundWaitTooLong` when the wait would exceed the configured bound.
        """
        ...

    async def answered(self, chat_id: int | str, is_group: bool, after_s: float) -> None:
        """The send to ``chat_id`` let go by :meth:`acquire` was answered ``after_s`` later.

        Its request reached Telegram by then at the latest: when that is later than the limiter
        allows for, the chat's next send is spaced from now, so late requests cannot crowd it.
        """
        ...

    async def pause_all(self, retry_after_s: float) -> None:
        """Make every process that shares this limiter hold its sends for ``retry_after_s``."""
        ...


# --------------------------------------------------------------------------------------------------
# Short distributed lock
# --------------------------------------------------------------------------------------------------


class LockLease(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def token(self) -> str: ...


class DistributedLock(Protocol):
    async def try_acquire(self, name: str, ttl_s: float) -> LockLease | None:
        """Take the lock ``name`` for at most ``ttl_s`` seconds, or ``None`` if someone holds it."""
        ...

    async def release(self, lease: LockLease) -> bool:
        """Release if still held by ``lease``; False when it had expired or been taken over."""
        ...


# --------------------------------------------------------------------------------------------------
# Observers (metrics plug in here; the metrics adapter lives elsewhere)
# --------------------------------------------------------------------------------------------------


class TelegramCallOutcome(enum.Enum):
    OK = "ok"
    RATE_LIMITED = "429"
    FORBIDDEN = "403"
    CLIENT_ERROR = "4xx"
    SERVER_ERROR = "5xx"
    NETWORK = "network"
    # Not a request: returned in the webhook response for Telegram to run (result not known).
    IN_RESPONSE = "in_response"


class TelegramCallObserver(Protocol):
    def on_call(self, method: str, outcome: TelegramCallOutcome, duration_s: float) -> None:
        """One Bot API call finished (``method`` is a Bot API method name: a bounded label)."""
        ...

    def on_limiter_wait(self, method: str, waited_s: float) -> None:
        """The outbound limiter held a send for ``waited_s`` seconds before it went out."""
        ...


class NoopTelegramCallObserver:
    def on_call(self, method: str, outcome: TelegramCallOutcome, duration_s: float) -> None:
        return None

    def on_limiter_wait(self, method: str, waited_s: float) -> None:
        return None


class RedisPoolObserver(Protocol):
    def on_max_connections(self, node: str) -> None:
        """A command hit redis-py's MaxConnectionsError (that node's pool was exhausted)."""
        ...


class NoopRedisPoolObserver:
    def on_max_connections(self, node: str) -> None:
        return None


UnreachableChatCallback: TypeAlias = Callable[[int | str], Awaitable[None]]
"""Called with the chat id when Telegram answers 403 to a send (blocked, deactivated, kicked)."""
