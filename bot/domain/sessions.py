"""Sessions (занятия): dated time slots with a capacity, and weekly templates that generate them."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
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
    cancel_reason: str | None = None

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


# --- what staff type when they set up a session ------------------------------------------------

MAX_DAYS_AHEAD = 366  # a one-off session is planned at most a year ahead
REASON_MIN_LENGTH = 3
REASON_MAX_LENGTH = 200
_DAY = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_CLOCK = re.compile(r"^(\d{1,2})[:.\-](\d{2})$")
_HOURS_MINUTES = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_day(raw: str, today: date) -> date:
    """«25.11», «25.11.2026», «25/11/26» or «2026-11-25»; without a year, the next such day."""
    text = raw.strip()
    iso = _ISO_DAY.match(text)
    found = _DAY.match(text)
    try:
        if iso:
            day = date(int(iso[1]), int(iso[2]), int(iso[3]))
        elif found:
            year_text = found[3]
            if year_text is None:
                day = date(today.year, int(found[2]), int(found[1]))
                if day < today:
                    day = date(today.year + 1, day.month, day.day)
            else:
                year = int(year_text) + (2000 if len(year_text) == 2 else 0)
                day = date(year, int(found[2]), int(found[1]))
        else:
            raise ValidationFailed("day", "format")
    except ValueError as error:  # 31.02, month 13
        raise ValidationFailed("day", "no_such_day") from error
    if day < today:
        raise ValidationFailed("day", "in_past")
    if (day - today).days > MAX_DAYS_AHEAD:
        raise ValidationFailed("day", "too_far")
    return day


def parse_clock(raw: str) -> time:
    """«10:00», «9.30», «18-45»: a local start time."""
    found = _CLOCK.match(raw.strip())
    if not found:
        raise ValidationFailed("start", "format")
    hour, minute = int(found[1]), int(found[2])
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValidationFailed("start", "format")
    return time(hour, minute)


def parse_duration(raw: str) -> int:
    """Minutes («60») or hours and minutes («1:30»), up to MAX_DURATION_MINUTES."""
    text = raw.strip().lower().removesuffix("мин").removesuffix("min").strip()
    found = _HOURS_MINUTES.match(text)
    if found:
        minutes = int(found[1]) * 60 + int(found[2])
    elif text.isdigit() and len(text) <= 4:
        minutes = int(text)
    else:
        raise ValidationFailed("duration", "format")
    if not 0 < minutes <= MAX_DURATION_MINUTES:
        raise ValidationFailed("duration", "out_of_range")
    return minutes


def parse_capacity(raw: str) -> int:
    text = raw.strip()
    if not text.isdigit() or len(text) > 4:
        raise ValidationFailed("capacity", "format")
    capacity = int(text)
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationFailed("capacity", "out_of_range")
    return capacity


def validate_reason(raw: str) -> str:
    """Why a session is cancelled: told to everyone booked, so plain and bounded."""
    reason = " ".join(raw.split())
    if any(unicodedata.category(ch).startswith("C") for ch in reason):
        raise ValidationFailed("reason", "characters")
    if len(reason) < REASON_MIN_LENGTH:
        raise ValidationFailed("reason", "too_short")
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed("reason", "too_long")
    return reason


class DraftKind(StrEnum):
    ONE_OFF = "one_off"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class SessionDraft:
    """A session or weekly slot being set up in the staff dialog, field by field.

    It lives in the dialog state between updates (``to_data``/``from_data``), so whatever was
    typed so far survives a bad input, and another bot instance picks it up.
    """

    kind: DraftKind
    complex_code: str
    sport_code: str | None = None
    day: date | None = None  # one-off sessions
    weekday: int | None = None  # weekly slots
    start: time | None = None
    duration_minutes: int | None = None
    capacity: int | None = None

    @property
    def weekly(self) -> bool:
        return self.kind is DraftKind.WEEKLY

    def missing(self) -> str | None:
        """The next field to ask for, or None when the draft is complete."""
        if self.sport_code is None:
            return "sport"
        if self.weekly and self.weekday is None:
            return "weekday"
        if not self.weekly and self.day is None:
            return "day"
        if self.start is None:
            return "start"
        if self.duration_minutes is None:
            return "duration"
        if self.capacity is None:
            return "capacity"
        return None

    def with_weekday(self, weekday: int) -> SessionDraft:
        if not 0 <= weekday <= 6:
            raise ValidationFailed("weekday", "out_of_range")
        return replace(self, weekday=weekday)

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "complex": self.complex_code,
            "sport": self.sport_code,
            "day": self.day.isoformat() if self.day else None,
            "weekday": self.weekday,
            "start": self.start.isoformat("minutes") if self.start else None,
            "duration": self.duration_minutes,
            "capacity": self.capacity,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> SessionDraft:
        """The draft kept in the dialog state; ValueError when it is not one."""
        try:
            day, start = data.get("day"), data.get("start")
            weekday, duration, capacity = (
                data.get("weekday"),
                data.get("duration"),
                data.get("capacity"),
            )
            return cls(
                kind=DraftKind(data["kind"]),
                complex_code=str(data["complex"]),
                sport_code=str(data["sport"]) if data.get("sport") else None,
                day=date.fromisoformat(day) if day else None,
                weekday=int(weekday) if weekday is not None else None,
                start=time.fromisoformat(start) if start else None,
                duration_minutes=int(duration) if duration is not None else None,
                capacity=int(capacity) if capacity is not None else None,
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a session draft: {error}") from error
