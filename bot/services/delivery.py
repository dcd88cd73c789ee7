"""Delivery of what is not a direct reply: outbox notices (status changes, seat offers) and
due reminders. Run by the workers; each item is claimed atomically, so one is sent once even with
several workers, and a worker that dies mid-way leaves it to be claimed again after its lease.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.bookings import BookingStatus
from bot.domain.users import User
from bot.services.ports.repositories import BookingRepository, UserRepository
from bot.services.ports.system import DeliveryResult, NoticeSender, Outbox, OutboxEntry
from bot.services.reminders import ReminderService

log = logging.getLogger(__name__)

NOTICE_LEASE = timedelta(minutes=2)
MAX_NOTICE_ATTEMPTS = 8


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    unreachable: int = 0


class DeliveryService:
    def __init__(
        self,
        outbox: Outbox,
        reminders: ReminderService,
        users: UserRepository,
        bookings: BookingRepository,
        sender: NoticeSender,
    ) -> None:
        self._outbox = outbox
        self._reminders = reminders
        self._users = users
        self._bookings = bookings
        self._sender = sender

    async def deliver_notices(self, limit: int = 50) -> DeliveryReport:
        counts = {result: 0 for result in DeliveryResult}
        skipped = 0
        for notice in await self._outbox.claim(NOTICE_LEASE, limit):
            user = await self._users.get(notice.user_id)
            if user is None or not self._wants(user, notice):
                skipped += 1
                await self._outbox.done(notice.key)
                continue
            result = await self._sender.send_notice(notice, user)
            counts[result] += 1
            if result is DeliveryResult.RETRY:
                await self._outbox.failed(
                    notice.key, final=notice.attempts + 1 >= MAX_NOTICE_ATTEMPTS
                )
            else:
                if result is DeliveryResult.UNREACHABLE:
                    await self._users.set_unreachable(user.telegram_id, True)
                await self._outbox.done(notice.key)
        return DeliveryReport(
            counts[DeliveryResult.SENT],
            skipped,
            counts[DeliveryResult.RETRY],
            counts[DeliveryResult.UNREACHABLE],
        )

    async def deliver_reminders(self, limit: int = 50) -> DeliveryReport:
        counts = {result: 0 for result in DeliveryResult}
        skipped = 0
        for reminder in await self._reminders.claim_due(limit):
            user = await self._users.get(reminder.user_id)
            booking = await self._bookings.get(reminder.booking_id)
            if (
                user is None
                or booking is None
                or booking.status is not BookingStatus.ACTIVE
                or not self._reachable(user)
                or not user.notifications.reminders
            ):
                skipped += 1
                await self._reminders.sent(reminder)  # nothing to remind of: close it
                continue
            result = await self._sender.send_reminder(reminder, user)
            counts[result] += 1
            if result is DeliveryResult.RETRY:
                await self._reminders.failed(reminder)
            else:
                if result is DeliveryResult.UNREACHABLE:
                    await self._users.set_unreachable(user.telegram_id, True)
                await self._reminders.sent(reminder)
        return DeliveryReport(
            counts[DeliveryResult.SENT],
            skipped,
            counts[DeliveryResult.RETRY],
            counts[DeliveryResult.UNREACHABLE],
        )

    def _wants(self, user: User, notice: OutboxEntry) -> bool:
        if not self._reachable(user):
            return False
        if notice.kind == "application_status":
            return user.notifications.application_updates
        return True  # a seat offer is the answer to the user's own request: always sent

    @staticmethod
    def _reachable(user: User) -> bool:
        return user.deleted_at is None and not user.blocked and not user.unreachable
