"""StaffPreferences and WeeklyReportLog: the fakes and the MongoDB adapters behave alike.

The weekly report is on until a staff member turns it off; one report per week and person is
claimed, and one that went out (or is being sent, until its lease lapses) is not claimed again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from bot.bootstrap import build_storage
from bot.infra.mongo.migrations import migrate
from bot.services.ports.weekly_reports import ReportLogStatus, StaffPreferences, WeeklyReportLog
from tests.contract.data import NOW
from tests.fakes.clock import FakeClock
from tests.fakes.repositories import InMemoryStorage

WEEK = date(2026, 11, 16)
LEASE = timedelta(minutes=10)


@dataclass
class Ports:
    preferences: StaffPreferences
    log: WeeklyReportLog


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
async def ports(request: pytest.FixtureRequest) -> AsyncIterator[Ports]:
    clock = FakeClock(NOW)
    if request.param == "memory":
        fake = InMemoryStorage(clock)
        yield Ports(fake.staff_preferences, fake.report_log)
        return
    url = request.getfixturevalue("mongo_url")
    name = request.getfixturevalue("mongo_db_name")
    storage = build_storage(url, name, app_name="contract-weekly", clock=clock)
    await migrate(storage.db)
    try:
        yield Ports(storage.staff_preferences, storage.report_log)
    finally:
        await storage.close()


async def test_the_weekly_report_is_on_until_turned_off(ports: Ports) -> None:
    prefs = ports.preferences
    assert await prefs.weekly_report(1) is True
    assert await prefs.weekly_report_off() == frozenset()
    await prefs.set_weekly_report(1, False, NOW)
    await prefs.set_weekly_report(2, True, NOW)
    await prefs.set_weekly_report(3, False, NOW)
    assert await prefs.weekly_report(1) is False
    assert await prefs.weekly_report(2) is True
    assert await prefs.weekly_report_off() == frozenset({1, 3})
    await prefs.set_weekly_report(1, True, NOW)
    assert await prefs.weekly_report_off() == frozenset({3})


async def test_one_report_per_week_and_person(ports: Ports) -> None:
    log = ports.log
    assert await log.status(WEEK, 1) is None
    assert await log.claim(WEEK, 1, NOW, LEASE)
    assert await log.status(WEEK, 1) is ReportLogStatus.SENDING
    # Another worker, while the first one's lease holds: refused; once it lapsed: taken.
    assert not await log.claim(WEEK, 1, NOW + timedelta(minutes=9), LEASE)
    assert await log.claim(WEEK, 1, NOW + timedelta(minutes=10), LEASE)
    await log.finish(WEEK, 1, ReportLogStatus.SENT, NOW, None)
    assert not await log.claim(WEEK, 1, NOW + timedelta(days=1), LEASE)
    assert await log.status(WEEK, 1) is ReportLogStatus.SENT
    # Other weeks and people are their own.
    assert await log.claim(WEEK + timedelta(days=7), 1, NOW, LEASE)
    assert await log.claim(WEEK, 2, NOW, LEASE)


async def test_a_released_report_is_tried_again_and_a_final_one_never(ports: Ports) -> None:
    log = ports.log
    assert await log.claim(WEEK, 1, NOW, LEASE)
    await log.release(WEEK, 1, "NetworkError")
    assert await log.status(WEEK, 1) is ReportLogStatus.PENDING
    assert await log.claim(WEEK, 1, NOW, LEASE)  # at once: it is not held by anyone
    await log.finish(WEEK, 1, ReportLogStatus.UNREACHABLE, NOW, "Forbidden")
    await log.release(WEEK, 1, "late")  # a final state is not released
    assert await log.status(WEEK, 1) is ReportLogStatus.UNREACHABLE
    assert not await log.claim(WEEK, 1, NOW + timedelta(hours=1), LEASE)
