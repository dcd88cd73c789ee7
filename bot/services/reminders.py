"""Reminders that are due: claimed atomically so that several workers never send one twice."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.reminders import Reminder
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.repositories import ReminderRepository
from bot.services.ports.system import Clock

CLAIM_LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5


class ReminderService:
    def __init__(
        self, reminders: ReminderRepository, clock: Clock, events: BusinessEvents = NO_EVENTS
    ) -> None:
        self._events = events
        self._reminders = reminders
        self._clock = clock

    async def claim_due(self, limit: int = 100) -> list[Reminder]:
        return await self._reminders.claim_due(self._clock.now(), CLAIM_LEASE, limit)

    async def sent(self, reminder: Reminder) -> None:
        await self._reminders.mark_sent(reminder.id, self._clock.now())
        self._events.reminder("sent")

    async def failed(self, reminder: Reminder) -> None:
        final = reminder.attempts + 1 >= MAX_ATTEMPTS
        await self._reminders.mark_failed(reminder.id, self._clock.now(), final)
        self._events.reminder("failed")

    async def overdue(self) -> int:
        overdue = await self._reminders.count_overdue(self._clock.now())
        self._events.reminders_overdue(overdue)
        return overdue
