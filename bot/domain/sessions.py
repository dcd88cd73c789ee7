"""Sessions (занятия): dated time slots with a capacity, and weekly templates that generate them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.errors import ValidationFailed
from bot.domain.i18n import LocalizedText

MAX_CAPACITY = 500
MAX_DURATION_MINUTES = 12 * 60


class Availability(StrEnum):
    """What a resident can do about a session right now."""

    CLOSED = "closed"  # cancelled or already started: nothing to book
    OPEN = "open"  # bookable and a seat is left
    FULL = "full"  # bookable, but only a place on the waitlist


@dataclass(frozen=True)
class Session:
    id: str
    complex_code: str
    sport_code: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int = 0
    title: LocalizedText = field(default_factory=LocalizedText)
    template_id: str | None = None
    cancelled: bool = False

    @property
    def seats_left(self) -> int:
        return max(0, self.capacity - self.booked)

    def is_bookable_at(self, now: datetime) -> bool:
        """A seat or a waitlist place can be asked for until the session starts, unless cancelled."""
        return not self.cancelled and now < self.starts_at

    def availability_at(self, now: datetime) -> Availability:
        if not self.is_bookable_at(now):
            return Availability.CLOSED
        return Availability.OPEN if self.seats_left > 0 else Availability.FULL

    def local_start(self, timezone: str) -> datetime:
        return self.starts_at.astimezone(ZoneInfo(timezone))


def validate_session_shape(starts_at: datetime, ends_at: datetime, capacity: int) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationFailed("starts_at", "naive_datetime")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationFailed("capacity", "out_of_range")
    minutes = (ends_at - starts_at).total_seconds() / 60
    if not 0 < minutes <= MAX_DURATION_MINUTES:
        raise ValidationFailed("ends_at", "bad_duration")


@dataclass(frozen=True)
class WeeklyTemplate:
    id: str
    complex_code: str
    sport_code: str
    weekday: int
    start: time
    duration_minutes: int
    capacity: int
    title: LocalizedText = field(default_factory=LocalizedText)
    active: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValidationFailed("weekday", "out_of_range")
        if not 0 < self.duration_minutes <= MAX_DURATION_MINUTES:
            raise ValidationFailed("duration_minutes", "out_of_range")
        if not 1 <= self.capacity <= MAX_CAPACITY:
            raise ValidationFailed("capacity", "out_of_range")

    def occurrence_id(self, day: date) -> str:
        """Deterministic, so generating the same week twice creates nothing new."""
        return hashlib.sha256(f"{self.id}|{day.isoformat()}".encode()).hexdigest()[:24]

    def occurrences(self, first_day: date, days: int, timezone: str) -> list[Session]:
        zone = ZoneInfo(timezone)
        sessions: list[Session] = []
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            if day.weekday() != self.weekday:
                continue
            local_start = datetime.combine(day, self.start, tzinfo=zone)
            starts_at = local_start.astimezone(UTC)
            sessions.append(
                Session(
                    id=self.occurrence_id(day),
                    complex_code=self.complex_code,
                    sport_code=self.sport_code,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=self.duration_minutes),
                    capacity=self.capacity,
                    title=self.title,
                    template_id=self.id,
                )
            )
        return sessions


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants at which a local calendar day starts and ends."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end
