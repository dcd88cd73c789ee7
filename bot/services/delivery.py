"""Delivery of what is not a direct reply: outbox notices (status changes, seat offers) and
due reminders. Run by the workers; each item is claimed atomically, so one is sent once even with
several workers, and a worker that dies mid-way leaves it to be claimed again after its lease.

Whether an item is still to be sent is decided here, once: the user must be reachable (registered,
not blocked, not unreachable) and want that kind of message, and what it is about must still hold
(the application is theirs, the offer still stands, the booking is still active). The sender is
handed what was read for that decision and only words and sends it.

Delivery does not give up on a transient failure (429, 5xx, network, a store that is away): the
item waits ``DeliveryPolicy.retry_delay`` (exponential, jittered, up to hours; at least Telegram's
``retry_after``) and goes again, until it is stale — a reminder once its session started, a seat
offer once it expired, any notice after ``notice_max_age``. A failure that is not transient
(Telegram refused the message with a 400, it cannot be rendered, an unknown kind) is recorded with
its error and retried too, and after ``poison_attempts`` of them the item is parked for an
operator. One item's failure never stops the rest of the batch. Notices are claimed one at a
time, right before they are sent; reminders a few at a time (``REMINDER_CLAIM_BATCH``: a batch of
a thousand due in one minute is bound by the database's writes, and a claim of several costs what
a claim of one does). Every claim is renewed while a send waits for the cluster-wide limiter, the
claimed reminders not sent yet along with it, and a reminder whose claim lapsed all the same (the
renewals failed) is left alone, since another worker may have it now. A worker that dies leaves
what it had claimed, free again after the lease.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import Booking, BookingStatus
from bot.domain.catalog import Complex
from bot.domain.reminders import Reminder, ReminderStats
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
    OutboxStats,
    OutboxStatus,
    ReminderNotice,
    SeatOfferNotice,
    SendOutcome,
    SessionCancelledNotice,
    StaffApplicationNotice,
)
from bot.services.ports.tracing import NO_TRACING, DeliveryTracing
from bot.services.reminders import ReminderService

log = logging.getLogger(__name__)
T = TypeVar("T")
# Outbox kinds addressed to staff or caused by staff, decided by ``_staff_notice``.
STAFF_KINDS = frozenset({"staff_new_application", "user_blocked"})
REMINDER_CLAIM_BATCH = 8


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long a claim holds and how failed items are retried (``CelerySettings.delivery_*``)."""

    lease: timedelta = timedelta(seconds=60)
    retry_initial: timedelta = timedelta(seconds=15)
    retry_max: timedelta = timedelta(hours=2)
    poison_attempts: int = 5
    notice_max_age: timedelta = timedelta(days=3)

    def retry_delay(self, attempts: int, jitter: float) -> timedelta:
        """The wait after ``attempts`` tries: doubling from ``retry_initial`` up to
        ``retry_max``, the upper half of it spread by ``jitter`` (0 <= jitter < 1)."""
        initial, ceiling = self.retry_initial.total_seconds(), self.retry_max.total_seconds()
        full = min(ceiling, initial * 2 ** min(attempts, 40))
        return timedelta(seconds=full / 2 + full / 2 * jitter)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    skipped: int = 0  # no longer applied
    retried: int = 0  # failed, to be tried again later
    unreachable: int = 0  # the user blocked the bot
    stale: int = 0  # not delivered in time: dropped
    parked: int = 0  # failed too often for a reason that is not transient
    # From due to sent, per reminder sent (seconds).
    lags_s: tuple[float, ...] = ()

    def counts(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "skipped": self.skipped,
            "retried": self.retried,
            "unreachable": self.unreachable,
            "stale": self.stale,
            "parked": self.parked,
        }


@dataclass(frozen=True)
class DeliveryBacklog:
    """What waits, for the workers' gauges."""

    notices: OutboxStats
    reminders: ReminderStats


@dataclass
class _Tally:
    counts: dict[DeliveryResult, int] = field(
        default_factory=lambda: dict.fromkeys(DeliveryResult, 0)
    )
    parked: int = 0
    lags_s: list[float] = field(default_factory=list)

    def report(self) -> DeliveryReport:
        c = self.counts
        return DeliveryReport(
            sent=c[DeliveryResult.SENT],
            skipped=c[DeliveryResult.SKIPPED],
            retried=c[DeliveryResult.RETRY] + c[DeliveryResult.FAILED] - self.parked,
            unreachable=c[DeliveryResult.UNREACHABLE],
            stale=c[DeliveryResult.STALE],
            parked=self.parked,
            lags_s=tuple(self.lags_s),
        )


def _builtin_transient(error: BaseException) -> bool:
    """Without the composition root's classification: only the standard library's own."""
    return isinstance(error, ConnectionError | TimeoutError)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]


@dataclass
class _ClaimedReminders:
    """Reminders claimed together, sent one after another; ``lease_until``: when their claims
    lapse (on the service's clock), moved on by every renewal."""

    waiting: list[Reminder]
    lease_until: datetime
    current: Reminder | None = None

    def next(self) -> Reminder | None:
        self.current = self.waiting.pop(0) if self.waiting else None
        return self.current

    def held(self) -> list[Reminder]:
        return ([self.current] if self.current is not None else []) + self.waiting


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
        policy: DeliveryPolicy | None = None,
        is_transient: Callable[[BaseException], bool] = _builtin_transient,
        jitter: Callable[[], float] = random.random,
        tracing: DeliveryTracing = NO_TRACING,
    ) -> None:
        self._outbox = outbox
        self._reminders = reminders
        self._users = users
        self._bookings = bookings
        self._sender = sender
        self._applications = applications
        self._sessions = sessions
        self._catalog = catalog
        self._policy = policy or DeliveryPolicy()
        self._is_transient = is_transient
        self._jitter = jitter
        self._tracing = tracing
        self._clock = reminders.clock

    @property
    def policy(self) -> DeliveryPolicy:
        return self._policy

    async def backlog(self) -> DeliveryBacklog:
        return DeliveryBacklog(await self._outbox.stats(), await self._reminders.stats())

    async def deliver_notices(
        self, limit: int = 50, *, until: datetime | None = None
    ) -> DeliveryReport:
        """Send up to ``limit`` due notices, claiming none after ``until``."""
        tally = _Tally()
        for _ in range(limit):
            if until is not None and self._clock.now() >= until:
                break
            claimed = await self._outbox.claim(self._policy.lease, 1)
            if not claimed:
                break
            entry = claimed[0]
            with self._tracing.delivering("notice", entry.kind, entry.trace_context):
                await self._deliver_notice(entry, tally)
        return tally.report()

    async def deliver_reminders(
        self, limit: int = 50, *, until: datetime | None = None
    ) -> DeliveryReport:
        """Send up to ``limit`` due reminders, claiming none after ``until``."""
        tally = _Tally()
        handled = 0
        while handled < limit:
            if until is not None and self._clock.now() >= until:
                break
            claimed_at = self._clock.now()  # the claims last a lease from a moment after this
            claimed = await self._reminders.claim_due(
                min(REMINDER_CLAIM_BATCH, limit - handled), lease=self._policy.lease
            )
            if not claimed:
                break
            handled += len(claimed)
            batch = _ClaimedReminders(claimed, claimed_at + self._policy.lease)
            while (reminder := batch.next()) is not None:
                if not await self._still_claimed(batch):
                    log.warning("reminder %s: its claim lapsed before its turn; left", reminder.id)
                    continue
                # A reminder falls due hours after the booking that wrote it: its delivery is a
                # trace of its own, under the task run.
                with self._tracing.delivering("reminder", reminder.kind.value, None):
                    await self._deliver_reminder(reminder, tally, batch)
        return tally.report()

    # --- one item ----------------------------------------------------------------------------

    async def _deliver_notice(self, entry: OutboxEntry, tally: _Tally) -> None:
        key = entry.key
        try:
            notice = await self._notice(entry)
            if notice is None:
                outcome = SendOutcome(DeliveryResult.SKIPPED, "no longer applies")
            else:
                not_after = self._notice_stale_at(entry, notice)
                if not_after is not None and self._clock.now() >= not_after:
                    outcome = SendOutcome(DeliveryResult.STALE, "not delivered in time")
                else:
                    outcome = await self._while_claimed(
                        lambda: self._outbox.renew(key, self._policy.lease),
                        self._sender.send_notice(notice, not_after=not_after),
                    )
        except Exception as error:
            outcome = self._failure(error, f"notice {key}")
        tally.counts[outcome.result] += 1
        match outcome.result:
            case DeliveryResult.SENT:
                await self._outbox.done(key)
            case DeliveryResult.SKIPPED:
                await self._outbox.close(
                    key, status=OutboxStatus.SKIPPED, reason=outcome.error or "skipped"
                )
            case DeliveryResult.STALE:
                await self._outbox.close(
                    key, status=OutboxStatus.STALE, reason=outcome.error or "stale"
                )
            case DeliveryResult.UNREACHABLE:
                await self._users.set_unreachable(entry.user_id, True)
                await self._outbox.close(key, status=OutboxStatus.SKIPPED, reason="unreachable")
            case DeliveryResult.RETRY:
                await self._outbox.retry_later(
                    key,
                    at=self._next_attempt(entry.attempts, outcome),
                    error=outcome.error or "transient failure",
                    failure=False,
                )
            case DeliveryResult.FAILED:
                reason = outcome.error or "failed"
                if entry.failures + 1 >= self._policy.poison_attempts:
                    tally.parked += 1
                    log.error(
                        "notice %s parked after %d failures: %s", key, entry.failures + 1, reason
                    )
                    await self._outbox.park(key, error=reason)
                else:
                    log.warning("notice %s failed (%d): %s", key, entry.failures + 1, reason)
                    await self._outbox.retry_later(
                        key,
                        at=self._next_attempt(entry.attempts, outcome),
                        error=reason,
                        failure=True,
                    )

    async def _still_claimed(self, batch: _ClaimedReminders) -> bool:
        """True while the batch's claims hold, renewed first when less than half a lease is
        left (a send after it may take a while). A lapsed claim is never renewed: another
        worker may hold it by now."""
        left = batch.lease_until - self._clock.now()
        if left > self._policy.lease / 2:
            return True
        if left > timedelta(0):
            try:
                await self._renew_reminders(batch)
            except Exception:
                log.warning("renewing claimed reminders failed", exc_info=True)
        return self._clock.now() < batch.lease_until

    async def _renew_reminders(self, batch: _ClaimedReminders) -> None:
        """Renew the reminder being sent and those claimed with it that wait their turn."""
        until = self._clock.now() + self._policy.lease
        for reminder in batch.held():
            await self._reminders.renew(reminder, self._policy.lease)
        batch.lease_until = until

    async def _deliver_reminder(
        self, reminder: Reminder, tally: _Tally, batch: _ClaimedReminders
    ) -> None:
        try:
            notice = await self._reminder_notice(reminder)
            if notice is None:
                outcome = SendOutcome(DeliveryResult.SKIPPED, "nothing to remind of")
            elif self._clock.now() >= notice.session.starts_at:
                outcome = SendOutcome(DeliveryResult.STALE, "the session has started")
            else:
                outcome = await self._while_claimed(
                    lambda: self._renew_reminders(batch),
                    self._sender.send_reminder(notice, not_after=notice.session.starts_at),
                )
        except Exception as error:
            outcome = self._failure(error, f"reminder {reminder.id}")
        tally.counts[outcome.result] += 1
        match outcome.result:
            case DeliveryResult.SENT:
                await self._reminders.sent(reminder)
                tally.lags_s.append((self._clock.now() - reminder.due_at).total_seconds())
            case DeliveryResult.SKIPPED:
                await self._reminders.skip(reminder, outcome.error or "skipped")
            case DeliveryResult.STALE:
                await self._reminders.stale(reminder)
            case DeliveryResult.UNREACHABLE:
                await self._users.set_unreachable(reminder.user_id, True)
                await self._reminders.skip(reminder, "unreachable")
            case DeliveryResult.RETRY:
                await self._reminders.retry_later(
                    reminder,
                    at=self._next_attempt(reminder.attempts, outcome),
                    error=outcome.error or "transient failure",
                    failure=False,
                )
            case DeliveryResult.FAILED:
                reason = outcome.error or "failed"
                if reminder.failures + 1 >= self._policy.poison_attempts:
                    tally.parked += 1
                    log.error(
                        "reminder %s parked after %d failures: %s",
                        reminder.id,
                        reminder.failures + 1,
                        reason,
                    )
                    await self._reminders.park(reminder, reason)
                else:
                    log.warning(
                        "reminder %s failed (%d): %s", reminder.id, reminder.failures + 1, reason
                    )
                    await self._reminders.retry_later(
                        reminder,
                        at=self._next_attempt(reminder.attempts, outcome),
                        error=reason,
                        failure=True,
                    )

    def _failure(self, error: Exception, what: str) -> SendOutcome:
        """An exception while deciding, rendering or sending: transient, or counted as a failure."""
        if self._is_transient(error):
            log.warning("%s: transient failure, retried later: %s", what, _describe(error))
            return SendOutcome(DeliveryResult.RETRY, _describe(error))
        log.exception("%s could not be delivered", what)
        return SendOutcome(DeliveryResult.FAILED, _describe(error))

    def _next_attempt(self, attempts: int, outcome: SendOutcome) -> datetime:
        delay = self._policy.retry_delay(attempts, self._jitter())
        if outcome.retry_after_s is not None:
            delay = max(delay, timedelta(seconds=outcome.retry_after_s))
        return self._clock.now() + delay

    def _notice_stale_at(self, entry: OutboxEntry, notice: OutboxNotice) -> datetime | None:
        """When a notice is no use any more: its age limit, or an offer's expiry if sooner."""
        deadline = (
            entry.created_at + self._policy.notice_max_age if entry.created_at is not None else None
        )
        if isinstance(notice, SeatOfferNotice):
            deadline = min(deadline, notice.offer_until) if deadline else notice.offer_until
        return deadline

    async def _while_claimed(self, renew: Callable[[], Awaitable[None]], send: Awaitable[T]) -> T:
        """Await ``send``, renewing the item's claim every third of the lease meanwhile (a send
        may wait long for the limiter); a worker that dies stops renewing, and the claim lapses."""
        task = asyncio.ensure_future(send)
        period = max(self._policy.lease.total_seconds() / 3, 0.01)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=period)
                if done:
                    return task.result()
                try:
                    await renew()
                except Exception:
                    log.warning("renewing a claim failed; the send goes on", exc_info=True)
        finally:
            task.cancel()

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
        booking is the one the cancellation closed (or still open: the notice is recorded just
        before the booking is closed), and for a hidden complex too."""
        booking = await self._owned_booking(str(entry.payload["booking_id"]), user)
        if booking is None or not (booking.status is BookingStatus.CANCELLED or booking.is_open):
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
        """The booking's session and its complex, unless the session was cancelled or either is
        gone from what residents see."""
        session = await self._sessions.get(booking.session_id)
        if session is None or session.cancelled:
            return None
        complex_ = await self._catalog.get_complex(session.complex_code)
        if complex_ is None or not complex_.active:
            return None
        return session, complex_

    @staticmethod
    def _reachable(user: User) -> bool:
        """Registered (not deleted), not blocked by staff, and has not blocked the bot."""
        return user.is_registered and not user.blocked and not user.unreachable
