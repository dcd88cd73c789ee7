"""Excel exports of a period over a staff member's complexes: applications (with their history)
and bookings (with attendance per session).

A small export is built while the staff member waits; a large one becomes an :class:`ExportJob`
in the database, handed to the workers (queue ``reports``), which build it, show its progress and
send the file (:meth:`ExportService.run_job`). The job is claimed with a lease, so a worker that
died leaves it to be taken again, and one finished is never built twice. Exporting is a staff
action: authorised by role and scope (as the statistics are), and audited with what was exported.

The workbook's words (sheet and column names, status names) come from the Telegram layer's texts
in the requester's language (``labels``); a job keeps them, so the worker writes the same words.
The «Заявки» sheet has the original bot's columns in its order («ID заявки», «Дата подачи», «Имя
заявителя», «Телефон», «ФОК», «Район», «Адрес», «Статус», «Дата обновления», «Примечания»), then
«Вид спорта». Times are the complex's local wall-clock time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from bot.domain.applications import ActorKind
from bot.domain.bookings import Attendance, Booking, BookingStatus
from bot.domain.catalog import Complex
from bot.domain.ids import new_id
from bot.domain.reports import Period, PeriodKind, period_of
from bot.services.ports.reports import (
    Cell,
    ExportJob,
    ExportJobRepository,
    ExportKind,
    ExportQueue,
    ExportSender,
    ExportStatus,
    Labels,
    Sheet,
    WorkbookRenderer,
    WorkbookSpec,
)
from bot.services.ports.repositories import AuditRepository
from bot.services.ports.system import Clock
from bot.services.reporting import (
    Names,
    Progress,
    ReportingReads,
    ReportScope,
    application_headers,
    application_number,
    application_row,
    local,
    reporting_day,
    scope_name,
    zones,
)
from bot.services.staff_guard import StaffAudit
from bot.services.users import complex_reference

log = logging.getLogger(__name__)

INLINE_ROWS = 500  # up to this many rows the file is built while the staff member waits
MAX_ROWS = 50_000  # more is refused: a shorter period or one complex
JOB_LEASE = timedelta(minutes=15)  # longer than any export takes (the task's time limit)
MAX_ATTEMPTS = 3  # a job whose worker died this many times is given up
PROGRESS_STEPS = 5  # the progress message is updated at most this many times


class ExportResult(StrEnum):
    BUILT = "built"  # the file is here
    QUEUED = "queued"  # a worker builds it and sends it
    EMPTY = "empty"  # nothing to export
    TOO_LARGE = "too_large"  # over MAX_ROWS
    UNAVAILABLE = "unavailable"  # the queue could not take it


@dataclass(frozen=True)
class ExportRequest:
    kind: ExportKind
    period: PeriodKind
    complex_ref: str | None  # None: every complex of the staff member
    chat_id: int
    language: str
    labels: Labels


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class ExportOutcome:
    result: ExportResult
    kind: ExportKind
    period: Period
    scope: ReportScope
    rows: int
    file: ExportFile | None = None
    limit: int = MAX_ROWS


@dataclass(frozen=True)
class ExportPreview:
    """What «📥 Выгрузка» would export: the period and the complexes."""

    period: Period
    scope: ReportScope


class ExportService:
    def __init__(
        self,
        reads: ReportingReads,
        audit: AuditRepository,
        clock: Clock,
        *,
        jobs: ExportJobRepository,
        workbooks: WorkbookRenderer,
        queue: ExportQueue,
        inline_rows: int = INLINE_ROWS,
    ) -> None:
        self._reads = reads
        self._audit = StaffAudit(audit, clock)
        self._clock = clock
        self._jobs = jobs
        self._workbooks = workbooks
        self._queue = queue
        self._inline_rows = inline_rows

    async def preview(
        self, actor_id: int, kind: PeriodKind, complex_ref: str | None
    ) -> ExportPreview:
        scope = await self._reads.scope(actor_id, complex_ref)
        return ExportPreview(period_of(kind, reporting_day(self._clock)), scope)

    async def request(self, actor_id: int, request: ExportRequest) -> ExportOutcome:
        """Build the export now if it is small, else queue it for a worker; audited when made."""
        scope = await self._reads.scope(actor_id, request.complex_ref)
        period = period_of(request.period, reporting_day(self._clock))
        rows = await self._count(request.kind, period, scope.complexes)

        def outcome(result: ExportResult, file: ExportFile | None = None) -> ExportOutcome:
            return ExportOutcome(result, request.kind, period, scope, rows, file)

        if rows == 0:
            return outcome(ExportResult.EMPTY)
        if rows > MAX_ROWS:
            return outcome(ExportResult.TOO_LARGE)
        if rows <= self._inline_rows:
            content = await self._build(request.kind, period, scope, request.labels, None)
            await self._record(actor_id, request.kind, period, scope, rows, "inline")
            return outcome(ExportResult.BUILT, ExportFile(filename(request.kind, period), content))
        job = ExportJob(
            id=new_id(),
            actor_id=actor_id,
            chat_id=request.chat_id,
            kind=request.kind,
            first_day=period.first.isoformat(),
            last_day=period.last.isoformat(),
            complex_code=scope.complexes[0].code if request.complex_ref else None,
            language=request.language,
            labels={**request.labels, "scope": scope_name(scope, request.labels)},
            rows=rows,
            created_at=self._clock.now(),
        )
        await self._jobs.insert(job)
        try:
            await self._queue.enqueue(job.id)
        except Exception:
            log.exception("export job %s could not be queued", job.id)
            await self._jobs.finish(job.id, ExportStatus.FAILED, self._clock.now(), "not queued")
            return outcome(ExportResult.UNAVAILABLE)
        await self._record(actor_id, request.kind, period, scope, rows, "queued", job=job.id)
        return outcome(ExportResult.QUEUED)

    async def run_job(self, job_id: str, sender: ExportSender) -> ExportStatus | None:
        """A worker builds the job and sends the file (once; None if there was nothing to do)."""
        now = self._clock.now()
        job = await self._jobs.claim(job_id, now, now + JOB_LEASE)
        if job is None:
            return None
        if job.attempts > MAX_ATTEMPTS:
            return await self._give_up(job, sender, "too many attempts")
        try:
            # The requester may have lost the role or the complex since they asked.
            reference = complex_reference(job.complex_code) if job.complex_code else None
            scope = await self._reads.scope(job.actor_id, reference)
            period = Period(date.fromisoformat(job.first_day), date.fromisoformat(job.last_day))
            message_id = await sender.progress(job, 0, job.rows)
            if message_id is not None and message_id != job.progress_message_id:
                await self._jobs.set_progress_message(job.id, message_id)
                job = replace(job, progress_message_id=message_id)
            shown = 0

            async def progress(done: int) -> None:
                nonlocal shown
                step = max(1, job.rows // PROGRESS_STEPS)
                if done - shown >= step and done < job.rows:
                    shown = done
                    await sender.progress(job, done, job.rows)

            content = await self._build(job.kind, period, scope, job.labels, progress)
            await sender.deliver(job, filename(job.kind, period), content, job.rows)
        except Exception as error:
            log.exception("export job %s failed", job.id)
            return await self._give_up(job, sender, type(error).__name__)
        await self._jobs.finish(job.id, ExportStatus.DONE, self._clock.now())
        return ExportStatus.DONE

    async def _give_up(self, job: ExportJob, sender: ExportSender, why: str) -> ExportStatus:
        await self._jobs.finish(job.id, ExportStatus.FAILED, self._clock.now(), why)
        try:
            await sender.failed(job)
        except Exception:
            log.exception("could not tell %s that export %s failed", job.chat_id, job.id)
        return ExportStatus.FAILED

    async def _record(
        self,
        actor_id: int,
        kind: ExportKind,
        period: Period,
        scope: ReportScope,
        rows: int,
        how: str,
        **details: object,
    ) -> None:
        await self._audit.record(
            actor_id,
            f"export.{kind.value}",
            "report",
            f"{period.first.isoformat()}..{period.last.isoformat()}",
            before=None,
            after=None,
            rows=rows,
            built=how,
            complexes=sorted(c.code for c in scope.complexes) if scope.narrowed else "all",
            **details,
        )

    # --- reading ---------------------------------------------------------------------------

    async def _count(self, kind: ExportKind, period: Period, complexes: Sequence[Complex]) -> int:
        if kind is ExportKind.APPLICATIONS:
            total = 0
            for zone, codes in zones(complexes).items():
                start, end = period.bounds(zone)
                counts = await self._reads.applications.count_created_between(
                    frozenset(codes), start, end
                )
                total += sum(c.count for c in counts)
            return total
        sessions = await self._reads.sessions_starting(period, complexes)
        return sum(c.count for c in await self._reads.booking_counts([s.id for s in sessions]))

    async def _build(
        self,
        kind: ExportKind,
        period: Period,
        scope: ReportScope,
        labels: Labels,
        progress: Progress | None,
    ) -> bytes:
        names = await self._reads.names(scope.complexes, labels["language"])
        if kind is ExportKind.APPLICATIONS:
            sheets = await self._application_sheets(period, scope, labels, names, progress)
        else:
            sheets = await self._booking_sheets(period, scope, labels, names, progress)
        return await self._workbooks.render_xlsx(WorkbookSpec(sheets))

    async def _application_sheets(
        self,
        period: Period,
        scope: ReportScope,
        labels: Labels,
        names: Names,
        progress: Progress | None,
    ) -> tuple[Sheet, ...]:
        found = await self._reads.applications_made(period, scope.complexes, progress)
        rows = [application_row(a, names, labels) for a in found]
        history: list[tuple[Cell, ...]] = []
        for a in found:
            zone = names.complexes[a.complex_code].timezone
            number = application_number(a)
            for change in a.history:
                who = (
                    labels["who.applicant"]
                    if change.actor_kind is ActorKind.APPLICANT
                    else labels["who.staff"].format(id=change.actor_id)
                )
                history.append(
                    (
                        number,
                        local(change.at, zone),
                        who,
                        labels[f"status.{change.from_status.value}"]
                        if change.from_status
                        else None,
                        labels[f"status.{change.to_status.value}"],
                        change.comment,
                    )
                )
        c = _columns(labels)
        return (
            Sheet(labels["sheet.applications"], application_headers(labels), rows),
            Sheet(
                labels["sheet.history"],
                c("application", "at", "who", "from", "to", "comment"),
                history,
            ),
        )

    async def _booking_sheets(
        self,
        period: Period,
        scope: ReportScope,
        labels: Labels,
        names: Names,
        progress: Progress | None,
    ) -> tuple[Sheet, ...]:
        sessions = await self._reads.sessions_starting(period, scope.complexes)
        by_session: dict[str, list[Booking]] = {s.id: [] for s in sessions}
        for booking in await self._reads.bookings_of([s.id for s in sessions], progress):
            by_session[booking.session_id].append(booking)
        people = {
            u.telegram_id: u
            for u in await self._reads.users.get_many(
                frozenset(b.user_id for found in by_session.values() for b in found)
            )
        }
        now = self._clock.now()
        rows: list[tuple[Cell, ...]] = []
        attendance: list[tuple[Cell, ...]] = []
        for s in sessions:
            complex_ = names.complexes[s.complex_code]
            zone = complex_.timezone
            title = s.title.get(names.language) or names.sport(s.sport_code)
            start = local(s.starts_at, zone)
            head: tuple[Cell, ...] = (
                title,
                complex_.name.get(names.language),
                names.sport(s.sport_code),
                start,
            )
            bookings = by_session[s.id]
            for b in bookings:
                person = people.get(b.user_id)
                rows.append(
                    (
                        *head,
                        person.name if person is not None else None,
                        person.phone if person is not None else None,
                        b.user_id,
                        labels[f"booking.{b.status.value}"],
                        labels[f"attendance.{b.attendance.value}"] if b.attendance else None,
                        local(b.attendance_at, zone) if b.attendance_at else None,
                        local(b.created_at, zone),
                    )
                )
            active = [b for b in bookings if b.status is BookingStatus.ACTIVE]
            came = sum(1 for b in active if b.attendance is Attendance.ATTENDED)
            missed = sum(1 for b in active if b.attendance is Attendance.NO_SHOW)
            started = s.starts_at <= now and not s.cancelled
            attendance.append(
                (
                    *head,
                    s.capacity,
                    len(active),
                    came,
                    missed,
                    sum(1 for b in active if b.attendance is None) if started else 0,
                    sum(1 for b in bookings if b.status is BookingStatus.WAITLISTED),
                    labels["yes"] if s.cancelled else labels["no"],
                )
            )
        c = _columns(labels)
        return (
            Sheet(
                labels["sheet.bookings"],
                c(
                    "session",
                    "complex",
                    "sport",
                    "starts",
                    "person",
                    "phone",
                    "telegram_id",
                    "booking_status",
                    "attendance",
                    "marked_at",
                    "booked_at",
                ),
                rows,
            ),
            Sheet(
                labels["sheet.attendance"],
                c(
                    "session",
                    "complex",
                    "sport",
                    "starts",
                    "seats",
                    "booked",
                    "attended",
                    "no_shows",
                    "unmarked",
                    "waitlisted",
                    "cancelled",
                ),
                attendance,
            ),
        )


def _columns(labels: Labels) -> Callable[..., tuple[str, ...]]:
    def columns(*keys: str) -> tuple[str, ...]:
        return tuple(labels[f"col.{key}"] for key in keys)

    return columns


def filename(kind: ExportKind, period: Period) -> str:
    """``applications_20261101_20261130.xlsx`` (the original: ``weekly_report_..._....xlsx``)."""
    return f"{kind.value}_{period.first:%Y%m%d}_{period.last:%Y%m%d}.xlsx"
