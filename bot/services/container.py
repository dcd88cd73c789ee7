"""The services one process uses, built over ports: the only thing handlers and tasks receive.

The composition root (``bot.bootstrap``) fills the ports with MongoDB and Redis adapters; the
handler tests fill them with the in-memory fakes of ``tests/fakes``. Either way the services are
built here, once, so the two cannot wire them differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.bookings import NoShowRule
from bot.services.applications import ApplicationService
from bot.services.audit import AuditService
from bot.services.bookings import BookingService
from bot.services.broadcasts import BroadcastService
from bot.services.catalog import CatalogService
from bot.services.exports import ExportService
from bot.services.operators import OperatorService
from bot.services.ports.broadcasts import BroadcastAudiences, BroadcastRepository
from bot.services.ports.ephemeral import DialogStateStore, FloodLimiter
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.reports import ReportAdapters
from bot.services.ports.repositories import (
    ApplicationRepository,
    AuditRepository,
    BookingRepository,
    CatalogRepository,
    ReminderRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import CalendarRenderer, Clock, Notifier, PhoneNormalizer
from bot.services.ports.weekly_reports import StaffPreferences, WeeklyReportLog
from bot.services.reminders import ReminderService
from bot.services.repair import RepairService
from bot.services.reporting import ReportingReads
from bot.services.reports import ReportService, WeeklySchedule
from bot.services.schedule import ScheduleService
from bot.services.statistics import StatisticsService
from bot.services.users import UserService


@dataclass(frozen=True)
class Repositories:
    users: UserRepository
    catalog: CatalogRepository
    applications: ApplicationRepository
    sessions: SessionRepository
    bookings: BookingRepository
    reminders: ReminderRepository
    audit: AuditRepository
    outbox: Notifier
    broadcasts: BroadcastRepository
    audiences: BroadcastAudiences
    staff_preferences: StaffPreferences
    report_log: WeeklyReportLog


@dataclass(frozen=True)
class Services:
    users: UserService
    catalog: CatalogService
    applications: ApplicationService
    schedule: ScheduleService
    bookings: BookingService
    reminders: ReminderService
    audit: AuditService
    # The operator's shell (admin_tools) only: operator authority, no staff check.
    operators: OperatorService
    broadcasts: BroadcastService
    # The weekly Excel report to staff.
    reports: ReportService
    statistics: StatisticsService
    exports: ExportService
    # What a multi-step write cut off midway left wrong, finished (the periodic fok.repair).
    repair: RepairService
    calendar: CalendarRenderer
    dialogs: DialogStateStore
    flood: FloodLimiter
    clock: Clock


def build_services(
    repos: Repositories,
    *,
    clock: Clock,
    phones: PhoneNormalizer,
    calendar: CalendarRenderer,
    dialogs: DialogStateStore,
    flood: FloodLimiter,
    reports: ReportAdapters,
    events: BusinessEvents = NO_EVENTS,
    no_show: NoShowRule | None = None,
    weekly: WeeklySchedule | None = None,
) -> Services:
    """``no_show``: the rule that stops residents with too many no-shows from booking
    (settings ``NO_SHOW_*``; the domain's default when not given). ``reports``: the chart and
    workbook renderers and the export queue of statistics and exports."""
    r = repos
    bookings = BookingService(
        r.bookings,
        r.sessions,
        r.catalog,
        r.users,
        r.reminders,
        r.outbox,
        clock,
        events,
        audit=r.audit,
        no_show=no_show,
    )
    users = UserService(
        r.users,
        r.applications,
        r.catalog,
        r.audit,
        phones,
        clock,
        events,
        bookings=r.bookings,
        notifier=r.outbox,
    )
    applications = ApplicationService(
        r.applications, r.users, r.catalog, r.audit, r.outbox, clock, events
    )
    # One read model for the statistics, the exports and the weekly report.
    reads = ReportingReads(r.users, r.catalog, r.applications, r.sessions, r.bookings)
    return Services(
        users=users,
        catalog=CatalogService(r.catalog, r.sessions, r.users, r.audit, clock, bookings=bookings),
        applications=applications,
        schedule=ScheduleService(r.sessions, r.catalog, r.users, r.audit, clock),
        bookings=bookings,
        reminders=ReminderService(r.reminders, clock, events),
        audit=AuditService(r.audit, r.users),
        operators=OperatorService(users, r.users, r.applications, r.bookings),
        broadcasts=BroadcastService(
            r.broadcasts, r.audiences, r.users, r.catalog, r.sessions, r.audit, clock
        ),
        reports=ReportService(
            reads,
            r.audit,
            clock,
            preferences=r.staff_preferences,
            log=r.report_log,
            workbooks=reports.workbooks,
            schedule=weekly,
        ),
        statistics=StatisticsService(reads, r.audit, clock, reports.charts),
        exports=ExportService(
            reads,
            r.audit,
            clock,
            jobs=reports.jobs,
            workbooks=reports.workbooks,
            queue=reports.queue,
        ),
        repair=RepairService(
            bookings,
            applications,
            sessions=r.sessions,
            bookings=r.bookings,
            reminders=r.reminders,
            catalog=r.catalog,
            applications=r.applications,
            audit=r.audit,
            notifier=r.outbox,
            clock=clock,
            events=events,
        ),
        calendar=calendar,
        dialogs=dialogs,
        flood=flood,
        clock=clock,
    )
