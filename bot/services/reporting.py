"""The reporting read model: what the statistics, the exports and the weekly report read.

All three count or list the same things over a staff member's complexes and a period of days:
applications made in it, sessions starting in it and their bookings, each complex counted
between the local midnights of its own zone. This module reads them once for all three (built
once in the container) and holds the cells they share (an application's row, local times, the
scope's name), so that a rule of scope or period is written in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.applications import Application
from bot.domain.bookings import Booking
from bot.domain.catalog import DEFAULT_TIMEZONE, Complex
from bot.domain.errors import NotFound, PermissionDenied
from bot.domain.i18n import LocalizedText
from bot.domain.reports import Period
from bot.domain.sessions import Session
from bot.domain.users import User
from bot.services.ports.reports import Cell, Labels
from bot.services.ports.repositories import (
    ApplicationRepository,
    BookingCount,
    BookingRepository,
    CatalogRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import Clock
from bot.services.staff_guard import staff_member
from bot.services.users import complex_reference

BATCH = 500  # applications read at once; a progress callback is told after each batch
IDS_PER_QUERY = 1000  # session ids per bookings query

Progress = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class ReportScope:
    """What a report counts: the staff member, the complexes, whether it is narrower than all."""

    staff: User
    complexes: tuple[Complex, ...]
    narrowed: bool


@dataclass(frozen=True)
class Names:
    """The catalog's words in one language: complexes by code, districts and sports by code."""

    complexes: Mapping[str, Complex]
    districts: Mapping[str, LocalizedText]
    sports: Mapping[str, LocalizedText]
    language: str

    def district(self, code: str) -> str:
        found = self.districts.get(code)
        return found.get(self.language) if found is not None else code

    def sport(self, code: str) -> str:
        found = self.sports.get(code)
        return found.get(self.language) if found is not None else code


class ReportingReads:
    """The reads of every report, over the repositories (one instance for all report services)."""

    def __init__(
        self,
        users: UserRepository,
        catalog: CatalogRepository,
        applications: ApplicationRepository,
        sessions: SessionRepository,
        bookings: BookingRepository,
    ) -> None:
        self.users = users
        self.catalog = catalog
        self.applications = applications
        self.sessions = sessions
        self.bookings = bookings

    async def complexes_of(self, staff: User) -> list[Complex]:
        """Every complex (hidden ones too: they have a history) a staff member may count."""
        every = await self.catalog.list_complexes(include_inactive=True)
        if staff.manages_all_complexes:
            return every
        return [c for c in every if staff.can_manage_complex(c.code)]

    async def scope(self, actor_id: int, complex_ref: str | None) -> ReportScope:
        """The staff member's complexes, or the one of them whose button reference is
        ``complex_ref``: refused for anyone but staff, and for a complex outside their scope."""
        staff = await staff_member(self.users, actor_id)
        complexes = await self.complexes_of(staff)
        if complex_ref is not None:
            every = await self.catalog.list_complexes(include_inactive=True)
            picked = next((c for c in every if complex_reference(c.code) == complex_ref), None)
            if picked is None:
                raise NotFound(f"complex {complex_ref}")
            if not staff.can_manage_complex(picked.code):
                raise PermissionDenied("complex outside the staff member's scope")
            complexes = [picked]
        narrowed = complex_ref is not None or not staff.manages_all_complexes
        return ReportScope(staff, tuple(complexes), narrowed)

    async def names(self, complexes: Sequence[Complex], language: str) -> Names:
        districts = await self.catalog.list_districts(include_inactive=True)
        sports = await self.catalog.list_sports(include_inactive=True)
        return Names(
            {c.code: c for c in complexes},
            {d.code: d.name for d in districts},
            {s.code: s.name for s in sports},
            language,
        )

    async def applications_made(
        self, period: Period, complexes: Sequence[Complex], progress: Progress | None = None
    ) -> list[Application]:
        """Every application made in the period at the complexes, oldest first."""
        found: list[Application] = []
        for zone, codes in zones(complexes).items():
            start, end = period.bounds(zone)
            after: tuple[datetime, str] | None = None
            while True:
                batch = await self.applications.created_between(
                    frozenset(codes), start, end, after=after, limit=BATCH
                )
                found += batch
                if progress is not None:
                    await progress(len(found))
                if len(batch) < BATCH:
                    break
                after = (batch[-1].created_at, batch[-1].id)
        return sorted(found, key=lambda a: (a.created_at, a.id))

    async def sessions_starting(
        self, period: Period, complexes: Sequence[Complex]
    ) -> list[Session]:
        """Every session (cancelled ones too) starting in the period at the complexes, in order."""
        found: list[Session] = []
        for zone, codes in zones(complexes).items():
            start, end = period.bounds(zone)
            found += await self.sessions.starting_between(frozenset(codes), start, end)
        return sorted(found, key=lambda s: (s.starts_at, s.id))

    async def booking_counts(self, session_ids: Sequence[str]) -> list[BookingCount]:
        found: list[BookingCount] = []
        for chunk in chunks(session_ids):
            found += await self.bookings.count_for_sessions(chunk)
        return found

    async def bookings_of(
        self, session_ids: Sequence[str], progress: Progress | None = None
    ) -> list[Booking]:
        found: list[Booking] = []
        for chunk in chunks(session_ids):
            found += await self.bookings.list_for_sessions(chunk)
            if progress is not None:
                await progress(len(found))
        return found


def zones(complexes: Sequence[Complex]) -> dict[str, list[str]]:
    """The complexes' codes by time zone, zones in order (a period's bounds differ by zone)."""
    found: dict[str, list[str]] = {}
    for complex_ in complexes:
        found.setdefault(complex_.timezone, []).append(complex_.code)
    return dict(sorted(found.items()))


def chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + IDS_PER_QUERY] for i in range(0, len(ids), IDS_PER_QUERY)]


def reporting_day(clock: Clock) -> date:
    """Today in the product's home zone (the catalog's default): the last day of a period."""
    return clock.now().astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()


def local(moment: datetime, timezone: str) -> datetime:
    """The complex's wall-clock time of ``moment``, to the second, without a zone (a cell)."""
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None, microsecond=0)


def application_number(application: Application) -> str:
    """«ID заявки»: the sequential number; one from before numbers: its id's tail."""
    if application.number is not None:
        return str(application.number)
    return application.id[-6:].upper()


# The columns of an application's row («Заявки» of the export and of the weekly report), as the
# keys of their headers (``labels["col.<key>"]``); the first is the export's «ID заявки».
APPLICATION_COLUMNS = (
    "application",
    "submitted",
    "applicant",
    "phone",
    "complex",
    "district",
    "address",
    "status",
    "updated",
    "notes",
    "sport",
)


def application_headers(labels: Labels) -> tuple[str, ...]:
    return tuple(labels[f"col.{key}"] for key in APPLICATION_COLUMNS)


def application_row(application: Application, names: Names, labels: Labels) -> tuple[Cell, ...]:
    """One application as the row of «Заявки» (the original bot's columns)."""
    complex_ = names.complexes[application.complex_code]
    zone = complex_.timezone
    return (
        application_number(application),
        local(application.created_at, zone),
        application.applicant_name,
        application.applicant_phone,
        complex_.name.get(names.language),
        names.district(complex_.district),
        complex_.address.get(names.language),
        labels[f"status.{application.status.value}"],
        local(application.updated_at, zone),
        application.comment,
        names.sport(application.sport_code),
    )


def scope_name(scope: ReportScope, labels: Labels) -> str:
    """The complexes of a report in words: «все ФОК» (``labels["all"]``) or their names."""
    if not scope.narrowed:
        return labels["all"]
    language = labels["language"]
    return ", ".join(c.name.get(language) for c in scope.complexes) or labels["all"]
