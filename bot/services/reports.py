"""The weekly report: an Excel file for each staff member, every week, over their complexes.

Beat runs ``fok.report_weekly`` at ``REPORT_WEEKLY_AT`` on ``REPORT_WEEKLY_DAY`` in the product's
time zone (``APP_DEFAULT_TIMEZONE``; workers/schedule.py); it reports on the previous calendar week,
Monday to Sunday, each complex counted between the local midnights of its own zone. Every staff
member gets it — admins over every complex, managers over theirs — unless they turned it off
(«📊 Еженедельный отчёт» in /admin). One report per week and person is recorded, so a task run
twice (a second beat, a retry) sends nothing twice; a send that failed for a transient reason is
tried again by the task's retry.

The workbook: «Сводка» (per complex: applications made in the week by their status now, sessions,
bookings, arrivals and no-shows, and a total row) and «Заявки» (every application of the week with
the original bot's columns). Its words come from the Telegram layer (``labels``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import Attendance, BookingStatus
from bot.domain.catalog import DEFAULT_TIMEZONE
from bot.domain.reports import Period
from bot.services.ports.reports import Cell, Labels, Sheet, WorkbookRenderer, WorkbookSpec
from bot.services.ports.repositories import AuditRepository
from bot.services.ports.system import Clock
from bot.services.ports.weekly_reports import (
    ReportLogStatus,
    ReportSendResult,
    StaffPreferences,
    WeeklyReportLog,
    WeeklyReportSender,
)
from bot.services.reporting import (
    ReportingReads,
    ReportScope,
    application_headers,
    application_row,
    scope_name,
)
from bot.services.staff_guard import StaffAudit, staff_member

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)
STATUSES = tuple(ApplicationStatus)


@dataclass(frozen=True)
class WeeklySchedule:
    """When the report goes out: ``weekday`` (0 = Monday) at ``at`` (HH:MM) in ``timezone``."""

    weekday: int = 0
    at: str = "09:00"
    timezone: str = DEFAULT_TIMEZONE


def previous_week(now: datetime, timezone: str) -> Period:
    """The calendar week (Monday to Sunday) before the one ``now`` falls in, in ``timezone``."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(days=7), monday - timedelta(days=1))


@dataclass(frozen=True)
class WeeklyFigures:
    applications: int = 0
    by_status: Mapping[ApplicationStatus, int] = field(default_factory=dict)
    sessions: int = 0
    bookings: int = 0
    attended: int = 0
    no_shows: int = 0


@dataclass(frozen=True)
class WeeklyReport:
    period: Period
    scope: ReportScope
    scope_name: str
    figures: WeeklyFigures
    filename: str
    content: bytes


@dataclass(frozen=True)
class WeeklyReportSettings:
    staff_id: int
    enabled: bool
    scope: ReportScope
    schedule: WeeklySchedule


@dataclass
class WeeklyRun:
    week: Period
    sent: int = 0
    already: int = 0  # sent before (or being sent by another worker)
    off: int = 0  # turned it off
    nothing: int = 0  # no complexes to report on
    unreachable: int = 0
    failed: int = 0
    retry: int = 0  # to try again

    def counts(self) -> dict[str, int | str]:
        return {
            "week": self.week.first.isoformat(),
            "sent": self.sent,
            "already": self.already,
            "off": self.off,
            "nothing": self.nothing,
            "unreachable": self.unreachable,
            "failed": self.failed,
            "retry": self.retry,
        }


class _Tally:
    def __init__(self) -> None:
        self.statuses: Counter[ApplicationStatus] = Counter()
        self.sessions = self.bookings = self.attended = self.no_shows = 0

    def add(self, other: _Tally) -> None:
        self.statuses.update(other.statuses)
        self.sessions += other.sessions
        self.bookings += other.bookings
        self.attended += other.attended
        self.no_shows += other.no_shows

    def row(self, head: tuple[Cell, ...]) -> tuple[Cell, ...]:
        statuses = tuple(self.statuses.get(s, 0) for s in STATUSES)
        return (
            *head,
            sum(self.statuses.values()),
            *statuses,
            self.sessions,
            self.bookings,
            self.attended,
            self.no_shows,
        )


def _transient(error: BaseException) -> bool:
    return isinstance(error, ConnectionError | TimeoutError)


class ReportService:
    def __init__(
        self,
        reads: ReportingReads,
        audit: AuditRepository,
        clock: Clock,
        *,
        preferences: StaffPreferences,
        log: WeeklyReportLog,
        workbooks: WorkbookRenderer,
        schedule: WeeklySchedule | None = None,
    ) -> None:
        self._reads = reads
        self._users = reads.users
        self._audit = StaffAudit(audit, clock)
        self._clock = clock
        self._preferences = preferences
        self._log = log
        self._workbooks = workbooks
        self._schedule = schedule or WeeklySchedule()

    @property
    def schedule(self) -> WeeklySchedule:
        return self._schedule

    # --- the staff member's choice -----------------------------------------------------------

    async def settings(self, actor_id: int) -> WeeklyReportSettings:
        scope = await self._reads.scope(actor_id, None)
        enabled = await self._preferences.weekly_report(actor_id)
        return WeeklyReportSettings(actor_id, enabled, scope, self._schedule)

    async def set_enabled(self, actor_id: int, enabled: bool) -> WeeklyReportSettings:
        """Turn one's own weekly report on or off (audited)."""
        actor = await staff_member(self._users, actor_id)
        before = await self._preferences.weekly_report(actor_id)
        if before != enabled:
            await self._preferences.set_weekly_report(actor_id, enabled, self._clock.now())
            await self._audit.record(
                actor.telegram_id,
                "report.weekly_on" if enabled else "report.weekly_off",
                "report",
                str(actor.telegram_id),
                before={"weekly_report": before},
                after={"weekly_report": enabled},
            )
        return await self.settings(actor_id)

    async def build(self, actor_id: int, labels: Labels) -> WeeklyReport:
        """Last week's report for the staff member now (what Monday's would be); audited, since
        the file holds applicants' names and phones."""
        scope = await self._reads.scope(actor_id, None)
        report = await self._report(
            previous_week(self._clock.now(), self._schedule.timezone), scope, labels
        )
        await self._audit.record(
            actor_id,
            "report.weekly_built",
            "report",
            f"{report.period.first.isoformat()}..{report.period.last.isoformat()}",
            before=None,
            after=None,
            rows=report.figures.applications,
            complexes=sorted(c.code for c in scope.complexes) if scope.narrowed else "all",
        )
        return report

    # --- the weekly run ------------------------------------------------------------------------

    async def send_weekly(self, sender: WeeklyReportSender) -> WeeklyRun:
        """Send last week's report to every staff member who gets it (once each)."""
        now = self._clock.now()
        week = previous_week(now, self._schedule.timezone)
        run = WeeklyRun(week)
        off = await self._preferences.weekly_report_off()
        for staff in await self._users.list_staff():
            if staff.blocked or staff.deleted_at is not None or staff.unreachable:
                continue
            if staff.telegram_id in off:
                run.off += 1
                continue
            if not await self._log.claim(week.first, staff.telegram_id, self._clock.now(), LEASE):
                run.already += 1
                continue
            await self._send_one(sender, staff.telegram_id, staff.language, week, run)
        log.info("weekly report %s: %s", week.first.isoformat(), run.counts())
        return run

    async def _send_one(
        self, sender: WeeklyReportSender, staff_id: int, language: str, week: Period, run: WeeklyRun
    ) -> None:
        first = week.first
        try:
            scope = await self._reads.scope(staff_id, None)
            if not scope.complexes:
                await self._log.finish(
                    first, staff_id, ReportLogStatus.NOTHING, self._clock.now(), None
                )
                run.nothing += 1
                return
            report = await self._report(week, scope, sender.labels(language))
            staff = scope.staff
            result, error = await sender.send(staff, report)
        except Exception as failure:
            if _transient(failure):
                await self._log.release(first, staff_id, type(failure).__name__)
                run.retry += 1
            else:
                log.exception("the weekly report for %s could not be made", staff_id)
                await self._log.finish(
                    first,
                    staff_id,
                    ReportLogStatus.FAILED,
                    self._clock.now(),
                    type(failure).__name__,
                )
                run.failed += 1
            return
        now = self._clock.now()
        match result:
            case ReportSendResult.SENT:
                await self._log.finish(first, staff_id, ReportLogStatus.SENT, now, None)
                run.sent += 1
            case ReportSendResult.UNREACHABLE:
                await self._users.set_unreachable(staff_id, True)
                await self._log.finish(first, staff_id, ReportLogStatus.UNREACHABLE, now, error)
                run.unreachable += 1
            case ReportSendResult.RETRY:
                await self._log.release(first, staff_id, error or "retry")
                run.retry += 1
            case ReportSendResult.FAILED:
                await self._log.finish(first, staff_id, ReportLogStatus.FAILED, now, error)
                run.failed += 1

    # --- the workbook --------------------------------------------------------------------------

    async def _report(self, week: Period, scope: ReportScope, labels: Labels) -> WeeklyReport:
        language = labels["language"]
        names = await self._reads.names(scope.complexes, language)
        tallies = {code: _Tally() for code in names.complexes}
        applications = await self._reads.applications_made(week, scope.complexes)
        for a in applications:
            tallies[a.complex_code].statuses[a.status] += 1
        session_complex: dict[str, str] = {}
        for session in await self._reads.sessions_starting(week, scope.complexes):
            if not session.cancelled:
                session_complex[session.id] = session.complex_code
                tallies[session.complex_code].sessions += 1
        for count in await self._reads.booking_counts(sorted(session_complex)):
            tally = tallies[session_complex[count.session_id]]
            if count.status is BookingStatus.ACTIVE:
                tally.bookings += count.count
                if count.attendance is Attendance.ATTENDED:
                    tally.attended += count.count
                elif count.attendance is Attendance.NO_SHOW:
                    tally.no_shows += count.count
        total = _Tally()
        summary: list[tuple[Cell, ...]] = []
        by_name = sorted(names.complexes.items(), key=lambda i: i[1].name.get(language))
        for code, complex_ in by_name:
            total.add(tallies[code])
            summary.append(
                tallies[code].row((complex_.name.get(language), names.district(complex_.district)))
            )
        summary.append(total.row((labels["total"], None)))
        rows = [application_row(a, names, labels) for a in applications]
        sheets = (
            Sheet(
                labels["sheet.summary"],
                (
                    labels["col.complex"],
                    labels["col.district"],
                    labels["col.applications"],
                    *(labels[f"status.{s.value}"] for s in STATUSES),
                    labels["col.sessions"],
                    labels["col.bookings"],
                    labels["col.attended"],
                    labels["col.no_shows"],
                ),
                summary,
            ),
            Sheet(labels["sheet.applications"], application_headers(labels), rows),
        )
        content = await self._workbooks.render_xlsx(WorkbookSpec(sheets))
        figures = WeeklyFigures(
            applications=len(applications),
            by_status={s: total.statuses[s] for s in STATUSES if total.statuses[s]},
            sessions=total.sessions,
            bookings=total.bookings,
            attended=total.attended,
            no_shows=total.no_shows,
        )
        return WeeklyReport(
            week,
            scope,
            scope_name(scope, labels),
            figures,
            f"weekly_report_{week.first:%Y%m%d}_{week.last:%Y%m%d}.xlsx",
            content,
        )
