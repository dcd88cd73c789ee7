"""The weekly report fires at 09:00 in APP_DEFAULT_TIMEZONE (Europe/Moscow), not 09:00 UTC.

Celery evaluates a crontab in the app's zone (UTC here) and RedBeat keeps only a crontab's five
fields in the broker, so the entry it reads back every tick would fire at 09:00 UTC — 12:00 in
Moscow, the original bot's mistake. ``ZonedCrontab`` (workers/zoned_schedule.py) carries its own
zone and ``ZonedRedBeatEntry`` keeps it in the broker. The clock is controlled: the schedule is
computed from given UTC instants, and a real RedBeat scheduler over the real broker is ticked at
05:59:59 and at 06:00:00 UTC on a Monday.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from celery import Celery
from celery.schedules import crontab

from bot.settings import CelerySettings, ReportSettings
from devcluster.redis import StandaloneRedisServer
from workers.beat import FokRedBeatScheduler
from workers.config import create_celery
from workers.schedule import (
    REPORTS_QUEUE,
    WEEKLY_REPORT,
    beat_schedule,
    weekly_report_schedule,
)
from workers.zoned_schedule import (
    ZonedCrontab,
    ZonedJSONDecoder,
    ZonedJSONEncoder,
    ZonedRedBeatEntry,
)

pytestmark = pytest.mark.integration

SUNDAY_LATE = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Monday 02:00 in Moscow
MONDAY_0600 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # Monday 09:00 in Moscow
BROKER = "redis://127.0.0.1:6399/0"  # configuration only, in the tests that need no broker


def app_at(moment: datetime, broker: str = BROKER) -> Celery:
    app = create_celery(CelerySettings(broker_url=broker))  # type: ignore[arg-type]
    app.now = lambda: moment  # type: ignore[method-assign]  # the controlled clock
    return app


def next_run(schedule: crontab, last_run: datetime) -> datetime:
    """When the schedule runs next, seen from its clock's now, having last run at ``last_run``."""
    run: datetime = schedule.now() + schedule.remaining_estimate(last_run)
    return run.astimezone(UTC)


def zoned(moment: datetime, zone: str = "Europe/Moscow", **report: object) -> ZonedCrontab:
    schedule = weekly_report_schedule(ReportSettings(**report), zone)  # type: ignore[arg-type]
    schedule.app = app_at(moment)
    return schedule


def test_next_run_from_a_utc_instant_is_monday_0900_in_moscow() -> None:
    schedule = zoned(SUNDAY_LATE)
    assert next_run(schedule, SUNDAY_LATE) == MONDAY_0600
    # The original's crontab, in the app's zone (UTC): three hours late.
    plain = crontab(minute=0, hour=9, day_of_week=1, app=app_at(SUNDAY_LATE))
    assert next_run(plain, SUNDAY_LATE) == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_it_is_due_at_0900_moscow_and_not_a_second_before() -> None:
    last_run = SUNDAY_LATE
    early = zoned(MONDAY_0600 - timedelta(seconds=1)).is_due(last_run)
    assert not early.is_due
    assert early.next == pytest.approx(1.0)
    due = zoned(MONDAY_0600).is_due(last_run)
    assert due.is_due
    # Having run at 09:00, the next one is a week later, Monday 09:00 again.
    after = zoned(MONDAY_0600 + timedelta(minutes=1))
    assert next_run(after, MONDAY_0600) == MONDAY_0600 + timedelta(days=7)
    assert not after.is_due(MONDAY_0600).is_due


def test_the_day_time_and_zone_come_from_the_settings() -> None:
    # Wednesday 18:30 in Vladivostok (UTC+10) is Wednesday 08:30 UTC.
    schedule = zoned(SUNDAY_LATE, "Asia/Vladivostok", weekly_day=2, weekly_at="18:30")
    assert next_run(schedule, SUNDAY_LATE) == datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    # In a zone with summer time the local hour holds on both sides of the change.
    march = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    berlin = zoned(march, "Europe/Berlin")
    first = next_run(berlin, march)
    assert first == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    winter = zoned(datetime(2026, 3, 20, 12, 0, tzinfo=UTC), "Europe/Berlin")
    assert next_run(winter, datetime(2026, 3, 20, 12, 0, tzinfo=UTC)) == datetime(
        2026, 3, 23, 8, 0, tzinfo=UTC
    )  # 09:00 CET


def test_the_zone_survives_the_brokers_json() -> None:
    schedule = weekly_report_schedule(ReportSettings(), "Europe/Moscow")
    stored = json.dumps({"schedule": schedule}, cls=ZonedJSONEncoder)
    back = json.loads(stored, cls=ZonedJSONDecoder)["schedule"]
    assert isinstance(back, ZonedCrontab)
    assert back.zone == "Europe/Moscow"
    assert (back.hour, back.minute, back.day_of_week) == ({9}, {0}, {1})
    # Plain crontabs and intervals are kept as RedBeat keeps them.
    plain = json.loads(
        json.dumps({"s": crontab(minute=30, hour=23)}, cls=ZonedJSONEncoder), cls=ZonedJSONDecoder
    )["s"]
    assert type(plain) is crontab
    entry = beat_schedule(CelerySettings(broker_url=BROKER))[WEEKLY_REPORT]  # type: ignore[arg-type]
    assert entry["options"]["queue"] == REPORTS_QUEUE
    assert isinstance(entry["schedule"], ZonedCrontab)


@pytest.fixture
def broker(broker_redis: StandaloneRedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(broker_redis.url)
    yield client
    client.close()


def test_redbeat_over_the_real_broker_sends_it_at_0900_moscow(
    broker: redis.Redis, broker_redis: StandaloneRedisServer
) -> None:
    clock = {"now": SUNDAY_LATE}
    app = create_celery(CelerySettings(broker_url=broker_redis.url))  # type: ignore[arg-type]
    app.now = lambda: clock["now"]  # type: ignore[method-assign]
    try:
        scheduler = FokRedBeatScheduler(app=app)
        scheduler.acquire_lock()  # takes the lock and stores the entries, as a beat does
        key = ZonedRedBeatEntry.generate_key(app, WEEKLY_REPORT)
        stored = ZonedRedBeatEntry.from_key(key, app=app)
        assert isinstance(stored.schedule, ZonedCrontab)
        assert stored.schedule.zone == "Europe/Moscow"
        score = broker.zscore(app.redbeat_conf.schedule_key, key)
        assert score == MONDAY_0600.timestamp()

        def reports_sent() -> list[str]:
            return [
                json.loads(raw)["headers"]["task"] for raw in broker.lrange(REPORTS_QUEUE, 0, -1)
            ]

        clock["now"] = MONDAY_0600 - timedelta(seconds=1)
        scheduler.tick()
        assert WEEKLY_REPORT not in reports_sent()
        clock["now"] = MONDAY_0600
        scheduler.tick()
        assert reports_sent().count(WEEKLY_REPORT) == 1
        clock["now"] = MONDAY_0600 + timedelta(minutes=5)
        scheduler.tick()  # not again within the week
        assert reports_sent().count(WEEKLY_REPORT) == 1
        assert (
            broker.zscore(app.redbeat_conf.schedule_key, key)
            == (MONDAY_0600 + timedelta(days=7)).timestamp()
        )
    finally:
        app.close()
