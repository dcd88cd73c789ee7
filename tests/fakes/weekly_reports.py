"""In-memory fakes of the weekly report's ports, like ``bot.infra.mongo.weekly_reports``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.services.ports.weekly_reports import ReportLogStatus
from tests.fakes.repositories import stored_time


class InMemoryStaffPreferences:
    def __init__(self) -> None:
        self._weekly: dict[int, bool] = {}

    async def weekly_report(self, staff_id: int) -> bool:
        return self._weekly.get(staff_id, True)

    async def set_weekly_report(self, staff_id: int, enabled: bool, now: datetime) -> None:
        self._weekly[staff_id] = enabled

    async def weekly_report_off(self) -> frozenset[int]:
        return frozenset(s for s, on in self._weekly.items() if not on)

    def all(self) -> dict[int, bool]:
        """Tests only: every choice made."""
        return dict(self._weekly)


@dataclass
class _Entry:
    status: ReportLogStatus
    claimed_until: datetime
    attempts: int = 1
    error: str | None = None


class InMemoryWeeklyReportLog:
    def __init__(self) -> None:
        self._entries: dict[tuple[date, int], _Entry] = {}

    async def claim(self, week: date, staff_id: int, now: datetime, lease: timedelta) -> bool:
        until = stored_time(now + lease)
        entry = self._entries.get((week, staff_id))
        if entry is None:
            self._entries[(week, staff_id)] = _Entry(ReportLogStatus.SENDING, until)
            return True
        lapsed = entry.status is ReportLogStatus.SENDING and entry.claimed_until <= stored_time(now)
        if entry.status is ReportLogStatus.PENDING or lapsed:
            entry.status, entry.claimed_until = ReportLogStatus.SENDING, until
            entry.attempts += 1
            return True
        return False

    async def finish(
        self, week: date, staff_id: int, status: ReportLogStatus, now: datetime, error: str | None
    ) -> None:
        entry = self._entries.get((week, staff_id))
        if entry is not None:
            entry.status, entry.error = status, error

    async def release(self, week: date, staff_id: int, error: str) -> None:
        entry = self._entries.get((week, staff_id))
        if entry is not None and entry.status is ReportLogStatus.SENDING:
            entry.status, entry.error = ReportLogStatus.PENDING, error

    async def status(self, week: date, staff_id: int) -> ReportLogStatus | None:
        entry = self._entries.get((week, staff_id))
        return entry.status if entry else None

    def attempts(self, week: date, staff_id: int) -> int:
        """Tests only."""
        entry = self._entries.get((week, staff_id))
        return entry.attempts if entry else 0
