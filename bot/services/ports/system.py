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
    """Messages to users that are not a direct answer to their own update."""

    async def application_status_changed(self, application: Application) -> None: ...

    async def seat_offered(self, booking: Booking, session: Session) -> None: ...

    async def session_cancelled(self, booking: Booking, session: Session) -> None:
        """Staff cancelled the session (or hid its complex); ``booking`` was closed by it."""
        ...

    async def new_application_for_staff(self, application: Application, staff_id: int) -> None:
        """A new application, for one staff member responsible for its complex."""
        ...

    async def user_blocked(self, telegram_id: int, event_id: str, reason: str) -> None:
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
    attempts: int = 0


class DeliveryResult(StrEnum):
    SENT = "sent"
    UNREACHABLE = "unreachable"  # the user blocked the bot: do not retry
    RETRY = "retry"  # a transient failure (429, network): try again later
    SKIPPED = "skipped"  # no longer applies (offer gone, opted out) or refused for good


class Outbox(Protocol):
    async def claim(self, lease: timedelta, limit: int) -> list[OutboxEntry]: ...

    async def done(self, key: str) -> None: ...

    async def failed(self, key: str, *, final: bool) -> None: ...


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

    async def send_notice(self, notice: OutboxNotice) -> DeliveryResult: ...

    async def send_reminder(self, notice: ReminderNotice) -> DeliveryResult: ...
