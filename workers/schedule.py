"""What beat runs, how often, and on which queue. Every task is idempotent, so a repeated run is
harmless; the periods come from ``CelerySettings`` (``CELERY_BEAT_*_SECONDS``)."""

from __future__ import annotations

import os
import re
from typing import Any

from celery.schedules import crontab

from bot.settings import (
    AppSettings,
    BroadcastSettings,
    CelerySettings,
    ReportSettings,
    load_section,
)
from workers.zoned_schedule import ZonedCrontab

# Task names: producers enqueue by name (nothing in bot imports workers).
DELIVER_NOTICES = "fok.deliver_notices"
DELIVER_REMINDERS = "fok.deliver_reminders"
EXPIRE_OFFERS = "fok.expire_offers"
GENERATE_SESSIONS = "fok.generate_sessions"
OBSERVE_DELIVERY = "fok.observe_delivery"
# Finishes what a multi-step write cut off midway left wrong (seats, offers, reminders, notices).
REPAIR = "fok.repair"
BACKUP = "fok.backup"
# Fans out the broadcast at the head of the queue (queue "notifications", by its name).
SEND_BROADCASTS = "fok.broadcasts"
# The weekly Excel report to staff (queue "reports", by its name).
WEEKLY_REPORT = "fok.report_weekly"

# Queues by kind of work, so that a slow kind never holds up another: each has its own workers
# (docker-compose.enterprise.yml: notifications + fok, reminders, reports, backups).
NOTIFICATIONS_QUEUE = "notifications"
REMINDERS_QUEUE = "reminders"
REPORTS_QUEUE = "reports"
# The backup runs on its own queue: only a worker that has BACKUP_DIRECTORY mounted consumes it
# (`worker -Q backups --concurrency 1`), and a long backup never holds up notices.
BACKUP_QUEUE = "backups"
# Upkeep (offers that expired, dated sessions, delivery gauges, the repair): short, consumed with
# notifications.
DEFAULT_QUEUE = "fok"
QUEUES = (NOTIFICATIONS_QUEUE, REMINDERS_QUEUE, REPORTS_QUEUE, BACKUP_QUEUE, DEFAULT_QUEUE)

# task_routes: by name, and by pattern for the kinds whose tasks other modules define.
ROUTES: dict[str, str] = {
    DELIVER_NOTICES: NOTIFICATIONS_QUEUE,
    DELIVER_REMINDERS: REMINDERS_QUEUE,
    EXPIRE_OFFERS: DEFAULT_QUEUE,
    GENERATE_SESSIONS: DEFAULT_QUEUE,
    OBSERVE_DELIVERY: DEFAULT_QUEUE,
    REPAIR: DEFAULT_QUEUE,
    BACKUP: BACKUP_QUEUE,
    "fok.broadcast*": NOTIFICATIONS_QUEUE,
    "fok.report*": REPORTS_QUEUE,
    "fok.backup*": BACKUP_QUEUE,
}

BACKUP_AT_ENV = "FOK_BEAT_BACKUP_AT"
DEFAULT_BACKUP_AT = "23:30"  # UTC, nightly: 02:30 in Moscow
# A backup not started within this many seconds is dropped; the next night's takes its place.
BACKUP_EXPIRES_S = 6 * 3600
# A weekly report not started within this long is dropped (the next week's comes).
WEEKLY_REPORT_EXPIRES_S = 12 * 3600


def intervals(settings: CelerySettings) -> dict[str, float]:
    """Seconds between two runs of each periodic task."""
    return {
        DELIVER_NOTICES: settings.beat_deliver_notices_seconds,
        DELIVER_REMINDERS: settings.beat_deliver_reminders_seconds,
        EXPIRE_OFFERS: settings.beat_expire_offers_seconds,
        GENERATE_SESSIONS: settings.beat_generate_sessions_seconds,
        OBSERVE_DELIVERY: settings.beat_observe_seconds,
        REPAIR: settings.beat_repair_seconds,
    }


def backup_at() -> tuple[int, int]:
    """(hour, minute) UTC of the nightly backup, from ``FOK_BEAT_BACKUP_AT`` (``HH:MM``)."""
    value = os.environ.get(BACKUP_AT_ENV, DEFAULT_BACKUP_AT)
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if match is None:
        raise ValueError(f"{BACKUP_AT_ENV} must be HH:MM (UTC)")
    return int(match.group(1)), int(match.group(2))


def weekly_report_schedule(report: ReportSettings, timezone: str) -> ZonedCrontab:
    """``REPORT_WEEKLY_DAY`` (0 = Monday) at ``REPORT_WEEKLY_AT`` in ``timezone`` (not UTC)."""
    hour, minute = (int(part) for part in report.weekly_at.split(":"))
    # Celery counts days of the week from Sunday (0); the setting from Monday, as Python does.
    return ZonedCrontab(
        minute=minute, hour=hour, day_of_week=(report.weekly_day + 1) % 7, zone=timezone
    )


def beat_schedule(settings: CelerySettings) -> dict[str, dict[str, Any]]:
    # A run not started within its period is dropped: the next one does the same work.
    schedule: dict[str, dict[str, Any]] = {
        task: {"task": task, "schedule": every, "options": {"expires": every}}
        for task, every in intervals(settings).items()
    }
    every = load_section(BroadcastSettings).poll_seconds
    schedule[SEND_BROADCASTS] = {
        "task": SEND_BROADCASTS,
        "schedule": every,
        "options": {"expires": every},
    }
    schedule[WEEKLY_REPORT] = {
        "task": WEEKLY_REPORT,
        "schedule": weekly_report_schedule(
            load_section(ReportSettings), load_section(AppSettings).default_timezone
        ),
        "options": {"queue": REPORTS_QUEUE, "expires": WEEKLY_REPORT_EXPIRES_S},
    }
    hour, minute = backup_at()
    schedule[BACKUP] = {
        "task": BACKUP,
        "schedule": crontab(minute=minute, hour=hour),
        "options": {"queue": BACKUP_QUEUE, "expires": BACKUP_EXPIRES_S},
    }
    return schedule
