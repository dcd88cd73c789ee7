"""Statistics for a period and a scope: people, applications, bookings, occupancy, no-shows and
the most popular complexes and sports, as figures (the screens word them) and as a chart.

Scope: a manager sees only the complexes assigned to them, admins and super admins every
complex; either may narrow it to one complex of theirs. Each complex's figures are counted
between the local midnights of its own time zone. Viewing them is a staff action: authorised here
and written to the audit log. ``admin_tools.py stats`` reads the same figures with operator
authority (not audited, like the operator's other reads).

* people: *active* ones applied in the period or hold a booking (any status) of a session held in
  it; *new* ones finished registering in it (with a scope narrower than every complex: new ones
  among the active there);
* bookings, occupancy, attendance: of the sessions held in the period (a cancelled session's
  seats count for nothing); occupancy is active bookings over the seats; the no-show rate is
  no-shows over the marked bookings, and there is none while nothing has been marked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import Attendance, BookingStatus
from bot.domain.catalog import DEFAULT_TIMEZONE, Complex
from bot.domain.i18n import LocalizedText
from bot.domain.reports import Period, PeriodKind, last_days, period_of, share
from bot.domain.sessions import Session
from bot.domain.users import User
from bot.services.ports.reports import BarPanel, ChartRenderer, ChartSpec, Labels, Series
from bot.services.ports.repositories import (
    ApplicationCount,
    AuditRepository,
    BookingCount,
)
from bot.services.ports.system import Clock
from bot.services.reporting import ReportingReads, chunks, reporting_day, zones
from bot.services.staff_guard import StaffAudit, staff_member
from bot.services.users import complex_reference

TOP = 5  # popular complexes and sports shown
CHART_COMPLEXES = 8
IDS_PER_QUERY = 1000  # session ids in one ``$in``
STATUS_ORDER = (
    ApplicationStatus.PENDING,
    ApplicationStatus.ACCEPTED,
    ApplicationStatus.TRANSFERRED,
    ApplicationStatus.COMPLETED,
    ApplicationStatus.REJECTED,
    ApplicationStatus.CANCELLED,
)


@dataclass(frozen=True)
class Figures:
    """One complex's (or one sport's) figures for the period."""

    code: str
    name: LocalizedText
    applications: int = 0
    sessions: int = 0  # held, not cancelled
    seats: int = 0  # of those sessions
    booked: int = 0  # active bookings of those sessions
    waitlisted: int = 0
    attended: int = 0
    no_shows: int = 0

    @property
    def popularity(self) -> int:
        return self.applications + self.booked

    @property
    def occupancy(self) -> float | None:
        return share(self.booked, self.seats)


@dataclass(frozen=True)
class StatisticsReport:
    period: Period
    # The complexes counted (every one the staff member may see, or the one they picked).
    complexes: tuple[Complex, ...]
    narrowed: bool  # one complex picked, or a manager's own (not every complex)
    new_users: int
    active_users: int
    applications: Mapping[ApplicationStatus, int]
    sessions: int
    cancelled_sessions: int
    seats: int
    booked: int
    waitlisted: int
    cancelled_bookings: int
    attended: int
    no_shows: int
    unmarked: int  # active bookings of sessions already started, attendance not marked
    by_complex: tuple[Figures, ...]  # most popular first
    by_sport: tuple[Figures, ...]
    timezones: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_applications(self) -> int:
        return sum(self.applications.values())

    @property
    def occupancy(self) -> float | None:
        return share(self.booked, self.seats)

    @property
    def marked(self) -> int:
        return self.attended + self.no_shows

    @property
    def no_show_rate(self) -> float | None:
        return share(self.no_shows, self.marked)

    def popular_complexes(self, limit: int = TOP) -> tuple[Figures, ...]:
        return tuple(f for f in self.by_complex if f.popularity > 0)[:limit]

    def popular_sports(self, limit: int = TOP) -> tuple[Figures, ...]:
        return tuple(f for f in self.by_sport if f.popularity > 0)[:limit]


@dataclass(frozen=True)
class StatsChart:
    report: StatisticsReport
    png: bytes


@dataclass(frozen=True)
class StatsScope:
    """What a staff member may count: every complex (admins) or theirs, with button references."""

    staff: User
    complexes: tuple[Complex, ...]

    def reference(self, complex_: Complex) -> str:
        return complex_reference(complex_.code)


class StatisticsService:
    def __init__(
        self,
        reads: ReportingReads,
        audit: AuditRepository,
        clock: Clock,
        charts: ChartRenderer,
    ) -> None:
        self._reads = reads
        self._users = reads.users
        self._catalog = reads.catalog
        self._applications = reads.applications
        self._bookings = reads.bookings
        self._audit = StaffAudit(audit, clock)
        self._clock = clock
        self._charts = charts

    async def scope(self, actor_id: int) -> StatsScope:
        """The complexes the staff member's figures are about (the «🏢 ФОК» picker)."""
        staff = await staff_member(self._users, actor_id)
        return StatsScope(staff, tuple(await self._reads.complexes_of(staff)))

    async def report(
        self, actor_id: int, kind: PeriodKind, complex_ref: str | None = None
    ) -> StatisticsReport:
        """The figures for the period ``kind`` ending today, over the staff member's complexes or
        the one of them whose reference is ``complex_ref``; audited."""
        report = await self._staff_report(actor_id, kind, complex_ref)
        await self._record(actor_id, report, "text")
        return report

    async def chart(
        self, actor_id: int, kind: PeriodKind, complex_ref: str | None, labels: Labels
    ) -> StatsChart:
        """The same figures and their PNG chart worded with ``labels`` (see :func:`chart_spec`)."""
        report = await self._staff_report(actor_id, kind, complex_ref)
        await self._record(actor_id, report, "chart")
        return StatsChart(report, await self._charts.render_png(chart_spec(report, labels)))

    async def operator_report(self, days: int) -> StatisticsReport:
        """``admin_tools.py stats --days N``: every complex, the last ``days`` days."""
        complexes = await self._catalog.list_complexes(include_inactive=True)
        return await self._build(last_days(days, self._today()), complexes, narrowed=False)

    async def _staff_report(
        self, actor_id: int, kind: PeriodKind, complex_ref: str | None
    ) -> StatisticsReport:
        scope = await self._reads.scope(actor_id, complex_ref)
        period = period_of(kind, self._today())
        return await self._build(period, scope.complexes, narrowed=scope.narrowed)

    def _today(self) -> date:
        return reporting_day(self._clock)

    async def _build(
        self, period: Period, complexes: Sequence[Complex], *, narrowed: bool
    ) -> StatisticsReport:
        by_zone = zones(complexes)
        counts: list[ApplicationCount] = []
        applicants: set[int] = set()
        for zone, codes in by_zone.items():
            start, end = period.bounds(zone)
            scope = frozenset(codes)
            counts += await self._applications.count_created_between(scope, start, end)
            applicants |= await self._applications.applicants_between(scope, start, end)
        sessions = await self._reads.sessions_starting(period, complexes)
        ids = [s.id for s in sessions]
        booking_counts = await self._reads.booking_counts(ids)
        bookers: set[int] = set()
        for chunk in chunks(ids):
            bookers |= await self._bookings.bookers_for_sessions(chunk)
        active = frozenset(applicants | bookers)
        if narrowed:
            home = period.bounds(_main_zone(complexes))
            new_users = await self._users.count_registered_between(*home, among=active)
        else:
            new_users = await self._users.count_registered_between(
                *period.bounds(_main_zone(complexes))
            )
        sports = {s.code: s for s in await self._catalog.list_sports(include_inactive=True)}
        return _assemble(
            period,
            tuple(complexes),
            narrowed,
            new_users,
            len(active),
            counts,
            sessions,
            booking_counts,
            {code: sport.name for code, sport in sports.items()},
            self._clock.now(),
            tuple(by_zone),
        )

    async def _record(self, actor_id: int, report: StatisticsReport, view: str) -> None:
        period = report.period
        await self._audit.record(
            actor_id,
            "stats.view",
            "report",
            f"{period.first.isoformat()}..{period.last.isoformat()}",
            before=None,
            after=None,
            view=view,
            complexes=sorted(c.code for c in report.complexes) if report.narrowed else "all",
        )


def _main_zone(complexes: Sequence[Complex]) -> str:
    """The zone most of the complexes are in (registrations are not per complex)."""
    found = Counter(c.timezone for c in complexes).most_common(1)
    return found[0][0] if found else DEFAULT_TIMEZONE


class _Tally:
    def __init__(self, code: str, name: LocalizedText) -> None:
        self.code = code
        self.name = name
        self.values: Counter[str] = Counter()

    def figures(self) -> Figures:
        v = self.values
        return Figures(
            self.code,
            self.name,
            applications=v["applications"],
            sessions=v["sessions"],
            seats=v["seats"],
            booked=v["booked"],
            waitlisted=v["waitlisted"],
            attended=v["attended"],
            no_shows=v["no_shows"],
        )


def _assemble(
    period: Period,
    complexes: tuple[Complex, ...],
    narrowed: bool,
    new_users: int,
    active_users: int,
    counts: Sequence[ApplicationCount],
    sessions: Sequence[Session],
    booking_counts: Sequence[BookingCount],
    sport_names: Mapping[str, LocalizedText],
    now: datetime,
    timezones: tuple[str, ...],
) -> StatisticsReport:
    by_complex = {c.code: _Tally(c.code, c.name) for c in complexes}
    by_sport: dict[str, _Tally] = {}

    def sport(code: str) -> _Tally:
        if code not in by_sport:
            by_sport[code] = _Tally(code, sport_names.get(code, LocalizedText.of(code)))
        return by_sport[code]

    statuses: Counter[ApplicationStatus] = Counter()
    for count in counts:
        statuses[count.status] += count.count
        by_complex[count.complex_code].values["applications"] += count.count
        sport(count.sport_code).values["applications"] += count.count
    held = {s.id: s for s in sessions}
    totals: Counter[str] = Counter()
    for s in sessions:
        if s.cancelled:
            totals["cancelled_sessions"] += 1
            continue
        for tally in (by_complex[s.complex_code], sport(s.sport_code)):
            tally.values["sessions"] += 1
            tally.values["seats"] += s.capacity
        totals["sessions"] += 1
        totals["seats"] += s.capacity
    for bc in booking_counts:
        s = held[bc.session_id]
        if bc.status is BookingStatus.CANCELLED:
            totals["cancelled_bookings"] += bc.count
        if s.cancelled:
            continue
        key = {BookingStatus.ACTIVE: "booked", BookingStatus.WAITLISTED: "waitlisted"}.get(
            bc.status
        )
        marks: list[str] = []
        if key is not None:
            marks.append(key)
        if bc.status is BookingStatus.ACTIVE:
            if bc.attendance is Attendance.ATTENDED:
                marks.append("attended")
            elif bc.attendance is Attendance.NO_SHOW:
                marks.append("no_shows")
            elif s.starts_at <= now:
                totals["unmarked"] += bc.count
        for mark in marks:
            totals[mark] += bc.count
            by_complex[s.complex_code].values[mark] += bc.count
            sport(s.sport_code).values[mark] += bc.count

    def ranked(tallies: Mapping[str, _Tally]) -> tuple[Figures, ...]:
        figures = [t.figures() for t in tallies.values()]
        return tuple(sorted(figures, key=lambda f: (-f.popularity, -f.applications, f.code)))

    return StatisticsReport(
        period=period,
        complexes=complexes,
        narrowed=narrowed,
        new_users=new_users,
        active_users=active_users,
        applications={status: statuses[status] for status in STATUS_ORDER},
        sessions=totals["sessions"],
        cancelled_sessions=totals["cancelled_sessions"],
        seats=totals["seats"],
        booked=totals["booked"],
        waitlisted=totals["waitlisted"],
        cancelled_bookings=totals["cancelled_bookings"],
        attended=totals["attended"],
        no_shows=totals["no_shows"],
        unmarked=totals["unmarked"],
        by_complex=ranked(by_complex),
        by_sport=ranked(by_sport),
        timezones=timezones,
    )


def chart_spec(report: StatisticsReport, labels: Labels) -> ChartSpec:
    """The chart of a report. ``labels`` (the requester's language): ``title`` (a template with
    ``{first}``, ``{last}``, ``{scope}``), ``all`` (the scope of every complex), ``by_complex``,
    ``applications``, ``bookings``, ``by_status``, ``count``, ``occupancy``, ``empty``,
    ``status.<value>`` for each status, and ``language``."""
    language = labels["language"]
    top = tuple(f for f in report.by_complex if f.popularity > 0)[:CHART_COMPLEXES]
    with_seats = tuple(f for f in report.by_complex if f.seats > 0)[:CHART_COMPLEXES]
    if report.narrowed and len(report.complexes) == 1:
        scope = report.complexes[0].name.get(language)
    elif report.narrowed:
        scope = ", ".join(c.name.get(language) for c in report.complexes) or labels["all"]
    else:
        scope = labels["all"]
    return ChartSpec(
        title=labels["title"].format(
            first=f"{report.period.first:%d.%m.%Y}",
            last=f"{report.period.last:%d.%m.%Y}",
            scope=scope,
        ),
        panels=(
            BarPanel(
                labels["by_complex"],
                tuple(f.name.get(language) for f in top),
                (
                    Series(labels["applications"], tuple(float(f.applications) for f in top)),
                    Series(labels["bookings"], tuple(float(f.booked) for f in top)),
                ),
            ),
            BarPanel(
                labels["by_status"],
                tuple(labels[f"status.{s.value}"] for s in STATUS_ORDER),
                (
                    Series(
                        labels["count"],
                        tuple(float(report.applications.get(s, 0)) for s in STATUS_ORDER),
                    ),
                ),
            ),
            BarPanel(
                labels["occupancy"],
                tuple(f.name.get(language) for f in with_seats),
                (Series(labels["occupancy"], tuple(f.occupancy or 0.0 for f in with_seats)),),
                percent=True,
            ),
        ),
        empty_text=labels["empty"],
    )
