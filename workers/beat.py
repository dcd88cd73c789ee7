"""RedBeat as a beat that survives: two run in every deployment, the lock lets one schedule.

The one holding RedBeat's lock in the broker (``fok:redbeat:lock``) schedules and renews the lock
on every loop (``CELERY_BEAT_TAKEOVER_SECONDS - CELERY_BEAT_LOCK_TIMEOUT_SECONDS``); the other
stands by, looking at the lock as often, and takes it once it expired, at most
``CELERY_BEAT_TAKEOVER_SECONDS`` after the holder died. RedBeat keeps each entry's last run in
the broker, so the new holder runs what was due once, not once per missed period.

Unlike RedBeat's own start-up hook, this scheduler neither dies nor schedules blind when the
broker is unreachable (it waits for it), and a holder that lost its lock (the broker was away
longer than the lock timeout and the other beat took over) goes back to standing by instead of
exiting. Only the holder writes the schedule's entries: RedBeat writes them at start, and a
standby starting while another beat schedules would write an entry's next due time from a last
run it read a moment before the holder ran it again — and the holder would send it twice.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from celery.signals import beat_init
from redbeat.schedulers import (
    LUA_EXTEND_TO_SCRIPT,
    RedBeatScheduler,
    acquire_distributed_beat_lock,
    get_redis,
)

from workers.zoned_schedule import ZonedRedBeatEntry

log = logging.getLogger("celery.beat")

_BROKER_FAULTS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# Replaced by FokRedBeatScheduler's own acquisition, which waits for the broker.
beat_init.disconnect(acquire_distributed_beat_lock)


class FokRedBeatScheduler(RedBeatScheduler):  # type: ignore[misc]  # redbeat is untyped
    # A crontab in a zone of its own (the weekly report) keeps its zone in the broker.
    Entry = ZonedRedBeatEntry

    def setup_schedule(self) -> None:
        """Deferred from start to when this beat holds the lock (see the module's docstring)."""
        if not self.app.redbeat_conf.lock_key:  # no lock, nothing to wait for
            super().setup_schedule()

    def acquire_lock(self) -> None:
        """Block until this beat holds the lock (standing by while another does)."""
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        # RedBeat's extend script sets the TTL to the timeout instead of adding to it.
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if not lock.acquire(blocking=False):
            log.info(
                "beat: another beat holds %s; standing by (taking over within %ss of its end)",
                self.lock_key,
                int(self.lock_timeout + self.max_interval),
            )
            lock.acquire()
        self.lock = lock
        super().setup_schedule()  # the entries as configured, each keeping its last run
        log.info("beat: holds %s; scheduling", self.lock_key)

    def tick(self, min: Any = min, **kwargs: Any) -> float:
        try:
            if self.lock_key and self.lock is None:
                self.acquire_lock()
            return float(super().tick(min=min, **kwargs))
        except redis.exceptions.LockNotOwnedError:
            log.warning("beat: lost %s to another beat; standing by again", self.lock_key)
            self.lock = None
            return 0.0
        except _BROKER_FAULTS as error:
            log.warning("beat: broker unreachable (%s); trying again", error)
            return float(self.max_interval)


@beat_init.connect  # type: ignore[untyped-decorator]  # Celery is untyped
def _acquire_lock_at_start(sender: Any = None, **_: Any) -> None:
    scheduler = sender.scheduler
    if not isinstance(scheduler, FokRedBeatScheduler) or not scheduler.lock_key:
        return
    try:
        scheduler.acquire_lock()
    except _BROKER_FAULTS as error:
        # The first tick tries again: the beat waits for the broker instead of exiting.
        log.warning("beat: broker unreachable at start (%s); waiting for it", error)
