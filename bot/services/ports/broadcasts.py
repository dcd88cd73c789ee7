"""Ports of broadcasts: where they and their recipients are stored, who an audience is, and how
one message is sent and the author's progress message edited (the Telegram layer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.domain.broadcasts import (
    Audience,
    Broadcast,
    BroadcastCounts,
    BroadcastState,
    Recipient,
    RecipientState,
)
from bot.domain.paging import Page, PageRequest


class BroadcastRepository(Protocol):
    # --- the broadcast ------------------------------------------------------------------------

    async def insert(self, broadcast: Broadcast) -> None: ...

    async def get(self, broadcast_id: str) -> Broadcast | None: ...

    async def update_draft(
        self, broadcast_id: str, *, text: str, html: str, estimated: int, now: datetime
    ) -> Broadcast | None:
        """Replace a draft's text; None unless it is still a draft."""
        ...

    async def move(
        self,
        broadcast_id: str,
        from_states: frozenset[BroadcastState],
        to_state: BroadcastState,
        now: datetime,
        *,
        sender: tuple[int, int] | None = None,
        cancelled_by: int | None = None,
    ) -> Broadcast | None:
        """One conditional state change (with the progress message's (chat, message) when it is
        queued, who cancelled it); None when it was not in ``from_states``. Queuing sets
        ``queued_at`` (once); ending it sets ``finished_at``."""
        ...

    async def list_recent(self, author_id: int | None, page: PageRequest) -> Page[Broadcast]:
        """Broadcasts that left the draft stage, newest first (``author_id``: only theirs)."""
        ...

    # --- running it ---------------------------------------------------------------------------

    async def head(self) -> Broadcast | None:
        """The queued or running broadcast queued first: broadcasts run one after another."""
        ...

    async def take(self, broadcast_id: str, runner: str, now: datetime, until: datetime) -> bool:
        """Become its runner (queued → running) unless another runner's lease is still live."""
        ...

    async def renew(self, broadcast_id: str, runner: str, until: datetime) -> Broadcast | None:
        """Extend this runner's lease; the broadcast as stored, or None if another runner has it
        (or it was never ours)."""
        ...

    async def release(self, broadcast_id: str, runner: str, now: datetime) -> None:
        """End this runner's lease now (its run stopped before the end), so the next run goes on."""
        ...

    async def finish(self, broadcast_id: str, runner: str, now: datetime) -> Broadcast | None:
        """running → done for its runner; None otherwise."""
        ...

    async def shown(
        self, broadcast_id: str, counts: BroadcastCounts, at: datetime, *, final: bool
    ) -> None:
        """The progress message now shows ``counts`` (``final``: the broadcast's end)."""
        ...

    async def unreported(self, limit: int) -> list[Broadcast]:
        """Ended broadcasts whose final counts have not been shown yet."""
        ...

    # --- recipients ---------------------------------------------------------------------------

    async def add_recipients(self, broadcast_id: str, user_ids: Sequence[int]) -> int:
        """A pending record for each user that has none (idempotent); how many were added."""
        ...

    async def mark_expanded(self, broadcast_id: str) -> None: ...

    async def recover(self, broadcast_id: str, runner: str) -> tuple[int, int]:
        """Another runner's records after it died: ``claimed`` → ``pending``, ``dispatching`` →
        ``unconfirmed``; (how many of each)."""
        ...

    async def claim(
        self, broadcast_id: str, runner: str, now: datetime, limit: int
    ) -> list[Recipient]:
        """Up to ``limit`` pending records due by ``now`` (by user id), now claimed by ``runner``."""
        ...

    async def dispatching(self, broadcast_id: str, user_id: int, runner: str) -> bool:
        """``runner``'s claimed record → dispatching, right before the send; False if the record is
        no longer ``runner``'s to send (another runner recovered it)."""
        ...

    async def settle(
        self,
        broadcast_id: str,
        user_id: int,
        runner: str,
        state: RecipientState,
        now: datetime,
        *,
        error: str | None = None,
    ) -> None:
        """What happened to ``runner``'s claimed, dispatched or (recovered meanwhile) unconfirmed
        record: a final state. A record recovered as pending is no longer ``runner``'s."""
        ...

    async def retry_later(
        self, broadcast_id: str, user_id: int, runner: str, at: datetime, error: str
    ) -> None:
        """``runner``'s record back to pending, not claimed before ``at``, one attempt more."""
        ...

    async def counts(self, broadcast_id: str) -> BroadcastCounts: ...

    async def next_due(self, broadcast_id: str) -> datetime | None:
        """When the earliest pending record waiting for a retry becomes due (None: none waits)."""
        ...

    async def requeue_unconfirmed(self, broadcast_id: str, now: datetime) -> int:
        """Every ``unconfirmed`` record → pending (the author chose to send those again)."""
        ...


class BroadcastAudiences(Protocol):
    """Who an audience is, read from users, applications, bookings and sessions."""

    async def user_ids(self, audience: Audience, now: datetime) -> list[int]:
        """Registered residents of the audience who allow news and can be reached, by id."""
        ...

    async def reachable(self, user_ids: Sequence[int]) -> set[int]:
        """Of ``user_ids``, those who still allow news and can be reached now."""
        ...


class SendResult(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the resident blocked the bot
    RETRY = "retry"  # not sent (429, 5xx, the limiter's wait too long, no connection): again later
    FAILED = "failed"  # Telegram refused the message (400) or another error: not retried
    UNCONFIRMED = "unconfirmed"  # the request left and no answer came: it may have been sent
    NOT_OURS = "not_ours"  # the record was recovered by another runner before it left


@dataclass(frozen=True)
class SendOutcome:
    result: SendResult
    error: str | None = None
    retry_after_s: float | None = None


Dispatch = Callable[[], Awaitable[bool]]


class BroadcastSender(Protocol):
    async def send(self, broadcast: Broadcast, user_id: int, *, dispatch: Dispatch) -> SendOutcome:
        """Wait for the outbound budget, call ``dispatch`` (False: do not send) right before the
        request leaves, then send the broadcast to ``user_id``."""
        ...

    async def show_progress(self, broadcast: Broadcast, counts: BroadcastCounts) -> bool:
        """Edit the author's progress message; False when it cannot be edited any more."""
        ...
