"""Ports for the world outside storage: time, phone parsing, notifications, calendar files."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.domain.applications import Application
from bot.domain.bookings import Booking
from bot.domain.catalog import Complex
from bot.domain.sessions import Session


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


class CalendarRenderer(Protocol):
    def render_booking(self, session: Session, complex_: Complex, language: str) -> bytes: ...
