"""Reminder times and the weekly report's schedule across daylight-saving changes.

The complexes' zones (Moscow, Yekaterinburg) keep no DST now, but a zone with it (Berlin, where the
clocks jump on the last Sundays of March and October) must not shift what "24 hours before" and
"Monday 09:00 local" mean.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from celery import Celery
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.reminders import REMINDER_LEAD, ReminderKind, plan_reminders
from bot.settings import CelerySettings, ReportSettings
from workers.config import create_celery
from workers.schedule import weekly_report_schedule

ZONES = st.sampled_from(
    ["Europe/Moscow", "Asia/Yekaterinburg", "Europe/Berlin", "America/New_York"]
)
# Instants around the years' DST changes included, to the minute.
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(second=0, microsecond=0))


@given(starts_at=instants, ahead=st.timedeltas(timedelta(0), timedelta(days=3)))
def test_reminders_are_their_lead_before_the_start_and_only_in_the_future(
    starts_at: datetime, ahead: timedelta
) -> None:
    now = starts_at - ahead
    planned = plan_reminders(
        booking_id="b1", user_id=7, session_id="s1", starts_at=starts_at, now=now
    )
    expected = {kind for kind, lead in REMINDER_LEAD.items() if starts_at - lead > now}
    assert {reminder.kind for reminder in planned} == expected
    for reminder in planned:
        # Absolute time: 24 h before is 24 real hours, whatever the wall clock did meanwhile.
        assert starts_at - reminder.due_at == REMINDER_LEAD[reminder.kind]
        assert reminder.due_at > now
        assert reminder.due_at.utcoffset() == timedelta(0)
    assert len({reminder.id for reminder in planned}) == len(planned)


@given(zone=ZONES, local_start=instants)
def test_the_day_before_reminder_across_a_dst_change_is_one_wall_clock_hour_off_at_most(
    zone: str, local_start: datetime
) -> None:
    tz = ZoneInfo(zone)
    starts_at = local_start.replace(tzinfo=None).replace(tzinfo=tz).astimezone(UTC)
    planned = plan_reminders(
        booking_id="b1",
        user_id=7,
        session_id="s1",
        starts_at=starts_at,
        now=starts_at - timedelta(days=2),
    )
    (day_before,) = [r for r in planned if r.kind is ReminderKind.DAY_BEFORE]
    start_wall = starts_at.astimezone(tz)
    due_wall = day_before.due_at.astimezone(tz)
    shift = (start_wall.utcoffset() or timedelta(0)) - (due_wall.utcoffset() or timedelta(0))
    wall_gap = start_wall.replace(tzinfo=None) - due_wall.replace(tzinfo=None)
    assert wall_gap == timedelta(hours=24) + shift
    assert abs(shift) <= timedelta(hours=1)


def _app_at(moment: datetime) -> Celery:
    app = create_celery(CelerySettings(broker_url="redis://127.0.0.1:6399/0"))  # type: ignore[arg-type]
    app.now = lambda: moment  # type: ignore[method-assign]  # the controlled clock
    return app


@given(zone=ZONES, now=instants)
def test_the_weekly_report_runs_next_on_monday_at_0900_local_within_a_week(
    zone: str, now: datetime
) -> None:
    schedule = weekly_report_schedule(ReportSettings(), zone)  # type: ignore[call-arg]
    schedule.app = _app_at(now)
    run = (schedule.now() + schedule.remaining_estimate(now)).astimezone(UTC)
    local = run.astimezone(ZoneInfo(zone))
    assert (local.isoweekday(), local.hour, local.minute) == (1, 9, 0)
    assert now < run <= now + timedelta(days=7)
