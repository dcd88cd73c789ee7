"""Storage ports. MongoDB adapters implement them; the database enforces the invariants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.applications import Application, ApplicationStatus
from bot.domain.audit import AuditEntry
from bot.domain.bookings import Attendance, Booking, BookingStatus
from bot.domain.catalog import Complex, District, Sport
from bot.domain.paging import Page, PageRequest
from bot.domain.reminders import Reminder, ReminderStats, ReminderStatus
from bot.domain.sessions import Session, WeeklyTemplate
from bot.domain.users import Role, User


@dataclass(frozen=True)
class ApplicationQuery:
    """What staff searched applications for; an application matching any given part is found:
    the applicant's name containing ``name`` (any case), their phone containing ``phone_digits``,
    the number ``number``, or a complex among ``complex_codes``."""

    name: str | None = None
    phone_digits: str | None = None
    number: int | None = None
    complex_codes: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class AuditQuery:
    """Audit entries matching every given part (``None``: any)."""

    actor_id: int | None = None
    target_type: str | None = None
    target_id: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class BookingTally:
    """A person's bookings at a glance: all of them, those active now, and attendance marks."""

    total: int = 0
    active: int = 0
    attended: int = 0
    no_shows: int = 0


@dataclass(frozen=True)
class ApplicationCount:
    """How many applications were made at a complex for a sport and are now in ``status``."""

    complex_code: str
    sport_code: str
    status: ApplicationStatus
    count: int


@dataclass(frozen=True)
class BookingCount:
    """How many bookings of a session are in ``status`` with ``attendance`` marked (or not)."""

    session_id: str
    status: BookingStatus
    attendance: Attendance | None
    count: int


class UserRepository(Protocol):
    async def get(self, telegram_id: int) -> User | None: ...

    async def ensure(self, telegram_id: int, language: str, now: datetime) -> User:
        """Return the user, creating a bare record on first contact (idempotent, safe when
        processes race to create it; a known user costs a read and no write)."""
        ...

    async def save(self, user: User) -> None:
        """The whole record, as given (seeding and imports; use cases use ``save_changes``)."""
        ...

    async def save_changes(self, before: User, after: User) -> None:
        """Write only the fields ``after`` changed from ``before`` (the record as read), so a
        change another process made meanwhile to any other field (a block, a role) is kept; one
        notification preference is one field. A record that is gone is written whole."""
        ...

    async def set_unreachable(self, telegram_id: int, unreachable: bool) -> None: ...

    async def set_role(
        self, telegram_id: int, role: Role | None, managed_complexes: frozenset[str]
    ) -> User | None: ...

    async def search(self, query: str, page: PageRequest) -> Page[User]: ...

    async def list_staff(self) -> list[User]: ...

    async def count_registered(self) -> int: ...

    async def list_all(self, limit: int) -> list[User]:
        """The first ``limit`` people the bot knows (registered or not), by Telegram id."""
        ...

    async def count_registered_between(
        self, start: datetime, end: datetime, among: frozenset[int] | None = None
    ) -> int:
        """People who finished registering in [start, end) and still are registered (of
        ``among`` only, when given)."""
        ...

    async def get_many(self, telegram_ids: frozenset[int]) -> list[User]:
        """The stored ones of ``telegram_ids``, by Telegram id."""
        ...


class CatalogRepository(Protocol):
    async def upsert_district(self, district: District) -> None: ...

    async def upsert_sport(self, sport: Sport) -> None: ...

    async def upsert_complex(self, complex_: Complex) -> None: ...

    async def list_districts(self, *, include_inactive: bool = False) -> list[District]: ...

    async def get_district(self, code: str) -> District | None: ...

    async def list_sports(self, *, include_inactive: bool = False) -> list[Sport]: ...

    async def get_sport(self, code: str) -> Sport | None: ...

    async def get_complex(self, code: str) -> Complex | None: ...

    async def complexes_in_district(self, district: str, page: PageRequest) -> Page[Complex]: ...

    async def complexes_with_sports(
        self, sports: Sequence[str], page: PageRequest
    ) -> Page[Complex]: ...

    async def list_complexes(self, *, include_inactive: bool = False) -> list[Complex]: ...


class ApplicationRepository(Protocol):
    async def insert(self, application: Application) -> None:
        """Raise DuplicateActiveApplication if the user already has an active one there."""
        ...

    async def get(self, application_id: str) -> Application | None: ...

    async def find_active(
        self, user_id: int, complex_code: str, sport_code: str
    ) -> Application | None: ...

    async def replace_if_version(self, expected_version: int, updated: Application) -> bool:
        """Store ``updated`` only if the stored copy still has ``expected_version``."""
        ...

    async def list_for_user(self, user_id: int, page: PageRequest) -> Page[Application]: ...

    async def list_for_staff(
        self,
        complexes: frozenset[str] | None,
        statuses: frozenset[ApplicationStatus],
        page: PageRequest,
        *,
        newest_first: bool = False,
    ) -> Page[Application]:
        """Applications in ``statuses`` at ``complexes`` (``None``: every complex), by creation."""
        ...

    async def search(
        self, complexes: frozenset[str] | None, query: ApplicationQuery, page: PageRequest
    ) -> Page[Application]:
        """Applications at ``complexes`` (``None``: every complex) matching ``query``, newest first."""
        ...

    async def next_number(self) -> int:
        """The next application number: one counter, incremented atomically (1, 2, 3, ...)."""
        ...

    async def anonymise_user(self, user_id: int) -> int: ...

    async def count_by_status(
        self, complexes: frozenset[str] | None = None
    ) -> dict[ApplicationStatus, int]: ...

    async def count_created_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> list[ApplicationCount]:
        """Applications made at ``complexes`` in [start, end), by complex, sport and status."""
        ...

    async def applicants_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> frozenset[int]:
        """Who made an application at ``complexes`` in [start, end)."""
        ...

    async def created_between(
        self,
        complexes: frozenset[str],
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int = 500,
    ) -> list[Application]:
        """Applications made at ``complexes`` in [start, end), oldest first (then by id), the
        next ``limit`` after the (created_at, id) ``after``: a whole period read in batches."""
        ...


class SessionRepository(Protocol):
    async def insert(self, session: Session) -> None: ...

    async def insert_missing(self, sessions: Sequence[Session]) -> int:
        """Insert sessions whose id is not stored yet; return how many were new."""
        ...

    async def get(self, session_id: str) -> Session | None: ...

    async def list_for_complex(
        self, complex_code: str, start: datetime, end: datetime, sport_code: str | None = None
    ) -> list[Session]: ...

    async def take_seat(self, session_id: str) -> bool:
        """Atomically add one to ``booked`` if a seat is left and the session is not cancelled."""
        ...

    async def release_seat(self, session_id: str) -> None: ...

    async def set_booked(self, session_id: str, booked: int) -> None: ...

    async def set_booked_if(self, session_id: str, expected: int, booked: int) -> bool:
        """Set ``booked`` only if it is still ``expected`` (a recount that a seat taken or
        given back meanwhile does not overwrite); True if it was set."""
        ...

    async def cancel(self, session_id: str, reason: str | None = None) -> bool:
        """Mark the session cancelled (with why); False if it was cancelled already."""
        ...

    async def set_capacity(self, session_id: str, capacity: int) -> Session | None:
        """Set the capacity if the session is not cancelled and no more than ``capacity`` seats
        are taken (one conditional update); the session after it, or None if refused."""
        ...

    async def starting_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> list[Session]:
        """Sessions at ``complexes`` starting in [start, end) (cancelled ones too), by start."""
        ...

    async def upsert_template(self, template: WeeklyTemplate) -> None: ...

    async def list_templates(self, complex_code: str | None = None) -> list[WeeklyTemplate]: ...


class BookingRepository(Protocol):
    async def claim(self, booking_id: str, session_id: str, user_id: int, now: datetime) -> bool:
        """Mark (session, user) as RESERVING unless an open booking exists; True if claimed."""
        ...

    async def get(self, booking_id: str) -> Booking | None: ...

    async def move(
        self,
        booking_id: str,
        from_statuses: frozenset[BookingStatus],
        to_status: BookingStatus,
        now: datetime,
        *,
        queued_at: datetime | None = None,
        offer_expires_at: datetime | None = None,
        offer_valid_at: datetime | None = None,
    ) -> Booking | None:
        """Conditional status change; None if the booking was not in ``from_statuses``.

        With ``offer_valid_at`` the move also requires the offer not to have expired by then.
        """
        ...

    async def offer_next(
        self, session_id: str, now: datetime, expires_at: datetime
    ) -> Booking | None:
        """Atomically turn the first waitlisted booking of the session into an offer."""
        ...

    async def has_waitlisted(self, session_id: str) -> bool: ...

    async def waitlist_position(self, booking: Booking) -> int: ...

    async def count_seat_holders(self, session_id: str) -> int: ...

    async def list_for_user(
        self, user_id: int, statuses: frozenset[BookingStatus], page: PageRequest
    ) -> Page[Booking]: ...

    async def list_for_session(self, session_id: str) -> list[Booking]: ...

    async def tally_for_user(self, user_id: int) -> BookingTally:
        """How many bookings the user has (every status), active now, attended and missed."""
        ...

    async def expired_offers(self, now: datetime, limit: int) -> list[Booking]: ...

    async def count_by_status(self, session_id: str) -> dict[BookingStatus, int]: ...

    async def mark_attendance(
        self, booking_id: str, attendance: Attendance, staff_id: int, now: datetime
    ) -> Booking | None:
        """Record attendance (by whom, at ``now``) of an active booking; None if not active."""
        ...

    async def assign_checkin_code(self, booking_id: str, code: str) -> Booking | None:
        """Give the booking ``code`` unless it has one (then it keeps its own); None when another
        booking of the session holds ``code`` (unique per session) or the booking is missing."""
        ...

    async def find_by_checkin_code(self, session_id: str, code: str) -> Booking | None: ...

    async def no_shows_since(self, user_id: int, since: datetime) -> list[datetime]:
        """When each no-show of the user marked at or after ``since`` was marked."""
        ...

    async def confirm(self, booking_id: str, now: datetime) -> Booking | None: ...

    async def count_for_sessions(self, session_ids: Sequence[str]) -> list[BookingCount]:
        """The bookings of those sessions, counted by session, status and attendance."""
        ...

    async def bookers_for_sessions(self, session_ids: Sequence[str]) -> frozenset[int]:
        """Who has a booking (in any status) of one of those sessions."""
        ...

    async def list_for_sessions(self, session_ids: Sequence[str]) -> list[Booking]:
        """Every booking of those sessions, by session id, then creation, then id."""
        ...


class ReminderRepository(Protocol):
    async def insert_missing(self, reminders: Sequence[Reminder]) -> None: ...

    async def cancel_for_booking(self, booking_id: str) -> int: ...

    async def for_bookings(self, booking_ids: Sequence[str]) -> list[Reminder]:
        """Every reminder (any status) of those bookings, by id."""
        ...

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Reminder]:
        """Claim due reminders one by one so two workers never get the same one."""
        ...

    async def renew(self, reminder_id: str, until: datetime) -> None:
        """Keep a claimed reminder claimed until ``until`` (its send is still going)."""
        ...

    async def mark_sent(self, reminder_id: str, now: datetime) -> None: ...

    async def retry_later(
        self, reminder_id: str, *, at: datetime, error: str, failure: bool
    ) -> None:
        """Back to pending, not claimed before ``at``; ``failure`` counts it toward parking."""
        ...

    async def park(self, reminder_id: str, now: datetime, error: str) -> None: ...

    async def close(
        self, reminder_id: str, now: datetime, status: ReminderStatus, reason: str
    ) -> None:
        """Closed unsent: ``SKIPPED`` or ``STALE``."""
        ...

    async def count_overdue(self, now: datetime) -> int: ...

    async def stats(self, now: datetime) -> ReminderStats: ...


class AuditRepository(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...

    async def recent(self, page: PageRequest) -> Page[AuditEntry]: ...

    async def search(self, query: AuditQuery, page: PageRequest) -> Page[AuditEntry]:
        """Entries matching ``query``, newest first (then by id), like ``recent``."""
        ...
