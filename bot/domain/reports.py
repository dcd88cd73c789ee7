"""Reporting periods: whole local days, from the first to the last (both included).

A period is calendar days, so it means the same in every time zone: each complex's figures are
counted between the local midnights of its own zone (``Period.bounds``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.errors import ValidationFailed

MAX_PERIOD_DAYS = 366


class PeriodKind(StrEnum):
    """The periods staff pick from (the values travel in callback data: never change one)."""

    TODAY = "t"
    WEEK = "w"  # the last 7 days, today included
    MONTH = "m"  # the last 30 days
    QUARTER = "q"  # the last 90 days
    THIS_MONTH = "cm"  # from the 1st of this month to today
    LAST_MONTH = "pm"  # the whole previous calendar month


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValidationFailed("period", "reversed")
        if self.days > MAX_PERIOD_DAYS:
            raise ValidationFailed("period", "too_long")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """The UTC instants of the first day's local midnight and of the one after the last day."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.first, time.min, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=zone)
        return start, end.astimezone(UTC)


def last_days(days: int, today: date) -> Period:
    """The last ``days`` days, today included (``admin_tools.py stats --days N``)."""
    if not 1 <= days <= MAX_PERIOD_DAYS:
        raise ValidationFailed("days", "out_of_range")
    return Period(today - timedelta(days=days - 1), today)


def period_of(kind: PeriodKind, today: date) -> Period:
    if kind is PeriodKind.TODAY:
        return Period(today, today)
    if kind is PeriodKind.WEEK:
        return last_days(7, today)
    if kind is PeriodKind.MONTH:
        return last_days(30, today)
    if kind is PeriodKind.QUARTER:
        return last_days(90, today)
    first_of_month = today.replace(day=1)
    if kind is PeriodKind.THIS_MONTH:
        return Period(first_of_month, today)
    previous_last = first_of_month - timedelta(days=1)
    return Period(previous_last.replace(day=1), previous_last)


def share(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide by (no data is not 0 %)."""
    return part / whole if whole > 0 else None
