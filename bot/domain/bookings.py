"""Bookings (записи): a seat in a session, the waitlist behind it, and attendance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class BookingStatus(StrEnum):
    RESERVING = "reserving"  # a seat is being claimed right now (crash-safe intermediate)
    ACTIVE = "active"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"  # a freed seat is held for this person until offer_expires_at
    CANCELLED = "cancelled"
    DECLINED = "declined"
    EXPIRED = "expired"


class Attendance(StrEnum):
    ATTENDED = "attended"
    NO_SHOW = "no_show"


# Statuses that hold one of the session's seats: the session's `booked` counter equals their count.
SEAT_HOLDING = frozenset({BookingStatus.RESERVING, BookingStatus.ACTIVE, BookingStatus.OFFERED})
OPEN_STATUSES = frozenset(
    {BookingStatus.RESERVING, BookingStatus.ACTIVE, BookingStatus.WAITLISTED, BookingStatus.OFFERED}
)


def booking_id(session_id: str, user_id: int) -> str:
    """One record per (session, user): the id itself makes a second booking impossible."""
    return f"{session_id}:{user_id}"


@dataclass(frozen=True)
class Booking:
    id: str
    session_id: str
    user_id: int
    status: BookingStatus
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None = None
    offer_expires_at: datetime | None = None
    attendance: Attendance | None = None
    attendance_by: int | None = None
    confirmed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def cancellation_deadline(starts_at: datetime, window_hours: int) -> datetime:
    return starts_at - timedelta(hours=window_hours)


def can_cancel(now: datetime, starts_at: datetime, window_hours: int) -> bool:
    return now < cancellation_deadline(starts_at, window_hours)


@dataclass(frozen=True)
class BookingOutcome:
    """What a booking attempt ended in: a seat, a place in the queue, or what already existed."""

    booking: Booking
    created: bool
    waitlist_position: int | None = None

    @property
    def booked(self) -> bool:
        return self.booking.status is BookingStatus.ACTIVE

    @property
    def waitlisted(self) -> bool:
        return self.booking.status is BookingStatus.WAITLISTED
