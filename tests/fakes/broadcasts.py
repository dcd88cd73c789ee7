"""In-memory fakes of the broadcast ports (``bot.services.ports.broadcasts``).

They behave like ``bot.infra.mongo.broadcasts`` (``tests/contract/test_broadcasts.py`` runs one
suite against both): one record per (broadcast, user), every change conditional on the state and
runner the MongoDB adapter conditions it on, datetimes stored with millisecond precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import OPEN_STATUSES
from bot.domain.broadcasts import (
    FINAL_STATES,
    OPEN_STATES,
    RECENT_BOOKING_DAYS,
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastCounts,
    BroadcastState,
    Recipient,
    RecipientState,
)
from bot.domain.paging import Page, PageRequest
from bot.domain.users import User
from tests.fakes.repositories import (
    InMemoryApplicationRepository,
    InMemoryBookingRepository,
    InMemorySessionRepository,
    InMemoryUserRepository,
    stored_time,
)

S = RecipientState
_LEFT_BY_RUNNER = frozenset({S.CLAIMED, S.DISPATCHING, S.UNCONFIRMED})


def _opt(moment: datetime | None) -> datetime | None:
    return stored_time(moment) if moment is not None else None


def _stored(b: Broadcast) -> Broadcast:
    return replace(
        b,
        created_at=stored_time(b.created_at),
        updated_at=stored_time(b.updated_at),
        queued_at=_opt(b.queued_at),
        started_at=_opt(b.started_at),
        finished_at=_opt(b.finished_at),
        runner_until=_opt(b.runner_until),
        progress_at=_opt(b.progress_at),
    )


class InMemoryBroadcastRepository:
    def __init__(self) -> None:
        self._broadcasts: dict[str, Broadcast] = {}
        self._recipients: dict[str, dict[int, Recipient]] = {}

    # --- the broadcast ------------------------------------------------------------------------

    async def insert(self, broadcast: Broadcast) -> None:
        if broadcast.id in self._broadcasts:
            raise ValueError(f"duplicate broadcast {broadcast.id}")
        self._broadcasts[broadcast.id] = _stored(broadcast)

    async def get(self, broadcast_id: str) -> Broadcast | None:
        return self._broadcasts.get(broadcast_id)

    async def update_draft(
        self, broadcast_id: str, *, text: str, html: str, estimated: int, now: datetime
    ) -> Broadcast | None:
        b = self._broadcasts.get(broadcast_id)
        if b is None or b.state is not BroadcastState.DRAFT:
            return None
        return self._put(replace(b, text=text, html=html, estimated=estimated, updated_at=now))

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
        b = self._broadcasts.get(broadcast_id)
        if b is None or b.state not in from_states:
            return None
        b = replace(b, state=to_state, updated_at=now)
        if to_state is BroadcastState.QUEUED:
            b = replace(b, final_shown=False, finished_at=None)
            if sender is not None:
                b = replace(b, sender_chat_id=sender[0], sender_message_id=sender[1], queued_at=now)
        if to_state in FINAL_STATES:
            b = replace(b, finished_at=now)
        if cancelled_by is not None:
            b = replace(b, cancelled_by=cancelled_by)
        return self._put(b)

    async def list_recent(self, author_id: int | None, page: PageRequest) -> Page[Broadcast]:
        found = [
            b
            for b in self._broadcasts.values()
            if b.queued_at is not None and (author_id is None or b.author_id == author_id)
        ]
        found.sort(key=lambda b: (b.queued_at, b.id), reverse=True)
        return Page(found[page.offset : page.offset + page.size], page.page, page.size, len(found))

    # --- running it ---------------------------------------------------------------------------

    async def head(self) -> Broadcast | None:
        open_ = [b for b in self._broadcasts.values() if b.state in OPEN_STATES]
        open_.sort(key=lambda b: (b.queued_at is not None, b.queued_at, b.id))
        return open_[0] if open_ else None

    async def take(self, broadcast_id: str, runner: str, now: datetime, until: datetime) -> bool:
        b = self._broadcasts.get(broadcast_id)
        if b is None or b.state not in OPEN_STATES:
            return False
        if b.runner_until is not None and b.runner_until > stored_time(now):
            return False
        self._put(
            replace(
                b,
                state=BroadcastState.RUNNING,
                runner=runner,
                runner_until=until,
                updated_at=now,
                started_at=b.started_at or now,
            )
        )
        return True

    async def renew(self, broadcast_id: str, runner: str, until: datetime) -> Broadcast | None:
        b = self._broadcasts.get(broadcast_id)
        if b is None or b.runner != runner:
            return None
        return self._put(replace(b, runner_until=until))

    async def release(self, broadcast_id: str, runner: str, now: datetime) -> None:
        b = self._broadcasts.get(broadcast_id)
        if b is not None and b.runner == runner:
            self._put(replace(b, runner_until=now))

    async def finish(self, broadcast_id: str, runner: str, now: datetime) -> Broadcast | None:
        b = self._broadcasts.get(broadcast_id)
        if b is None or b.runner != runner or b.state is not BroadcastState.RUNNING:
            return None
        return self._put(
            replace(b, state=BroadcastState.DONE, finished_at=now, updated_at=now, runner_until=now)
        )

    async def shown(
        self, broadcast_id: str, counts: BroadcastCounts, at: datetime, *, final: bool
    ) -> None:
        b = self._broadcasts.get(broadcast_id)
        if b is None or (not final and b.final_shown):
            return
        self._put(replace(b, counts=counts, progress_at=at, final_shown=final))

    async def unreported(self, limit: int) -> list[Broadcast]:
        found = [
            b
            for b in self._broadcasts.values()
            if b.state in FINAL_STATES and not b.final_shown and b.sender_chat_id is not None
        ]
        found.sort(key=lambda b: (b.finished_at is not None, b.finished_at, b.id))
        return found[:limit]

    # --- recipients ---------------------------------------------------------------------------

    async def add_recipients(self, broadcast_id: str, user_ids: Sequence[int]) -> int:
        records = self._recipients.setdefault(broadcast_id, {})
        added = 0
        for uid in sorted(set(user_ids)):
            if uid not in records:
                records[uid] = Recipient(broadcast_id, uid, S.PENDING)
                added += 1
        return added

    async def mark_expanded(self, broadcast_id: str) -> None:
        b = self._broadcasts.get(broadcast_id)
        if b is not None:
            self._put(replace(b, expanded=True))

    async def recover(self, broadcast_id: str, runner: str) -> tuple[int, int]:
        records = self._recipients.get(broadcast_id, {})
        requeued = unconfirmed = 0
        for uid, r in list(records.items()):
            if r.runner == runner:
                continue
            if r.state is S.CLAIMED:
                records[uid] = replace(r, state=S.PENDING, runner=None)
                requeued += 1
            elif r.state is S.DISPATCHING:
                records[uid] = replace(
                    r,
                    state=S.UNCONFIRMED,
                    error="the runner sending it stopped before Telegram answered",
                )
                unconfirmed += 1
        return requeued, unconfirmed

    async def claim(
        self, broadcast_id: str, runner: str, now: datetime, limit: int
    ) -> list[Recipient]:
        records = self._recipients.get(broadcast_id, {})
        due = stored_time(now)
        claimed: list[Recipient] = []
        for uid in sorted(records):
            r = records[uid]
            if r.state is S.PENDING and (r.next_at is None or r.next_at <= due):
                records[uid] = replace(r, state=S.CLAIMED, runner=runner)
                claimed.append(records[uid])
                if len(claimed) == limit:
                    break
        return claimed

    async def dispatching(self, broadcast_id: str, user_id: int, runner: str) -> bool:
        records = self._recipients.get(broadcast_id, {})
        r = records.get(user_id)
        if r is None or r.state is not S.CLAIMED or r.runner != runner:
            return False
        records[user_id] = replace(r, state=S.DISPATCHING)
        return True

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
        records = self._recipients.get(broadcast_id, {})
        r = records.get(user_id)
        if r is not None and r.runner == runner and r.state in _LEFT_BY_RUNNER:
            records[user_id] = replace(r, state=state, error=error)

    async def retry_later(
        self, broadcast_id: str, user_id: int, runner: str, at: datetime, error: str
    ) -> None:
        records = self._recipients.get(broadcast_id, {})
        r = records.get(user_id)
        if r is not None and r.runner == runner and r.state in (S.CLAIMED, S.DISPATCHING):
            records[user_id] = replace(
                r,
                state=S.PENDING,
                runner=None,
                next_at=stored_time(at),
                error=error,
                attempts=r.attempts + 1,
            )

    async def counts(self, broadcast_id: str) -> BroadcastCounts:
        by_state: dict[RecipientState, int] = {}
        for r in self._recipients.get(broadcast_id, {}).values():
            by_state[r.state] = by_state.get(r.state, 0) + 1
        return BroadcastCounts.of(by_state)

    async def next_due(self, broadcast_id: str) -> datetime | None:
        waiting = [
            r.next_at
            for r in self._recipients.get(broadcast_id, {}).values()
            if r.state is S.PENDING and r.next_at is not None
        ]
        return min(waiting) if waiting else None

    async def requeue_unconfirmed(self, broadcast_id: str, now: datetime) -> int:
        records = self._recipients.get(broadcast_id, {})
        again = 0
        for uid, r in list(records.items()):
            if r.state is S.UNCONFIRMED:
                records[uid] = replace(r, state=S.PENDING, runner=None, next_at=None)
                again += 1
        return again

    # --- tests only ---------------------------------------------------------------------------

    def all(self) -> list[Broadcast]:
        return sorted(self._broadcasts.values(), key=lambda b: (b.created_at, b.id))

    def recipients(self, broadcast_id: str) -> list[Recipient]:
        return [r for _, r in sorted(self._recipients.get(broadcast_id, {}).items())]

    def _put(self, broadcast: Broadcast) -> Broadcast:
        stored = _stored(broadcast)
        self._broadcasts[broadcast.id] = stored
        return stored


_GONE = frozenset({ApplicationStatus.CANCELLED, ApplicationStatus.REJECTED})


def _reachable(user: User) -> bool:
    return (
        user.is_registered
        and not user.blocked
        and not user.unreachable
        and user.notifications.broadcasts
    )


class InMemoryBroadcastAudiences:
    """Who an audience is, over the other fakes (the same rules as ``MongoBroadcastAudiences``)."""

    def __init__(
        self,
        users: InMemoryUserRepository,
        applications: InMemoryApplicationRepository,
        bookings: InMemoryBookingRepository,
        sessions: InMemorySessionRepository,
    ) -> None:
        self._users = users
        self._applications = applications
        self._bookings = bookings
        self._sessions = sessions

    async def user_ids(self, audience: Audience, now: datetime) -> list[int]:
        candidates = self._candidates(audience, now)
        return sorted(
            u.telegram_id
            for u in self._users.all()
            if _reachable(u) and (candidates is None or u.telegram_id in candidates)
        )

    async def reachable(self, user_ids: Sequence[int]) -> set[int]:
        wanted = set(user_ids)
        return {
            u.telegram_id for u in self._users.all() if u.telegram_id in wanted and _reachable(u)
        }

    def _candidates(self, audience: Audience, now: datetime) -> set[int] | None:
        if audience.kind is AudienceKind.ALL:
            return None
        if audience.kind is AudienceKind.SESSION:
            return self._booked({str(audience.code)})
        since = stored_time(now - timedelta(days=RECENT_BOOKING_DAYS))

        def in_scope(complex_code: str, sport_code: str) -> bool:
            if audience.kind is AudienceKind.COMPLEX:
                return complex_code == audience.code
            return sport_code == audience.code and (
                audience.complexes is None or complex_code in audience.complexes
            )

        people = {
            a.user_id
            for a in self._applications.all()
            if a.status not in _GONE and in_scope(a.complex_code, a.sport_code)
        }
        sessions = {
            s.id
            for s in self._sessions.all()
            if s.starts_at >= since and in_scope(s.complex_code, s.sport_code)
        }
        return people | self._booked(sessions)

    def _booked(self, session_ids: set[str]) -> set[int]:
        return {
            b.user_id
            for b in self._bookings.all()
            if b.session_id in session_ids and b.status in OPEN_STATUSES
        }
