"""The schedule: sessions of a complex by day and sport, weekly templates, one-off sessions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.audit import AuditEntry
from bot.domain.catalog import Complex
from bot.domain.errors import NotFound, PermissionDenied, StaleAction, ValidationFailed
from bot.domain.i18n import LocalizedText
from bot.domain.ids import new_id
from bot.domain.paging import Page, PageRequest, clamp_page
from bot.domain.sessions import (
    Availability,
    DraftKind,
    Session,
    SessionDraft,
    WeeklyTemplate,
    local_day_bounds,
    parse_capacity,
    parse_clock,
    parse_day,
    parse_duration,
    validate_session_shape,
)
from bot.services.catalog_io import template_id
from bot.services.ports.repositories import (
    AuditRepository,
    CatalogRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import Clock
from bot.services.staff_guard import StaffAudit, staff_for_complex, staff_member

GENERATION_HORIZON_DAYS = 14
SCHEDULE_DAYS_AHEAD = 13  # residents browse today and the 13 days after it
STAFF_DAYS_AHEAD = 31  # staff see a month of a complex's sessions, cancelled ones included


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


@dataclass(frozen=True)
class StaffSchedule:
    """A complex's coming sessions as staff manage them, and its weekly slots."""

    complex_: Complex
    sessions: Page[Session]  # from now for STAFF_DAYS_AHEAD, in start order, cancelled included
    templates: list[WeeklyTemplate]


@dataclass(frozen=True)
class StaffDraft:
    """A session or weekly slot being set up, with the complex it is for."""

    draft: SessionDraft
    complex_: Complex


@dataclass(frozen=True)
class DraftDone:
    """What confirming a draft made: a one-off session, or a weekly slot and its sessions."""

    complex_: Complex
    session: Session | None = None
    template: WeeklyTemplate | None = None
    generated: int = 0  # sessions of the weekly slot created for the coming days


def session_snapshot(session: Session) -> dict[str, object]:
    """A session as the audit log keeps it (before → after)."""
    return {
        "complex": session.complex_code,
        "sport": session.sport_code,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "capacity": session.capacity,
        "booked": session.booked,
        "cancelled": session.cancelled,
        "cancel_reason": session.cancel_reason,
    }


def template_snapshot(template: WeeklyTemplate) -> dict[str, object]:
    return {
        "complex": template.complex_code,
        "sport": template.sport_code,
        "weekday": template.weekday,
        "start": template.start.isoformat("minutes"),
        "duration_minutes": template.duration_minutes,
        "capacity": template.capacity,
        "active": template.active,
    }


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
        self._staff_audit = StaffAudit(audit, clock)
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
        await self._audit.record(
            AuditEntry(
                new_id(),
                actor_id or 0,
                "sessions.generate",
                "schedule",
                first_day.isoformat(),
                self._clock.now(),
                {"days": days, "created": created},
            )
        )
        return created

    async def save_template(self, actor_id: int | None, template: WeeklyTemplate) -> None:
        await self._check_staff_scope(actor_id, template.complex_code, template.sport_code)
        before = next(
            (
                t
                for t in await self._sessions.list_templates(template.complex_code)
                if t.id == template.id
            ),
            None,
        )
        await self._sessions.upsert_template(template)
        await self._staff_audit.record(
            actor_id,
            "template.save",
            "template",
            template.id,
            before=template_snapshot(before) if before else None,
            after=template_snapshot(template),
        )

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
        await self._staff_audit.record(
            actor_id,
            "session.create",
            "session",
            session.id,
            before=None,
            after=session_snapshot(session),
        )
        return session

    # --- the staff screens: a complex's sessions and the guided set-up ----------------------

    async def staff_complexes(self, actor_id: int, page: PageRequest) -> Page[Complex]:
        """The open complexes whose sessions the staff member manages."""
        actor = await staff_member(self._users, actor_id)
        complexes = [
            c for c in await self._catalog.list_complexes() if actor.can_manage_complex(c.code)
        ]
        request = clamp_page(page, len(complexes))
        items = complexes[request.offset : request.offset + request.size]
        return Page(items, request.page, request.size, len(complexes))

    async def staff_schedule(
        self, actor_id: int, complex_code: str, page: PageRequest
    ) -> StaffSchedule:
        complex_ = await self._staff_complex(actor_id, complex_code)
        now = self._clock.now()
        found = await self._sessions.list_for_complex(
            complex_code, now - timedelta(hours=12), now + timedelta(days=STAFF_DAYS_AHEAD)
        )
        # Sessions under way (started, not ended) stay on the list: attendance is marked then.
        found = [s for s in found if s.ends_at > now]
        request = clamp_page(page, len(found))
        items = found[request.offset : request.offset + request.size]
        templates = await self._sessions.list_templates(complex_code)
        return StaffSchedule(
            complex_, Page(items, request.page, request.size, len(found)), templates
        )

    async def start_draft(self, actor_id: int, complex_code: str, kind: DraftKind) -> StaffDraft:
        """A new draft; a complex offering one sport has it chosen already."""
        complex_ = await self._staff_complex(actor_id, complex_code)
        sport = complex_.sports[0] if len(complex_.sports) == 1 else None
        return StaffDraft(SessionDraft(kind, complex_.code, sport_code=sport), complex_)

    async def fill_draft(
        self, actor_id: int, draft: SessionDraft, field: str, raw: str
    ) -> StaffDraft:
        """Set the draft's next field from what staff typed or pressed; a bad value is refused
        (ValidationFailed) and the draft is unchanged. ``field`` must be the one asked for: an
        older button is stale."""
        complex_ = await self._staff_complex(actor_id, draft.complex_code)
        if field != draft.missing():
            raise StaleAction(f"the draft asks for {draft.missing()}, not {field}")
        zone = ZoneInfo(complex_.timezone)
        local_now = self._clock.now().astimezone(zone)
        if field == "sport":
            if not complex_.offers(raw):
                raise ValidationFailed("sport", "not_offered")
            filled = replace(draft, sport_code=raw)
        elif field == "weekday":
            if not raw.isdigit():
                raise ValidationFailed("weekday", "out_of_range")
            filled = draft.with_weekday(int(raw))
        elif field == "day":
            filled = replace(draft, day=parse_day(raw, local_now.date()))
        elif field == "start":
            start = parse_clock(raw)
            if draft.day is not None and datetime.combine(draft.day, start, zone) <= local_now:
                raise ValidationFailed("start", "in_past")
            filled = replace(draft, start=start)
        elif field == "duration":
            filled = replace(draft, duration_minutes=parse_duration(raw))
        elif field == "capacity":
            filled = replace(draft, capacity=parse_capacity(raw))
        else:
            raise StaleAction(f"nothing to fill in {field!r}")
        return StaffDraft(filled, complex_)

    async def confirm_draft(self, actor_id: int, draft: SessionDraft) -> DraftDone:
        """Create the one-off session, or save the weekly slot and its coming sessions."""
        complex_ = await self._staff_complex(actor_id, draft.complex_code)
        if (
            draft.missing() is not None
            or draft.sport_code is None
            or draft.start is None
            or draft.duration_minutes is None
            or draft.capacity is None
        ):
            raise ValidationFailed("draft", "incomplete")
        if draft.kind is DraftKind.ONE_OFF:
            assert draft.day is not None
            local_start = datetime.combine(draft.day, draft.start, ZoneInfo(complex_.timezone))
            session = await self.create_one_off(
                actor_id,
                complex_code=complex_.code,
                sport_code=draft.sport_code,
                starts_at=local_start.astimezone(UTC),
                duration_minutes=draft.duration_minutes,
                capacity=draft.capacity,
            )
            return DraftDone(complex_, session=session)
        assert draft.weekday is not None
        template = WeeklyTemplate(
            id=template_id(complex_.code, draft.sport_code, draft.weekday, draft.start),
            complex_code=complex_.code,
            sport_code=draft.sport_code,
            weekday=draft.weekday,
            start=draft.start,
            duration_minutes=draft.duration_minutes,
            capacity=draft.capacity,
        )
        await self.save_template(actor_id, template)
        generated = await self._generate_template(template, complex_)
        return DraftDone(complex_, template=template, generated=generated)

    async def set_template_active(
        self, actor_id: int, template_id_: str, active: bool
    ) -> tuple[WeeklyTemplate, int]:
        """Stop a weekly slot (its sessions already made stay) or start it again (its coming
        sessions are made now); the slot and how many sessions were made."""
        found = next(
            (t for t in await self._sessions.list_templates() if t.id == template_id_), None
        )
        if found is None:
            raise NotFound(f"template {template_id_}")
        complex_ = await self._staff_complex(actor_id, found.complex_code)
        if found.active == active:
            return found, 0
        changed = replace(found, active=active)
        await self._sessions.upsert_template(changed)
        await self._staff_audit.record(
            actor_id,
            "template.active",
            "template",
            changed.id,
            before=template_snapshot(found),
            after=template_snapshot(changed),
        )
        generated = await self._generate_template(changed, complex_) if active else 0
        return changed, generated

    async def _generate_template(self, template: WeeklyTemplate, complex_: Complex) -> int:
        """The slot's sessions for the generation horizon, from now on."""
        now = self._clock.now()
        today = now.astimezone(ZoneInfo(complex_.timezone)).date()
        coming = [
            s
            for s in template.occurrences(today, GENERATION_HORIZON_DAYS, complex_.timezone)
            if s.starts_at > now
        ]
        return await self._sessions.insert_missing(coming)

    async def _staff_complex(self, actor_id: int, complex_code: str) -> Complex:
        """A complex the staff member may set sessions up in: theirs, and open to residents."""
        await staff_for_complex(self._users, actor_id, complex_code)
        complex_ = await self._catalog.get_complex(complex_code)
        if complex_ is None or not complex_.active:
            raise NotFound(f"complex {complex_code}")
        return complex_

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
        if not complex_.active:
            raise NotFound(f"complex {complex_code}")
