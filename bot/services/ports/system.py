"""Ports for the world outside storage: time, phone parsing, notifications, calendar files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.domain.applications import Application
from bot.domain.bookings import Booking
from bot.domain.catalog import Complex
from bot.domain.reminders import Reminder
from bot.domain.sessions import Session
from bot.domain.users import User


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC now."""
        ...


class PhoneNormalizer(Protocol):
    def normalize(self, raw: str) -> str | None:
        """E.164 form of a valid phone number, or None."""
        ...


class Notifier(Protocol):
    """Messages to users that are not a direct answer to their own update.

    Each notice is keyed by what happened, so recording it again (a redelivered update, the
    repair task) is harmless: every method answers True when it recorded the notice now, False
    when it was recorded already."""

    async def application_status_changed(self, application: Application) -> bool: ...

    async def seat_offered(self, booking: Booking, session: Session) -> bool: ...

    async def session_cancelled(self, booking: Booking, session: Session) -> bool:
        """Staff cancelled the session (or hid its complex); ``booking`` was closed by it."""
        ...

    async def new_application_for_staff(self, application: Application, staff_id: int) -> bool:
        """A new application, for one staff member responsible for its complex."""
        ...

    async def user_blocked(self, telegram_id: int, event_id: str, reason: str) -> bool:
        """Staff blocked the user (``event_id``: the audit entry of that block)."""
        ...


class CalendarRenderer(Protocol):
    def render_booking(self, session: Session, complex_: Complex, language: str) -> bytes: ...


@dataclass(frozen=True)
class OutboxEntry:
    """A message to a user recorded in the outbox: what happened, not how it is worded."""

    key: str
    kind: str
    user_id: int
    payload: Mapping[str, str]
    attempts: int = 0  # deliveries tried so far (the retry delay doubles with each)
    failures: int = 0  # of those, the ones that failed for a reason that is not transient
    created_at: datetime | None = None
    # The W3C traceparent of the span that recorded it (tracing on): its delivery continues it.
    trace_context: str | None = None


class DeliveryResult(StrEnum):
    SENT = "sent"
    UNREACHABLE = "unreachable"  # the user blocked the bot: do not retry
    RETRY = "retry"  # a transient failure (429, 5xx, network): try again later
    FAILED = "failed"  # refused (400) or cannot be rendered: a retry is unlikely to help
    STALE = "stale"  # it could not leave before it went stale (``not_after`` passed while waiting)
    SKIPPED = "skipped"  # no longer applies (offer gone, opted out)


@dataclass(frozen=True)
class SendOutcome:
    """How one send ended, with what Telegram said when it was not sent."""

    result: DeliveryResult
    error: str | None = None  # Telegram's description of a refusal or failure
    retry_after_s: float | None = None  # Telegram's retry_after of a 429


class OutboxStatus(StrEnum):
    PENDING = "pending"  # to send at ``next_attempt_at``
    SENDING = "sending"  # claimed by a worker until ``claimed_until``
    SENT = "sent"
    SKIPPED = "skipped"  # no longer applied, or the user was unreachable
    STALE = "stale"  # not delivered in time
    PARKED = "parked"  # failed too often for a reason that is not transient: an operator looks


@dataclass(frozen=True)
class OutboxStats:
    backlog: int  # pending or being sent
    oldest_created_at: datetime | None  # of the backlog
    parked: int


class Outbox(Protocol):
    async def claim(self, lease: timedelta, limit: int) -> list[OutboxEntry]:
        """Entries due (``next_attempt_at`` reached) or whose claim lapsed, oldest first."""
        ...

    async def renew(self, key: str, lease: timedelta) -> None:
        """Keep a claimed entry claimed for ``lease`` from now (a long send is still going)."""
        ...

    async def done(self, key: str) -> None: ...

    async def retry_later(self, key: str, *, at: datetime, error: str, failure: bool) -> None:
        """Back to pending until ``at``; ``failure`` counts it toward parking."""
        ...

    async def park(self, key: str, *, error: str) -> None: ...

    async def close(self, key: str, *, status: OutboxStatus, reason: str) -> None:
        """Closed unsent: ``SKIPPED`` or ``STALE``."""
        ...

    async def stats(self) -> OutboxStats: ...


@dataclass(frozen=True)
class ApplicationStatusNotice:
    """An application's status changed; the user wants to hear of it."""

    entry: OutboxEntry
    user: User
    application: Application


@dataclass(frozen=True)
class SeatOfferNotice:
    """A freed seat is held for the user until ``booking.offer_expires_at``."""

    entry: OutboxEntry
    user: User
    booking: Booking
    session: Session
    complex_: Complex
    offer_until: datetime


@dataclass(frozen=True)
class SessionCancelledNotice:
    """A session the user was booked on (or waiting for) was cancelled by staff."""

    entry: OutboxEntry
    user: User
    booking: Booking
    session: Session
    complex_: Complex


@dataclass(frozen=True)
class ReminderNotice:
    """A reminder of an active booking, due now."""

    reminder: Reminder
    user: User
    booking: Booking
    session: Session
    complex_: Complex


@dataclass(frozen=True)
class StaffApplicationNotice:
    """A new application, still pending, for a staff member responsible for its complex."""

    entry: OutboxEntry
    user: User
    application: Application


@dataclass(frozen=True)
class BlockedNotice:
    """The user was blocked by staff (and still is), with the reason they gave."""

    entry: OutboxEntry
    user: User
    reason: str


OutboxNotice = (
    ApplicationStatusNotice
    | SeatOfferNotice
    | StaffApplicationNotice
    | BlockedNotice
    | SessionCancelledNotice
)


class NoticeSender(Protocol):
    """Words and sends notices and reminders in the user's language (the Telegram layer).

    The delivery service has decided that each one is to be sent and read what it is about; the
    sender only renders and sends it.
    """

    async def send_notice(
        self, notice: OutboxNotice, *, not_after: datetime | None = None
    ) -> SendOutcome:
        """Send now, or ``STALE`` if it could not leave before ``not_after`` (the limiter)."""
        ...

    async def send_reminder(
        self, notice: ReminderNotice, *, not_after: datetime | None = None
    ) -> SendOutcome: ...
