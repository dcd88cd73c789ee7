"""The schedule: sessions of a complex by day and sport, weekly templates, one-off sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.audit import AuditEntry
from bot.domain.catalog import Complex
from bot.domain.errors import NotFound, PermissionDenied, ValidationFailed
from bot.domain.i18n import LocalizedText
from bot.domain.ids import new_id
from bot.domain.sessions import (
    Availability,
    Session,
    WeeklyTemplate,
    local_day_bounds,
    validate_session_shape,
)
from bot.services.ports.repositories import (
    AuditRepository,
    CatalogRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import Clock

GENERATION_HORIZON_DAYS = 14
SCHEDULE_DAYS_AHEAD = 13  # residents browse today and the 13 days after it


@dataclass(frozen=True)
class ScheduledSession:
    session: Session
    availability: Availability


@dataclass(frozen=True)
class DayView:
    """One local day of a complex's schedule as a resident browses it."""

    day: date  # the day asked for, moved into [first_day, last_day]
    first_day: date  # today at the complex
    last_day: date
    sessions: list[ScheduledSession]  # in start order; cancelled sessions are left out

    @property
    def has_previous(self) -> bool:
        return self.day > self.first_day

    @property
    def has_next(self) -> bool:
        return self.day < self.last_day


class ScheduleService:
    def __init__(
        self,
        sessions: SessionRepository,
        catalog: CatalogRepository,
        users: UserRepository,
        audit: AuditRepository,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._catalog = catalog
        self._users = users
        self._audit = audit
        self._clock = clock

    async def day(
        self, complex_code: str, day: date, sport_code: str | None = None
    ) -> list[Session]:
        """Sessions of one local calendar day, in start order."""
        complex_ = await self._catalog.get_complex(complex_code)
        if complex_ is None or not complex_.active:
            raise NotFound(f"complex {complex_code}")
        start, end = local_day_bounds(day, complex_.timezone)
        return await self._sessions.list_for_complex(complex_code, start, end, sport_code)

    async def day_view(
        self, complex_: Complex, day: date, sport_code: str | None = None
    ) -> DayView:
        """The day a resident browses (``complex_`` as the caller read it): only today and the
        next ``SCHEDULE_DAYS_AHEAD`` days, and what can be booked in each session right now."""
        now = self._clock.now()
        today = now.astimezone(ZoneInfo(complex_.timezone)).date()
        last = today + timedelta(days=SCHEDULE_DAYS_AHEAD)
        day = min(max(day, today), last)
        start, end = local_day_bounds(day, complex_.timezone)
        found = await self._sessions.list_for_complex(complex_.code, start, end, sport_code)
        sessions = [ScheduledSession(s, s.availability_at(now)) for s in found if not s.cancelled]
        return DayView(day, today, last, sessions)

    async def upcoming(self, complex_code: str, days: int = 7) -> list[Session]:
        now = self._clock.now()
        sessions = await self._sessions.list_for_complex(
            complex_code, now, now + timedelta(days=days)
        )
        return [s for s in sessions if not s.cancelled]

    async def session(self, session_id: str) -> Session:
        session = await self._sessions.get(session_id)
        if session is None:
            raise NotFound(f"session {session_id}")
        return session

    async def generate(self, first_day: date, days: int = GENERATION_HORIZON_DAYS) -> int:
        """Create dated sessions from every active weekly template; safe to run again."""
        created = 0
        for template in await self._sessions.list_templates():
            if not template.active:
                continue
            complex_ = await self._catalog.get_complex(template.complex_code)
            if complex_ is None or not complex_.active:
                continue
            occurrences = template.occurrences(first_day, days, complex_.timezone)
            created += await self._sessions.insert_missing(occurrences)
        return created

    async def staff_generate(
        self, actor_id: int | None, first_day: date, days: int = GENERATION_HORIZON_DAYS
    ) -> int:
        """:meth:`generate` on a person's request, audited. It covers every complex, so it is for
        admins and super admins; ``actor_id=None`` is the operator CLI (trusted shell)."""
        if actor_id is not None:
            actor = await self._users.get(actor_id)
            if actor is None or actor.blocked or not actor.manages_all_complexes:
                raise PermissionDenied("generating every complex's sessions is for admins")
        created = await self.generate(first_day, days)
        await self._record(
            actor_id,
            "sessions.generate",
            "schedule",
            first_day.isoformat(),
            days=days,
            created=created,
        )
        return created

    async def save_template(self, actor_id: int | None, template: WeeklyTemplate) -> None:
        await self._check_staff_scope(actor_id, template.complex_code, template.sport_code)
        await self._sessions.upsert_template(template)
        await self._record(actor_id, "template.save", "template", template.id)

    async def create_one_off(
        self,
        actor_id: int | None,
        *,
        complex_code: str,
        sport_code: str,
        starts_at: datetime,
        duration_minutes: int,
        capacity: int,
        title: LocalizedText | None = None,
    ) -> Session:
        await self._check_staff_scope(actor_id, complex_code, sport_code)
        ends_at = starts_at + timedelta(minutes=duration_minutes)
        validate_session_shape(starts_at, ends_at, capacity)
        if starts_at <= self._clock.now():
            raise ValidationFailed("starts_at", "in_past")
        session = Session(
            id=new_id(),
            complex_code=complex_code,
            sport_code=sport_code,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            title=title or LocalizedText(),
        )
        await self._sessions.insert(session)
        await self._record(actor_id, "session.create", "session", session.id)
        return session

    async def _check_staff_scope(
        self, actor_id: int | None, complex_code: str, sport_code: str
    ) -> None:
        complex_ = await self._catalog.get_complex(complex_code)
        if complex_ is None:
            raise NotFound(f"complex {complex_code}")
        if not complex_.offers(sport_code):
            raise ValidationFailed("sport", "not_offered")
        if actor_id is None:
            return
        actor = await self._users.get(actor_id)
        if actor is None or actor.blocked or not actor.can_manage_complex(complex_code):
            raise PermissionDenied("complex outside the staff member's scope")

    async def _record(
        self, actor_id: int | None, action: str, kind: str, target: str, **details: object
    ) -> None:
        await self._audit.record(
            AuditEntry(new_id(), actor_id or 0, action, kind, target, self._clock.now(), details)
        )
