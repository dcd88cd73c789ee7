"""Two beats: RedBeat's lock lets one schedule; the first SIGKILLed, the standby takes over within
CELERY_BEAT_TAKEOVER_SECONDS, and every periodic task still runs once per period — counted where
it is sent (both beats' logs) and where it runs (the worker's log of what it received)."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
import redis

from tests.e2e.workers.conftest import FAST, Fleet, until
from workers.config import REDBEAT_LOCK_KEY
from workers.schedule import DELIVER_NOTICES, DELIVER_REMINDERS, EXPIRE_OFFERS, OBSERVE_DELIVERY

pytestmark = pytest.mark.e2e

EVERY_SECOND = (DELIVER_NOTICES, DELIVER_REMINDERS, EXPIRE_OFFERS, OBSERVE_DELIVERY)
PERIOD_S = 1.0
TAKEOVER_S = float(FAST["CELERY_BEAT_TAKEOVER_SECONDS"])
# Polling the lock every 50 ms, and a loaded machine waking the standby late.
SLACK_S = 1.0
_AT = r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/MainProcess\] "
SENT = re.compile(_AT + r"Scheduler: Sending due task (?P<task>fok\.[a-z_]+) ", re.MULTILINE)
RECEIVED = re.compile(_AT + r"Task (?P<task>fok\.[a-z_]+)\[[0-9a-f-]+\] received", re.MULTILINE)


def logged(pattern: re.Pattern[str], *logs: Path) -> dict[str, list[float]]:
    """When each periodic task was sent (or received), from the processes' own logs."""
    seen: dict[str, list[float]] = defaultdict(list)
    for log in logs:
        for match in pattern.finditer(log.read_text(errors="replace") if log.exists() else ""):
            at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            seen[match["task"]].append(at)
    return {task: sorted(times) for task, times in seen.items()}


async def test_the_standby_beat_takes_over_and_each_task_still_runs_once_per_period(
    fleet: Fleet,
) -> None:
    worker, beats = await asyncio.gather(fleet.start_worker("w1"), fleet.start_beats())
    holder, standby = beats.beats
    broker = redis.Redis.from_url(fleet.broker_url)
    token = broker.get(REDBEAT_LOCK_KEY)
    assert token is not None
    assert "standing by" in standby.log_tail(400)

    beat_logs = [beat.log_path for beat in beats.beats]

    async def each_ran(times: int, since: float = 0.0) -> bool:
        seen = logged(RECEIVED, worker.process.log_path)
        return all(
            len([t for t in seen.get(task, []) if t > since]) >= times for task in EVERY_SECOND
        )

    await until(lambda: each_ran(4), "every periodic task run a few times under two beats", 60)

    killed_at = time.monotonic()
    killed_wall = time.time()
    await asyncio.to_thread(holder.kill)

    async def taken_over() -> bool:
        current = broker.get(REDBEAT_LOCK_KEY)
        return current is not None and current != token

    await until(taken_over, "the standby holding the lock", 30, 0.05)
    took_s = time.monotonic() - killed_at
    assert took_s <= TAKEOVER_S + SLACK_S, took_s
    assert standby.is_running()
    await until(lambda: each_ran(4, killed_wall), "every task run again after the takeover", 60)

    sent = logged(SENT, *beat_logs)
    received = logged(RECEIVED, worker.process.log_path)
    for task in EVERY_SECOND:
        gaps = [later - earlier for earlier, later in itertools.pairwise(sent[task])]
        # Never twice in one period: one beat sent at a time, before and after the kill.
        assert min(gaps) >= PERIOD_S / 2, (task, gaps)
        # The one gap the takeover leaves is no longer than the takeover itself and a period.
        assert max(gaps) <= TAKEOVER_S + PERIOD_S + SLACK_S, (task, gaps)
        # And each one sent ran once (the last may still be on its way).
        assert len(sent[task]) - 1 <= len(received[task]) <= len(sent[task]), task
    broker.close()
