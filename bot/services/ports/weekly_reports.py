"""Ports of the weekly report: each staff member's choice to get it, which reports went out (one
per week and staff member), and how one is sent (the Telegram layer)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.domain.users import User
from bot.services.ports.reports import Labels

if TYPE_CHECKING:
    from bot.services.reports import WeeklyReport


class StaffPreferences(Protocol):
    async def weekly_report(self, staff_id: int) -> bool:
        """Whether the staff member gets the weekly report (on until they turn it off)."""
        ...

    async def set_weekly_report(self, staff_id: int, enabled: bool, now: datetime) -> None: ...

    async def weekly_report_off(self) -> frozenset[int]:
        """Everyone who turned it off."""
        ...


class ReportLogStatus(StrEnum):
    SENDING = "sending"  # claimed by a worker until ``claimed_until``
    PENDING = "pending"  # to try again (a transient failure)
    SENT = "sent"
    UNREACHABLE = "unreachable"  # the staff member blocked the bot
    FAILED = "failed"  # Telegram refused it, or it could not be built
    NOTHING = "nothing"  # no complexes to report on


class WeeklyReportLog(Protocol):
    async def claim(self, week: date, staff_id: int, now: datetime, lease: timedelta) -> bool:
        """Take the report of ``week`` for ``staff_id`` unless it went out, or another worker holds
        it (until its lease lapses)."""
        ...

    async def finish(
        self, week: date, staff_id: int, status: ReportLogStatus, now: datetime, error: str | None
    ) -> None: ...

    async def release(self, week: date, staff_id: int, error: str) -> None:
        """Back to pending: the next run tries again."""
        ...

    async def status(self, week: date, staff_id: int) -> ReportLogStatus | None: ...


class ReportSendResult(StrEnum):
    SENT = "sent"
    UNREACHABLE = "unreachable"
    RETRY = "retry"
    FAILED = "failed"


class WeeklyReportSender(Protocol):
    def labels(self, language: str) -> Labels:
        """The workbook's words in ``language``."""
        ...

    async def send(self, staff: User, report: WeeklyReport) -> tuple[ReportSendResult, str | None]:
        """Send the report's file with its summary; what happened, with Telegram's words."""
        ...
