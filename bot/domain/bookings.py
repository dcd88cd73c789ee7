"""Bookings (записи): a seat in a session, the waitlist behind it, and attendance."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.errors import ValidationFailed


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
    attendance_at: datetime | None = None  # when the attendance was last marked
    checkin_code: str | None = None  # shown to the resident, typed by staff at the door

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


# --- check-in codes ----------------------------------------------------------------------------

# No 0/O/Q, 1/I/L, 2/Z, 5/S, 8/B, nor G (a 6): a code read off a phone is never ambiguous.
CHECKIN_ALPHABET = "34679ACDEFHJKMNPRTUVWXY"
CHECKIN_LENGTH = 6


def new_checkin_code() -> str:
    """A random code of the unambiguous alphabet (unique per session: the database says so)."""
    return "".join(secrets.choice(CHECKIN_ALPHABET) for _ in range(CHECKIN_LENGTH))


def normalize_checkin_code(raw: str) -> str:
    """What staff typed, as stored: spaces and dashes dropped, upper case, Cyrillic look-alikes
    read as the Latin letters they look like (a Russian keyboard types «А», «С», «Е»...)."""
    typed = "".join(ch for ch in raw.strip().upper() if ch not in " -")
    code = typed.translate(_LOOKALIKES)
    if len(code) != CHECKIN_LENGTH or any(ch not in CHECKIN_ALPHABET for ch in code):
        raise ValidationFailed("checkin_code", "malformed")
    return code


_LOOKALIKES = str.maketrans(
    {
        "А": "A",
        "В": "B",
        "С": "C",
        "Е": "E",
        "Н": "H",
        "К": "K",
        "М": "M",
        "Р": "P",
        "Т": "T",
        "Х": "X",
        "У": "Y",
    }
)


# --- attendance ----------------------------------------------------------------------------------

# Staff may record that someone came from this long before the start (people arrive early);
# a no-show only once the session has begun.
ATTENDANCE_OPENS_BEFORE = timedelta(hours=1)


def can_mark_attendance(attendance: Attendance, now: datetime, starts_at: datetime) -> bool:
    if attendance is Attendance.NO_SHOW:
        return now >= starts_at
    return now >= starts_at - ATTENDANCE_OPENS_BEFORE


@dataclass(frozen=True)
class NoShowRule:
    """``limit`` no-shows marked within ``window_days`` stop booking for ``block_days`` after the
    last of them. The no-shows that led to a block do not count towards another one. A ``limit``
    of 0 turns the rule off."""

    limit: int = 3
    window_days: int = 30
    block_days: int = 14

    def __post_init__(self) -> None:
        if self.limit < 0 or self.window_days < 1 or self.block_days < 1:
            raise ValueError("no-show rule: limit >= 0, window and block of at least a day")

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    @property
    def lookback(self) -> timedelta:
        """How far back no-shows can matter to a block still in force now."""
        return timedelta(days=self.window_days + self.block_days)

    def blocked_until(self, no_shows: Iterable[datetime], now: datetime) -> datetime | None:
        """When the block ends, if one is in force at ``now`` (``no_shows``: when each was marked)."""
        if not self.enabled:
            return None
        window = timedelta(days=self.window_days)
        block = timedelta(days=self.block_days)
        counted: list[datetime] = []
        until: datetime | None = None
        for moment in sorted(no_shows):
            counted = [m for m in counted if moment - m < window]
            counted.append(moment)
            if len(counted) >= self.limit:
                until = moment + block
                counted = []
        return until if until is not None and until > now else None
