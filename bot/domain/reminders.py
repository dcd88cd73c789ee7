"""Reminders: MongoDB documents with a due time, claimed atomically by a periodic task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ReminderKind(StrEnum):
    DAY_BEFORE = "day_before"
    HOURS_BEFORE = "hours_before"


class ReminderStatus(StrEnum):
    PENDING = "pending"  # to send when due and ``next_attempt_at`` is reached
    SENDING = "sending"  # claimed by a worker until ``claimed_until``
    SENT = "sent"
    CANCELLED = "cancelled"  # the booking was cancelled
    FAILED = "failed"  # given up on by an earlier version (kept for the documents it wrote)
    SKIPPED = "skipped"  # nothing to remind of any more, or the user is unreachable
    STALE = "stale"  # the session started before it could be sent
    PARKED = "parked"  # failed too often for a reason that is not transient: an operator looks


REMINDER_LEAD = {
    ReminderKind.DAY_BEFORE: timedelta(hours=24),
    ReminderKind.HOURS_BEFORE: timedelta(hours=2),
}


def reminder_id(booking_id: str, kind: ReminderKind) -> str:
    return f"{booking_id}:{kind.value}"


@dataclass(frozen=True)
class Reminder:
    id: str
    user_id: int
    booking_id: str
    session_id: str
    kind: ReminderKind
    due_at: datetime
    status: ReminderStatus = ReminderStatus.PENDING
    attempts: int = 0
    claimed_until: datetime | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None  # after a failed attempt: not before then
    failures: int = 0  # failed attempts that were not transient (parked after too many)
    last_error: str | None = None


@dataclass(frozen=True)
class ReminderStats:
    """What the workers' gauges show of the reminders."""

    overdue: int  # pending and due more than five minutes ago
    oldest_due_at: datetime | None  # of the reminders due and not sent yet
    parked: int


def plan_reminders(
    *, booking_id: str, user_id: int, session_id: str, starts_at: datetime, now: datetime
) -> list[Reminder]:
    """Reminders still in the future; one booked an hour ahead gets none of the 24 h kind."""
    planned = []
    for kind, lead in REMINDER_LEAD.items():
        due = starts_at - lead
        if due > now:
            planned.append(
                Reminder(reminder_id(booking_id, kind), user_id, booking_id, session_id, kind, due)
            )
    return planned
