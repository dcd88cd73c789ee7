"""Reminders that are due: claimed atomically so that several workers never send one twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.reminders import Reminder, ReminderStats, ReminderStatus
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.repositories import ReminderRepository
from bot.services.ports.system import Clock

CLAIM_LEASE = timedelta(minutes=5)


class ReminderService:
    def __init__(
        self, reminders: ReminderRepository, clock: Clock, events: BusinessEvents = NO_EVENTS
    ) -> None:
        self._events = events
        self._reminders = reminders
        self._clock = clock

    @property
    def clock(self) -> Clock:
        return self._clock

    async def claim_due(
        self, limit: int = 100, *, lease: timedelta = CLAIM_LEASE
    ) -> list[Reminder]:
        return await self._reminders.claim_due(self._clock.now(), lease, limit)

    async def renew(self, reminder: Reminder, lease: timedelta) -> None:
        await self._reminders.renew(reminder.id, self._clock.now() + lease)

    async def sent(self, reminder: Reminder) -> None:
        await self._reminders.mark_sent(reminder.id, self._clock.now())
        self._events.reminder("sent")

    async def retry_later(
        self, reminder: Reminder, *, at: datetime, error: str, failure: bool
    ) -> None:
        await self._reminders.retry_later(reminder.id, at=at, error=error, failure=failure)
        self._events.reminder("retried")

    async def park(self, reminder: Reminder, error: str) -> None:
        await self._reminders.park(reminder.id, self._clock.now(), error)
        self._events.reminder("parked")

    async def skip(self, reminder: Reminder, reason: str) -> None:
        """Nothing to remind of any more (booking gone, opted out, user unreachable)."""
        await self._reminders.close(reminder.id, self._clock.now(), ReminderStatus.SKIPPED, reason)
        self._events.reminder("skipped")

    async def stale(self, reminder: Reminder) -> None:
        """The session started before the reminder could be sent."""
        await self._reminders.close(
            reminder.id, self._clock.now(), ReminderStatus.STALE, "the session has started"
        )
        self._events.reminder("stale")

    async def overdue(self) -> int:
        overdue = await self._reminders.count_overdue(self._clock.now())
        self._events.reminders_overdue(overdue)
        return overdue

    async def stats(self) -> ReminderStats:
        stats = await self._reminders.stats(self._clock.now())
        self._events.reminders_overdue(stats.overdue)
        return stats
