"""Delivery of what is not a direct reply: outbox notices (status changes, seat offers) and
due reminders. Run by the workers; each item is claimed atomically, so one is sent once even with
several workers, and a worker that dies mid-way leaves it to be claimed again after its lease.

Whether an item is still to be sent is decided here, once: the user must be reachable (registered,
not blocked, not unreachable) and want that kind of message, and what it is about must still hold
(the application is theirs, the offer still stands, the booking is still active). The sender is
handed what was read for that decision and only words and sends it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import Booking, BookingStatus
from bot.domain.catalog import Complex
from bot.domain.reminders import Reminder
from bot.domain.sessions import Session
from bot.domain.users import User
from bot.services.ports.repositories import (
    ApplicationRepository,
    BookingRepository,
    CatalogRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import (
    ApplicationStatusNotice,
    BlockedNotice,
    DeliveryResult,
    NoticeSender,
    Outbox,
    OutboxEntry,
    OutboxNotice,
    ReminderNotice,
    SeatOfferNotice,
    SessionCancelledNotice,
    StaffApplicationNotice,
)
from bot.services.reminders import ReminderService

log = logging.getLogger(__name__)

NOTICE_LEASE = timedelta(minutes=2)
# Outbox kinds addressed to staff or caused by staff, decided by ``_staff_notice``.
STAFF_KINDS = frozenset({"staff_new_application", "user_blocked"})
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
        *,
        applications: ApplicationRepository,
        sessions: SessionRepository,
        catalog: CatalogRepository,
    ) -> None:
        self._outbox = outbox
        self._reminders = reminders
        self._users = users
        self._bookings = bookings
        self._sender = sender
        self._applications = applications
        self._sessions = sessions
        self._catalog = catalog

    async def deliver_notices(self, limit: int = 50) -> DeliveryReport:
        counts = {result: 0 for result in DeliveryResult}
        skipped = 0
        for entry in await self._outbox.claim(NOTICE_LEASE, limit):
            notice = await self._notice(entry)
            if notice is None:
                skipped += 1
                await self._outbox.done(entry.key)
                continue
            result = await self._sender.send_notice(notice)
            counts[result] += 1
            if result is DeliveryResult.RETRY:
                await self._outbox.failed(
                    entry.key, final=entry.attempts + 1 >= MAX_NOTICE_ATTEMPTS
                )
            else:
                if result is DeliveryResult.UNREACHABLE:
                    await self._users.set_unreachable(notice.user.telegram_id, True)
                await self._outbox.done(entry.key)
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
            notice = await self._reminder_notice(reminder)
            if notice is None:
                skipped += 1
                await self._reminders.sent(reminder)  # nothing to remind of: close it
                continue
            result = await self._sender.send_reminder(notice)
            counts[result] += 1
            if result is DeliveryResult.RETRY:
                await self._reminders.failed(reminder)
            else:
                if result is DeliveryResult.UNREACHABLE:
                    await self._users.set_unreachable(notice.user.telegram_id, True)
                await self._reminders.sent(reminder)
        return DeliveryReport(
            counts[DeliveryResult.SENT],
            skipped,
            counts[DeliveryResult.RETRY],
            counts[DeliveryResult.UNREACHABLE],
        )

    async def _notice(self, entry: OutboxEntry) -> OutboxNotice | None:
        """What to send for an outbox entry, or None when it no longer applies."""
        user = await self._users.get(entry.user_id)
        if user is None:
            return None
        if entry.kind in STAFF_KINDS:
            return await self._staff_notice(entry, user)
        if not self._reachable(user):
            return None
        if entry.kind == "application_status":
            if not user.notifications.application_updates:
                return None
            application = await self._applications.get(str(entry.payload["application_id"]))
            if application is None or application.user_id != user.telegram_id:
                return None
            return ApplicationStatusNotice(entry, user, application)
        if entry.kind == "seat_offer":
            # The answer to the user's own request: sent whatever the preferences, while it stands.
            booking = await self._owned_booking(str(entry.payload["booking_id"]), user)
            if (
                booking is None
                or booking.status is not BookingStatus.OFFERED
                or booking.offer_expires_at is None
            ):
                return None  # taken, declined or expired meanwhile
            place = await self._place(booking)
            if place is None:
                return None
            return SeatOfferNotice(entry, user, booking, *place, booking.offer_expires_at)
        if entry.kind == "session_cancelled":
            return await self._cancelled_notice(entry, user)
        raise ValueError(f"unknown outbox kind {entry.kind!r}")

    async def _staff_notice(
        self, entry: OutboxEntry, user: User
    ) -> StaffApplicationNotice | BlockedNotice | None:
        """Notices staff send or cause: to a staff member still responsible for a still pending
        application; to a blocked user while they are blocked (the one message they get)."""
        if user.deleted_at is not None or user.unreachable:
            return None
        if entry.kind == "user_blocked":
            return (
                BlockedNotice(entry, user, str(entry.payload["reason"])) if user.blocked else None
            )
        application = await self._applications.get(str(entry.payload["application_id"]))
        if (
            application is None
            or application.status is not ApplicationStatus.PENDING
            or user.blocked
            or not user.can_manage_complex(application.complex_code)
        ):
            return None  # decided meanwhile, or no longer theirs to decide
        return StaffApplicationNotice(entry, user, application)

    async def _cancelled_notice(
        self, entry: OutboxEntry, user: User
    ) -> SessionCancelledNotice | None:
        """Sent whatever the preferences: a session the user counted on is off. Only while the
        booking is the one the cancellation closed, and for a hidden complex too."""
        booking = await self._owned_booking(str(entry.payload["booking_id"]), user)
        if booking is None or booking.status is not BookingStatus.CANCELLED:
            return None
        session = await self._sessions.get(booking.session_id)
        if session is None or not session.cancelled:
            return None
        complex_ = await self._catalog.get_complex(session.complex_code)
        if complex_ is None:
            return None
        return SessionCancelledNotice(entry, user, booking, session, complex_)

    async def _reminder_notice(self, reminder: Reminder) -> ReminderNotice | None:
        """The reminder to send, or None when there is nothing to remind of any more."""
        user = await self._users.get(reminder.user_id)
        if user is None or not self._reachable(user) or not user.notifications.reminders:
            return None
        booking = await self._owned_booking(reminder.booking_id, user)
        if booking is None or booking.status is not BookingStatus.ACTIVE:
            return None
        place = await self._place(booking)
        if place is None:
            return None
        return ReminderNotice(reminder, user, booking, *place)

    async def _owned_booking(self, bid: str, user: User) -> Booking | None:
        booking = await self._bookings.get(bid)
        return booking if booking is not None and booking.user_id == user.telegram_id else None

    async def _place(self, booking: Booking) -> tuple[Session, Complex] | None:
        """The booking's session and its complex, unless either is gone from what residents see."""
        session = await self._sessions.get(booking.session_id)
        if session is None:
            return None
        complex_ = await self._catalog.get_complex(session.complex_code)
        if complex_ is None or not complex_.active:
            return None
        return session, complex_

    @staticmethod
    def _reachable(user: User) -> bool:
        """Registered (not deleted), not blocked by staff, and has not blocked the bot."""
        return user.is_registered and not user.blocked and not user.unreachable
