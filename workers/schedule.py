"""What beat runs and how often. Every task is idempotent, so a repeated run is harmless."""

from __future__ import annotations

import os
import re
from typing import Any

from celery.schedules import crontab

# Task names: producers enqueue by name (nothing in bot imports workers).
DELIVER_NOTICES = "fok.deliver_notices"
DELIVER_REMINDERS = "fok.deliver_reminders"
EXPIRE_OFFERS = "fok.expire_offers"
GENERATE_SESSIONS = "fok.generate_sessions"
BACKUP = "fok.backup"

# The backup runs on its own queue: only a worker that has BACKUP_DIRECTORY mounted consumes it
# (`worker -Q backups`), and a long backup never holds up notices.
BACKUP_QUEUE = "backups"
BACKUP_AT_ENV = "FOK_BEAT_BACKUP_AT"
DEFAULT_BACKUP_AT = "23:30"  # UTC, nightly: 02:30 in Moscow
# A backup not started within this many seconds is dropped; the next night's takes its place.
BACKUP_EXPIRES_S = 6 * 3600

# Seconds; overridable so tests and the demo can run the loop fast.
DEFAULT_INTERVALS = {
    DELIVER_NOTICES: 5.0,
    DELIVER_REMINDERS: 30.0,
    EXPIRE_OFFERS: 30.0,
    GENERATE_SESSIONS: 3600.0,
}


def interval(task: str) -> float:
    env = "FOK_BEAT_" + task.removeprefix("fok.").upper() + "_SECONDS"
    value = float(os.environ.get(env, DEFAULT_INTERVALS[task]))
    if not 0.5 <= value <= 86400:
        raise ValueError(f"{env} must be within 0.5..86400 seconds")
    return value


def backup_at() -> tuple[int, int]:
    """(hour, minute) UTC of the nightly backup, from ``FOK_BEAT_BACKUP_AT`` (``HH:MM``)."""
    value = os.environ.get(BACKUP_AT_ENV, DEFAULT_BACKUP_AT)
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if match is None:
        raise ValueError(f"{BACKUP_AT_ENV} must be HH:MM (UTC)")
    return int(match.group(1)), int(match.group(2))


def beat_schedule() -> dict[str, dict[str, Any]]:
    schedule = {
        task: {"task": task, "schedule": interval(task), "options": {"expires": interval(task)}}
        for task in DEFAULT_INTERVALS
    }
    hour, minute = backup_at()
    schedule[BACKUP] = {
        "task": BACKUP,
        "schedule": crontab(minute=minute, hour=hour),
        "options": {"queue": BACKUP_QUEUE, "expires": BACKUP_EXPIRES_S},
    }
    return schedule
