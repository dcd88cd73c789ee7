"""What beat runs and how often. Every task is idempotent, so a repeated run is harmless."""

from __future__ import annotations

import os
from typing import Any

# Task names: producers enqueue by name (nothing in bot imports workers).
DELIVER_NOTICES = "fok.deliver_notices"
DELIVER_REMINDERS = "fok.deliver_reminders"
EXPIRE_OFFERS = "fok.expire_offers"
GENERATE_SESSIONS = "fok.generate_sessions"

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


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        task: {"task": task, "schedule": interval(task), "options": {"expires": interval(task)}}
        for task in DEFAULT_INTERVALS
    }
