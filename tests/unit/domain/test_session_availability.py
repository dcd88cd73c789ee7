"""Whether a session can be booked, and what can be asked for: the one rule the booking service
and the schedule screens share."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.sessions import Availability, Session

START = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
SESSION = Session("s" * 24, "c", "swim", START, START + timedelta(hours=1), capacity=2)


@pytest.mark.parametrize(
    ("session", "now", "expected"),
    [
        (SESSION, START - timedelta(days=1), Availability.OPEN),
        (replace(SESSION, booked=1), START - timedelta(seconds=1), Availability.OPEN),
        (replace(SESSION, booked=2), START - timedelta(hours=1), Availability.FULL),
        (replace(SESSION, booked=3), START - timedelta(hours=1), Availability.FULL),
        (SESSION, START, Availability.CLOSED),  # starting now is too late
        (SESSION, START + timedelta(minutes=5), Availability.CLOSED),
        (replace(SESSION, cancelled=True), START - timedelta(days=1), Availability.CLOSED),
        (
            replace(SESSION, cancelled=True, booked=2),
            START - timedelta(days=1),
            Availability.CLOSED,
        ),
    ],
)
def test_availability(session: Session, now: datetime, expected: Availability) -> None:
    assert session.availability_at(now) is expected
    assert session.is_bookable_at(now) is (expected is not Availability.CLOSED)
