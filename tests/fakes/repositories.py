"""In-memory fakes of every storage port (``bot.services.ports.repositories``) and the outbox.

They keep the invariants the MongoDB adapters in ``bot.infra.mongo`` get from the database, with
the same observable behaviour (``tests/contract`` runs one suite against both):

* users are keyed by Telegram id; ``ensure`` never overwrites an existing record;
* one *active* application per (user, complex, sport), like the partial unique index; a status
  change is stored only over the version it was read at; an unchanged replacement is "not
  modified" (False), as MongoDB reports it;
* one booking per (session, user) (``_id`` and the unique pair index); ``claim`` re-opens only a
  closed booking; a seat is taken only while ``booked < capacity`` and the session is not
  cancelled; the waitlist is served in (``queued_at``, id) order;
* reminders and outbox entries are claimed one by one with a lease; an expired lease makes an
  entry claimable again;
* stored datetimes come back as aware UTC with millisecond precision (BSON dates), template start
  times lose their seconds (stored as ``HH:MM``), audit details are reduced to BSON-like values.

Plain Python and asyncio-safe: no method awaits between reading and writing, so a coroutine runs
each operation atomically, as one MongoDB document operation is atomic.

Besides the ports, each fake offers a few read-only helpers for tests (``all()``, ``entries()``)
that the adapters do not have; the contract suite never uses them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from bot.domain.applications import ACTIVE_STATUSES, Application, ApplicationStatus
from bot.domain.audit import AuditEntry
from bot.domain.bookings import (
    OPEN_STATUSES,
    SEAT_HOLDING,
    Attendance,
    Booking,
    BookingStatus,
)
from bot.domain.catalog import Complex, District, Sport
from bot.domain.errors import DuplicateActiveApplication
from bot.domain.i18n import LocalizedText
from bot.domain.paging import Page, PageRequest
from bot.domain.reminders import Reminder, ReminderStats, ReminderStatus
from bot.domain.sessions import Session, WeeklyTemplate
from bot.domain.users import NotificationPreferences, Role, User
from bot.services.container import Repositories
from bot.services.ports.repositories import (
    ApplicationCount,
    ApplicationQuery,
    AuditQuery,
    BookingCount,
    BookingTally,
)
from bot.services.ports.system import Clock, OutboxEntry, OutboxStats, OutboxStatus

if TYPE_CHECKING:
    from tests.fakes.broadcasts import InMemoryBroadcastAudiences, InMemoryBroadcastRepository
    from tests.fakes.weekly_reports import InMemoryStaffPreferences, InMemoryWeeklyReportLog

T = TypeVar("T")
B = BookingStatus
R = ReminderStatus


class DuplicateKey(Exception):
    """A second document with the same key (MongoDB's E11000 duplicate key error)."""

    def __init__(self, collection: str, key: object) -> None:
        super().__init__(f"E11000 duplicate key in {collection}: {key!r}")
        self.collection = collection
        self.key = key


# --- what a BSON round trip does to values ---------------------------------------------------


def stored_time(moment: datetime) -> datetime:
    """A datetime as MongoDB gives it back: aware UTC, milliseconds (naive means UTC)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=aware.microsecond // 1000 * 1000)


def _opt_time(moment: datetime | None) -> datetime | None:
    return stored_time(moment) if moment is not None else None


def _bson_value(value: object) -> object:
    """Free-form values (audit details) as BSON keeps them: tuples become lists, sets fail."""
    if value is None or isinstance(value, bool | float | bytes):
        return value
    if isinstance(value, str):
        return str(value)  # a StrEnum comes back as a plain string
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime):
        return stored_time(value)
    if isinstance(value, date):  # a bare date is not a BSON type
        raise TypeError(f"cannot encode object: {value!r}, of type: {type(value)}")
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"documents must have only string keys, key was {key!r}")
            out[key] = _bson_value(item)
        return out
    if isinstance(value, list | tuple):
        return [_bson_value(item) for item in value]
    raise TypeError(f"cannot encode object: {value!r}, of type: {type(value)}")


def _text(value: LocalizedText) -> LocalizedText:
    return LocalizedText(dict(value.values))


def _page(items: list[T], page: PageRequest) -> Page[T]:
    return Page(items[page.offset : page.offset + page.size], page.page, page.size, len(items))


def _null_first(moment: datetime | None) -> tuple[int, datetime]:
    """A sort key that puts None first, as MongoDB orders null before dates."""
    return (0, datetime.min.replace(tzinfo=UTC)) if moment is None else (1, moment)


def _sorted(items: Iterable[T], key: Callable[[T], Any], *, reverse: bool = False) -> list[T]:
    return sorted(items, key=key, reverse=reverse)


# --- users -----------------------------------------------------------------------------------


def _stored_user(user: User) -> User:
    return replace(
        user,
        language=user.language or "ru",
        consent_at=_opt_time(user.consent_at),
        registered_at=_opt_time(user.registered_at),
        managed_complexes=frozenset(user.managed_complexes),
        deleted_at=_opt_time(user.deleted_at),
    )


class InMemoryUserRepository:
    def __init__(self) -> None:
        self._users: dict[int, User] = {}

    async def get(self, telegram_id: int) -> User | None:
        return self._users.get(telegram_id)

    async def ensure(self, telegram_id: int, language: str, now: datetime) -> User:
        found = self._users.get(telegram_id)
        if found is None:
            found = _stored_user(User(telegram_id=telegram_id, language=language))
            self._users[telegram_id] = found
        return found

    async def save(self, user: User) -> None:
        self._users[user.telegram_id] = _stored_user(user)

    async def save_changes(self, before: User, after: User) -> None:
        if before.telegram_id != after.telegram_id:
            raise ValueError("save_changes compares two states of one user")
        current = self._users.get(after.telegram_id) or after
        changed: dict[str, Any] = {}
        for name in (f.name for f in fields(User)):
            old, new = getattr(before, name), getattr(after, name)
            if name == "notifications":  # per preference, like the adapter's dotted fields
                prefs = {
                    kind.name: getattr(new, kind.name)
                    for kind in fields(NotificationPreferences)
                    if getattr(old, kind.name) != getattr(new, kind.name)
                }
                if prefs:
                    changed[name] = replace(current.notifications, **prefs)
            elif old != new:
                changed[name] = new
        if changed:
            self._users[after.telegram_id] = _stored_user(replace(current, **changed))

    async def set_unreachable(self, telegram_id: int, unreachable: bool) -> None:
        found = self._users.get(telegram_id)
        if found is not None:
            self._users[telegram_id] = replace(found, unreachable=unreachable)

    async def set_role(
        self, telegram_id: int, role: Role | None, managed_complexes: frozenset[str]
    ) -> User | None:
        found = self._users.get(telegram_id)
        if found is None:
            return None
        updated = replace(found, role=role, managed_complexes=frozenset(managed_complexes))
        self._users[telegram_id] = updated
        return updated

    async def search(self, query: str, page: PageRequest) -> Page[User]:
        if query.lstrip("+").isdigit():
            digits = query.lstrip("+")
            number = int(digits)

            def matches(user: User) -> bool:
                return user.telegram_id == number or (
                    user.phone is not None and digits in user.phone
                )
        else:
            needle = query.lower()

            def matches(user: User) -> bool:
                return user.name is not None and needle in user.name.lower()

        found = _sorted((u for u in self._users.values() if matches(u)), lambda u: u.telegram_id)
        return _page(found, page)

    async def list_staff(self) -> list[User]:
        staff = (u for u in self._users.values() if u.role is not None)
        return _sorted(staff, lambda u: u.telegram_id)

    async def count_registered(self) -> int:
        return sum(
            1 for u in self._users.values() if u.registered_at is not None and u.deleted_at is None
        )

    async def list_all(self, limit: int) -> list[User]:
        return _sorted(self._users.values(), lambda u: u.telegram_id)[:limit]

    async def count_registered_between(
        self, start: datetime, end: datetime, among: frozenset[int] | None = None
    ) -> int:
        return sum(
            1
            for u in self._users.values()
            if u.registered_at is not None
            and start <= u.registered_at < end
            and u.deleted_at is None
            and (among is None or u.telegram_id in among)
        )

    async def get_many(self, telegram_ids: frozenset[int]) -> list[User]:
        found = (u for u in self._users.values() if u.telegram_id in telegram_ids)
        return _sorted(found, lambda u: u.telegram_id)

    def all(self) -> list[User]:
        """Every stored user (tests only)."""
        return list(self._users.values())


# --- catalog ---------------------------------------------------------------------------------


def _complex_order(c: Complex) -> tuple[int, int, str]:
    return (0 if c.featured else 1, c.sort_order, c.code)


class InMemoryCatalogRepository:
    def __init__(self) -> None:
        self._districts: dict[str, District] = {}
        self._sports: dict[str, Sport] = {}
        self._complexes: dict[str, Complex] = {}

    async def upsert_district(self, district: District) -> None:
        self._districts[district.code] = replace(district, name=_text(district.name))

    async def upsert_sport(self, sport: Sport) -> None:
        self._sports[sport.code] = replace(sport, name=_text(sport.name))

    async def upsert_complex(self, complex_: Complex) -> None:
        self._complexes[complex_.code] = replace(
            complex_,
            name=_text(complex_.name),
            address=_text(complex_.address),
            sports=tuple(complex_.sports),
            hours=_text(complex_.hours),
            description=_text(complex_.description),
            timezone=complex_.timezone or "Europe/Moscow",
        )

    async def list_districts(self, *, include_inactive: bool = False) -> list[District]:
        found = (d for d in self._districts.values() if include_inactive or d.active)
        return _sorted(found, lambda d: (d.sort_order, d.code))

    async def get_district(self, code: str) -> District | None:
        return self._districts.get(code)

    async def list_sports(self, *, include_inactive: bool = False) -> list[Sport]:
        found = (s for s in self._sports.values() if include_inactive or s.active)
        return _sorted(found, lambda s: s.code)

    async def get_sport(self, code: str) -> Sport | None:
        return self._sports.get(code)

    async def get_complex(self, code: str) -> Complex | None:
        return self._complexes.get(code)

    async def complexes_in_district(self, district: str, page: PageRequest) -> Page[Complex]:
        found = (c for c in self._complexes.values() if c.district == district and c.active)
        return _page(_sorted(found, _complex_order), page)

    async def complexes_with_sports(
        self, sports: Sequence[str], page: PageRequest
    ) -> Page[Complex]:
        wanted = set(sports)
        found = (c for c in self._complexes.values() if c.active and wanted & set(c.sports))
        return _page(_sorted(found, _complex_order), page)

    async def list_complexes(self, *, include_inactive: bool = False) -> list[Complex]:
        found = (c for c in self._complexes.values() if include_inactive or c.active)
        return _sorted(found, _complex_order)

    def all(self) -> tuple[list[District], list[Sport], list[Complex]]:
        """Every district, sport and complex, hidden ones too (tests only)."""
        return (
            sorted(self._districts.values(), key=lambda d: d.code),
            sorted(self._sports.values(), key=lambda s: s.code),
            sorted(self._complexes.values(), key=lambda c: c.code),
        )


# --- applications ----------------------------------------------------------------------------


def _stored_application(a: Application) -> Application:
    return replace(
        a,
        created_at=stored_time(a.created_at),
        updated_at=stored_time(a.updated_at),
        history=tuple(replace(c, at=stored_time(c.at)) for c in a.history),
    )


def _same_slot(a: Application, b: Application) -> bool:
    return (a.user_id, a.complex_code, a.sport_code) == (b.user_id, b.complex_code, b.sport_code)


def _matches(a: Application, query: ApplicationQuery) -> bool:
    name = query.name.lower() if query.name else None
    return (
        (name is not None and a.applicant_name is not None and name in a.applicant_name.lower())
        or (
            bool(query.phone_digits)
            and a.applicant_phone is not None
            and str(query.phone_digits) in a.applicant_phone
        )
        or (query.number is not None and a.number == query.number)
        or a.complex_code in query.complex_codes
    )


class InMemoryApplicationRepository:
    def __init__(self) -> None:
        self._applications: dict[str, Application] = {}
        self._last_number = 0

    def _second_active(self, candidate: Application) -> bool:
        return candidate.is_active and any(
            other.id != candidate.id and other.is_active and _same_slot(other, candidate)
            for other in self._applications.values()
        )

    async def insert(self, application: Application) -> None:
        # Any duplicate key (the id or the active slot) is reported the adapter's way.
        if application.id in self._applications or self._second_active(application):
            raise DuplicateActiveApplication(application.complex_code)
        self._applications[application.id] = _stored_application(application)

    async def get(self, application_id: str) -> Application | None:
        return self._applications.get(application_id)

    async def find_active(
        self, user_id: int, complex_code: str, sport_code: str
    ) -> Application | None:
        for a in self._applications.values():
            slot = (a.user_id, a.complex_code, a.sport_code)
            if slot == (user_id, complex_code, sport_code) and a.status in ACTIVE_STATUSES:
                return a
        return None

    async def replace_if_version(self, expected_version: int, updated: Application) -> bool:
        current = self._applications.get(updated.id)
        if current is None or current.version != expected_version:
            return False
        stored = _stored_application(updated)
        if stored == current:
            return False  # MongoDB: matched, not modified
        if self._second_active(stored):
            raise DuplicateKey("applications", (updated.user_id, updated.complex_code))
        self._applications[updated.id] = stored
        return True

    async def list_for_user(self, user_id: int, page: PageRequest) -> Page[Application]:
        found = (a for a in self._applications.values() if a.user_id == user_id)
        return _page(_sorted(found, lambda a: (a.created_at, a.id), reverse=True), page)

    async def list_for_staff(
        self,
        complexes: frozenset[str] | None,
        statuses: frozenset[ApplicationStatus],
        page: PageRequest,
        *,
        newest_first: bool = False,
    ) -> Page[Application]:
        found = (
            a
            for a in self._applications.values()
            if a.status in statuses and (complexes is None or a.complex_code in complexes)
        )
        ordered = _sorted(found, lambda a: (a.created_at, a.id), reverse=newest_first)
        return _page(ordered, page)

    async def search(
        self, complexes: frozenset[str] | None, query: ApplicationQuery, page: PageRequest
    ) -> Page[Application]:
        found = (
            a
            for a in self._applications.values()
            if (complexes is None or a.complex_code in complexes) and _matches(a, query)
        )
        return _page(_sorted(found, lambda a: (a.created_at, a.id), reverse=True), page)

    async def next_number(self) -> int:
        self._last_number += 1
        return self._last_number

    async def anonymise_user(self, user_id: int) -> int:
        modified = 0
        for key, a in list(self._applications.items()):
            if a.user_id != user_id:
                continue
            erased = replace(a, applicant_name=None, applicant_phone=None, comment=None)
            if erased != a:
                self._applications[key] = erased
                modified += 1
        return modified

    async def count_by_status(
        self, complexes: frozenset[str] | None = None
    ) -> dict[ApplicationStatus, int]:
        counts: dict[ApplicationStatus, int] = {}
        for a in self._applications.values():
            if complexes is None or a.complex_code in complexes:
                counts[a.status] = counts.get(a.status, 0) + 1
        return counts

    def _made_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> list[Application]:
        return [
            a
            for a in self._applications.values()
            if a.complex_code in complexes and start <= a.created_at < end
        ]

    async def count_created_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> list[ApplicationCount]:
        counts: dict[tuple[str, str, ApplicationStatus], int] = {}
        for a in self._made_between(complexes, start, end):
            key = (a.complex_code, a.sport_code, a.status)
            counts[key] = counts.get(key, 0) + 1
        return [
            ApplicationCount(c, s, status, n)
            for (c, s, status), n in sorted(
                counts.items(), key=lambda i: (i[0][0], i[0][1], i[0][2].value)
            )
        ]

    async def applicants_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> frozenset[int]:
        return frozenset(a.user_id for a in self._made_between(complexes, start, end))

    async def created_between(
        self,
        complexes: frozenset[str],
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int = 500,
    ) -> list[Application]:
        ordered = _sorted(self._made_between(complexes, start, end), lambda a: (a.created_at, a.id))
        if after is not None:
            ordered = [a for a in ordered if (a.created_at, a.id) > after]
        return ordered[:limit]

    def all(self) -> list[Application]:
        """Every stored application (tests only)."""
        return list(self._applications.values())


# --- sessions --------------------------------------------------------------------------------


def _stored_session(s: Session) -> Session:
    return replace(
        s, starts_at=stored_time(s.starts_at), ends_at=stored_time(s.ends_at), title=_text(s.title)
    )


def _stored_template(t: WeeklyTemplate) -> WeeklyTemplate:
    start = time.fromisoformat(t.start.isoformat("minutes"))  # stored as "HH:MM"
    return replace(t, start=start, title=_text(t.title))


class InMemorySessionRepository:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._templates: dict[str, WeeklyTemplate] = {}

    async def insert(self, session: Session) -> None:
        if session.id in self._sessions:
            raise DuplicateKey("sessions", session.id)
        self._sessions[session.id] = _stored_session(session)

    async def insert_missing(self, sessions: Sequence[Session]) -> int:
        inserted = 0
        for session in sessions:
            if session.id not in self._sessions:
                self._sessions[session.id] = _stored_session(session)
                inserted += 1
        return inserted

    async def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    async def list_for_complex(
        self, complex_code: str, start: datetime, end: datetime, sport_code: str | None = None
    ) -> list[Session]:
        low, high = stored_time(start), stored_time(end)
        found = (
            s
            for s in self._sessions.values()
            if s.complex_code == complex_code
            and low <= s.starts_at < high
            and (not sport_code or s.sport_code == sport_code)
        )
        return _sorted(found, lambda s: (s.starts_at, s.id))

    async def starting_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> list[Session]:
        found = (
            s
            for s in self._sessions.values()
            if s.complex_code in complexes and start <= s.starts_at < end
        )
        return _sorted(found, lambda s: (s.starts_at, s.id))

    async def take_seat(self, session_id: str) -> bool:
        s = self._sessions.get(session_id)
        if s is None or s.cancelled or s.booked >= s.capacity:
            return False
        self._sessions[session_id] = replace(s, booked=s.booked + 1)
        return True

    async def release_seat(self, session_id: str) -> None:
        s = self._sessions.get(session_id)
        if s is not None and s.booked > 0:
            self._sessions[session_id] = replace(s, booked=s.booked - 1)

    async def set_booked(self, session_id: str, booked: int) -> None:
        s = self._sessions.get(session_id)
        if s is not None:
            self._sessions[session_id] = replace(s, booked=booked)

    async def set_booked_if(self, session_id: str, expected: int, booked: int) -> bool:
        s = self._sessions.get(session_id)
        if s is None or s.booked != expected:
            return False
        self._sessions[session_id] = replace(s, booked=booked)
        return True

    async def cancel(self, session_id: str, reason: str | None = None) -> bool:
        s = self._sessions.get(session_id)
        if s is None or s.cancelled:
            return False
        self._sessions[session_id] = replace(s, cancelled=True, cancel_reason=reason)
        return True

    async def set_capacity(self, session_id: str, capacity: int) -> Session | None:
        s = self._sessions.get(session_id)
        if s is None or s.cancelled or s.booked > capacity:
            return None
        changed = replace(s, capacity=capacity)
        self._sessions[session_id] = changed
        return changed

    async def upsert_template(self, template: WeeklyTemplate) -> None:
        self._templates[template.id] = _stored_template(template)

    async def list_templates(self, complex_code: str | None = None) -> list[WeeklyTemplate]:
        found = (
            t
            for t in self._templates.values()
            if not complex_code or t.complex_code == complex_code
        )
        return _sorted(found, lambda t: (t.complex_code, t.weekday, t.start.isoformat("minutes")))

    def all(self) -> list[Session]:
        """Every stored session (tests only)."""
        return list(self._sessions.values())

    def all_templates(self) -> list[WeeklyTemplate]:
        """Every stored weekly template (tests only)."""
        return sorted(self._templates.values(), key=lambda t: t.id)


# --- bookings --------------------------------------------------------------------------------


def _waitlist_order(b: Booking) -> tuple[tuple[int, datetime], str]:
    return (_null_first(b.queued_at), b.id)


class InMemoryBookingRepository:
    def __init__(self) -> None:
        self._bookings: dict[str, Booking] = {}

    async def claim(self, booking_id: str, session_id: str, user_id: int, now: datetime) -> bool:
        existing = self._bookings.get(booking_id)
        if existing is not None and existing.status in OPEN_STATUSES:
            return False  # an open booking exists: nothing is claimed
        for other in self._bookings.values():  # the unique (session, user) pair
            if other.id != booking_id and (other.session_id, other.user_id) == (
                session_id,
                user_id,
            ):
                return False
        moment = stored_time(now)
        self._bookings[booking_id] = Booking(
            id=booking_id,
            session_id=session_id,
            user_id=user_id,
            status=B.RESERVING,
            created_at=moment,
            updated_at=moment,
        )
        return True

    async def get(self, booking_id: str) -> Booking | None:
        return self._bookings.get(booking_id)

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
        b = self._bookings.get(booking_id)
        if b is None or b.status not in from_statuses:
            return None
        if offer_valid_at is not None and (
            b.offer_expires_at is None or not b.offer_expires_at > stored_time(offer_valid_at)
        ):
            return None
        moved = replace(b, status=to_status, updated_at=stored_time(now))
        if queued_at is not None:
            moved = replace(moved, queued_at=stored_time(queued_at))
        if offer_expires_at is not None:
            moved = replace(moved, offer_expires_at=stored_time(offer_expires_at))
        self._bookings[booking_id] = moved
        return moved

    async def offer_next(
        self, session_id: str, now: datetime, expires_at: datetime
    ) -> Booking | None:
        waiting = [
            b
            for b in self._bookings.values()
            if b.session_id == session_id and b.status is B.WAITLISTED
        ]
        if not waiting:
            return None
        head = min(waiting, key=_waitlist_order)
        offered = replace(
            head,
            status=B.OFFERED,
            offer_expires_at=stored_time(expires_at),
            updated_at=stored_time(now),
        )
        self._bookings[head.id] = offered
        return offered

    async def has_waitlisted(self, session_id: str) -> bool:
        return any(
            b.session_id == session_id and b.status is B.WAITLISTED for b in self._bookings.values()
        )

    async def waitlist_position(self, booking: Booking) -> int:
        mine = _waitlist_order(replace(booking, queued_at=_opt_time(booking.queued_at)))
        ahead = 0
        for b in self._bookings.values():
            if b.session_id != booking.session_id or b.status is not B.WAITLISTED:
                continue
            if (b.queued_at is None) != (booking.queued_at is None):
                continue  # MongoDB compares a date with dates only, and null equals null only
            if _waitlist_order(b) < mine:
                ahead += 1
        return ahead + 1

    async def count_seat_holders(self, session_id: str) -> int:
        return sum(
            1
            for b in self._bookings.values()
            if b.session_id == session_id and b.status in SEAT_HOLDING
        )

    async def list_for_user(
        self, user_id: int, statuses: frozenset[BookingStatus], page: PageRequest
    ) -> Page[Booking]:
        found = [
            b for b in self._bookings.values() if b.user_id == user_id and b.status in statuses
        ]
        # created_at descending, then id ascending: two stable sorts.
        found = sorted(found, key=lambda b: b.id)
        found = sorted(found, key=lambda b: b.created_at, reverse=True)
        return _page(found, page)

    async def list_for_session(self, session_id: str) -> list[Booking]:
        found = (b for b in self._bookings.values() if b.session_id == session_id)
        return _sorted(
            found, lambda b: (b.status.value, _null_first(b.queued_at), b.created_at, b.id)
        )

    async def tally_for_user(self, user_id: int) -> BookingTally:
        mine = [b for b in self._bookings.values() if b.user_id == user_id]
        return BookingTally(
            total=len(mine),
            active=sum(1 for b in mine if b.status is B.ACTIVE),
            attended=sum(1 for b in mine if b.attendance is Attendance.ATTENDED),
            no_shows=sum(1 for b in mine if b.attendance is Attendance.NO_SHOW),
        )

    async def expired_offers(self, now: datetime, limit: int) -> list[Booking]:
        moment = stored_time(now)
        found = [
            b
            for b in self._bookings.values()
            if b.status is B.OFFERED
            and b.offer_expires_at is not None
            and b.offer_expires_at <= moment
        ]
        ordered = sorted(found, key=lambda b: _null_first(b.offer_expires_at))
        return ordered[:limit] if limit > 0 else ordered

    async def count_by_status(self, session_id: str) -> dict[BookingStatus, int]:
        counts: dict[BookingStatus, int] = {}
        for b in self._bookings.values():
            if b.session_id == session_id:
                counts[b.status] = counts.get(b.status, 0) + 1
        return counts

    async def mark_attendance(
        self, booking_id: str, attendance: Attendance, staff_id: int, now: datetime
    ) -> Booking | None:
        b = self._bookings.get(booking_id)
        if b is None or b.status is not B.ACTIVE:
            return None
        moment = stored_time(now)
        marked = replace(
            b,
            attendance=attendance,
            attendance_by=staff_id,
            attendance_at=moment,
            updated_at=moment,
        )
        self._bookings[booking_id] = marked
        return marked

    async def assign_checkin_code(self, booking_id: str, code: str) -> Booking | None:
        b = self._bookings.get(booking_id)
        if b is None or b.checkin_code is not None:
            return b
        if any(
            other.session_id == b.session_id and other.checkin_code == code
            for other in self._bookings.values()
        ):
            return None  # the unique (session, code) index
        coded = replace(b, checkin_code=code)
        self._bookings[booking_id] = coded
        return coded

    async def find_by_checkin_code(self, session_id: str, code: str) -> Booking | None:
        for b in self._bookings.values():
            if b.session_id == session_id and b.checkin_code == code:
                return b
        return None

    async def no_shows_since(self, user_id: int, since: datetime) -> list[datetime]:
        moment = stored_time(since)
        return sorted(
            b.attendance_at
            for b in self._bookings.values()
            if b.user_id == user_id
            and b.attendance is Attendance.NO_SHOW
            and b.attendance_at is not None
            and b.attendance_at >= moment
        )

    async def confirm(self, booking_id: str, now: datetime) -> Booking | None:
        b = self._bookings.get(booking_id)
        if b is None or b.status is not B.ACTIVE:
            return None
        moment = stored_time(now)
        confirmed = replace(b, confirmed_at=moment, updated_at=moment)
        self._bookings[booking_id] = confirmed
        return confirmed

    async def count_for_sessions(self, session_ids: Sequence[str]) -> list[BookingCount]:
        wanted = set(session_ids)
        counts: dict[tuple[str, BookingStatus, Attendance | None], int] = {}
        for b in self._bookings.values():
            if b.session_id in wanted:
                key = (b.session_id, b.status, b.attendance)
                counts[key] = counts.get(key, 0) + 1
        return sorted(
            (
                BookingCount(s, status, attendance, n)
                for (s, status, attendance), n in counts.items()
            ),
            key=lambda c: (
                c.session_id,
                c.status.value,
                c.attendance.value if c.attendance else "",
            ),
        )

    async def bookers_for_sessions(self, session_ids: Sequence[str]) -> frozenset[int]:
        wanted = set(session_ids)
        return frozenset(b.user_id for b in self._bookings.values() if b.session_id in wanted)

    async def list_for_sessions(self, session_ids: Sequence[str]) -> list[Booking]:
        wanted = set(session_ids)
        found = (b for b in self._bookings.values() if b.session_id in wanted)
        return _sorted(found, lambda b: (b.session_id, b.created_at, b.id))

    def all(self) -> list[Booking]:
        """Every stored booking (tests only)."""
        return list(self._bookings.values())


# --- reminders -------------------------------------------------------------------------------


class InMemoryReminderRepository:
    def __init__(self) -> None:
        self._reminders: dict[str, Reminder] = {}

    async def insert_missing(self, reminders: Sequence[Reminder]) -> None:
        for r in reminders:
            if r.id not in self._reminders:
                self._reminders[r.id] = replace(
                    r,
                    due_at=stored_time(r.due_at),
                    attempts=0,
                    claimed_until=None,
                    sent_at=None,
                    next_attempt_at=None,
                    failures=0,
                    last_error=None,
                )
        # A booking cancelled and made again reuses reminder ids: revive those not sent yet.
        for r in reminders:
            stored = self._reminders[r.id]
            if stored.status is R.CANCELLED:
                self._reminders[r.id] = replace(
                    stored,
                    status=R.PENDING,
                    attempts=0,
                    failures=0,
                    next_attempt_at=None,
                    last_error=None,
                )

    async def cancel_for_booking(self, booking_id: str) -> int:
        cancelled = 0
        for key, r in list(self._reminders.items()):
            if r.booking_id == booking_id and r.status in (R.PENDING, R.SENDING):
                self._reminders[key] = replace(r, status=R.CANCELLED)
                cancelled += 1
        return cancelled

    async def for_bookings(self, booking_ids: Sequence[str]) -> list[Reminder]:
        wanted = set(booking_ids)
        return sorted(
            (r for r in self._reminders.values() if r.booking_id in wanted), key=lambda r: r.id
        )

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Reminder]:
        moment = stored_time(now)
        claimed: list[Reminder] = []
        while len(claimed) < limit:
            due = [
                r
                for r in self._reminders.values()
                if r.due_at <= moment
                and (
                    (
                        r.status is R.PENDING
                        and (r.next_attempt_at is None or r.next_attempt_at <= moment)
                    )
                    or (
                        r.status is R.SENDING
                        and r.claimed_until is not None
                        and r.claimed_until < moment
                    )
                )
            ]
            if not due:
                break
            first = min(due, key=lambda r: r.due_at)
            taken = replace(first, status=R.SENDING, claimed_until=stored_time(now + lease))
            self._reminders[first.id] = taken
            claimed.append(taken)
        return claimed

    async def renew(self, reminder_id: str, until: datetime) -> None:
        r = self._reminders.get(reminder_id)
        if r is not None and r.status is R.SENDING:
            self._reminders[reminder_id] = replace(r, claimed_until=stored_time(until))

    async def mark_sent(self, reminder_id: str, now: datetime) -> None:
        r = self._reminders.get(reminder_id)
        if r is not None:
            self._reminders[reminder_id] = replace(
                r, status=R.SENT, sent_at=stored_time(now), claimed_until=None
            )

    async def retry_later(
        self, reminder_id: str, *, at: datetime, error: str, failure: bool
    ) -> None:
        r = self._reminders.get(reminder_id)
        if r is not None and r.status is R.SENDING:
            self._reminders[reminder_id] = replace(
                r,
                status=R.PENDING,
                claimed_until=None,
                next_attempt_at=stored_time(at),
                last_error=error,
                attempts=r.attempts + 1,
                failures=r.failures + (1 if failure else 0),
            )

    async def park(self, reminder_id: str, now: datetime, error: str) -> None:
        r = self._reminders.get(reminder_id)
        if r is not None:
            self._reminders[reminder_id] = replace(
                r,
                status=R.PARKED,
                claimed_until=None,
                last_error=error,
                attempts=r.attempts + 1,
                failures=r.failures + 1,
            )

    async def close(
        self, reminder_id: str, now: datetime, status: ReminderStatus, reason: str
    ) -> None:
        if status not in (R.SKIPPED, R.STALE):
            raise ValueError(f"a reminder is closed unsent as skipped or stale, not {status}")
        r = self._reminders.get(reminder_id)
        if r is not None:
            self._reminders[reminder_id] = replace(r, status=status, claimed_until=None)

    async def count_overdue(self, now: datetime) -> int:
        threshold = stored_time(now) - timedelta(minutes=5)
        return sum(
            1 for r in self._reminders.values() if r.status is R.PENDING and r.due_at < threshold
        )

    async def stats(self, now: datetime) -> ReminderStats:
        moment = stored_time(now)
        waiting = [
            r.due_at
            for r in self._reminders.values()
            if r.status in (R.PENDING, R.SENDING) and r.due_at <= moment
        ]
        return ReminderStats(
            overdue=await self.count_overdue(now),
            oldest_due_at=min(waiting, default=None),
            parked=sum(1 for r in self._reminders.values() if r.status is R.PARKED),
        )

    def all(self) -> list[Reminder]:
        """Every stored reminder (tests only)."""
        return list(self._reminders.values())


# --- audit -----------------------------------------------------------------------------------


class InMemoryAuditRepository:
    def __init__(self) -> None:
        self._entries: dict[str, AuditEntry] = {}

    async def record(self, entry: AuditEntry) -> None:
        if entry.id in self._entries:
            raise DuplicateKey("audit_log", entry.id)
        details = _bson_value(dict(entry.details))
        assert isinstance(details, dict)
        self._entries[entry.id] = replace(entry, at=stored_time(entry.at), details=details)

    async def recent(self, page: PageRequest) -> Page[AuditEntry]:
        return await self.search(AuditQuery(), page)

    async def search(self, query: AuditQuery, page: PageRequest) -> Page[AuditEntry]:
        found = [
            e
            for e in self._entries.values()
            if (query.actor_id is None or e.actor_id == query.actor_id)
            and (query.target_type is None or e.target_type == query.target_type)
            and (query.target_id is None or e.target_id == query.target_id)
            and (query.action is None or e.action == query.action)
        ]
        ordered = sorted(found, key=lambda e: e.id)
        ordered = sorted(ordered, key=lambda e: e.at, reverse=True)
        return _page(ordered, page)

    def all(self) -> list[AuditEntry]:
        """Every recorded entry, oldest first (tests only)."""
        return list(self._entries.values())


# --- the outbox ------------------------------------------------------------------------------


@dataclass
class StoredNotice:
    """One outbox document, as the fake keeps it (what ``entries()`` shows to tests)."""

    key: str
    kind: str
    user_id: int
    payload: dict[str, str]
    created_at: datetime
    status: str = "pending"
    attempts: int = 0
    failures: int = 0
    claimed_until: datetime | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    closed_reason: str | None = None


class InMemoryOutbox:
    """``Notifier`` and ``Outbox`` over one in-memory outbox, like ``MongoOutboxNotifier``."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._notices: dict[str, StoredNotice] = {}

    async def application_status_changed(self, application: Application) -> bool:
        return self._put(
            f"application:{application.id}:v{application.version}",
            "application_status",
            application.user_id,
            {"application_id": application.id, "status": application.status.value},
        )

    async def seat_offered(self, booking: Booking, session: Session) -> bool:
        expires = booking.offer_expires_at.isoformat() if booking.offer_expires_at else ""
        return self._put(
            f"offer:{booking.id}:{expires}",
            "seat_offer",
            booking.user_id,
            {"booking_id": booking.id, "session_id": session.id},
        )

    async def session_cancelled(self, booking: Booking, session: Session) -> bool:
        return self._put(
            f"session_cancelled:{booking.id}",
            "session_cancelled",
            booking.user_id,
            {"booking_id": booking.id, "session_id": session.id},
        )

    async def new_application_for_staff(self, application: Application, staff_id: int) -> bool:
        return self._put(
            f"staff_new_application:{application.id}:{staff_id}",
            "staff_new_application",
            staff_id,
            {"application_id": application.id},
        )

    async def user_blocked(self, telegram_id: int, event_id: str, reason: str) -> bool:
        return self._put(
            f"user_blocked:{telegram_id}:{event_id}",
            "user_blocked",
            telegram_id,
            {"reason": reason},
        )

    async def claim(self, lease: timedelta, limit: int) -> list[OutboxEntry]:
        now = self._clock.now()
        moment = stored_time(now)
        claimed: list[OutboxEntry] = []
        while len(claimed) < limit:
            ready = [
                n
                for n in self._notices.values()
                if (
                    n.status == "pending"
                    and (n.next_attempt_at is None or n.next_attempt_at <= moment)
                )
                or (
                    n.status == "sending"
                    and n.claimed_until is not None
                    and n.claimed_until < moment
                )
            ]
            if not ready:
                break
            first = min(ready, key=lambda n: n.created_at)
            first.status = "sending"
            first.claimed_until = stored_time(now + lease)
            claimed.append(
                OutboxEntry(
                    key=first.key,
                    kind=first.kind,
                    user_id=first.user_id,
                    payload={k: str(v) for k, v in first.payload.items()},
                    attempts=first.attempts,
                    failures=first.failures,
                    created_at=first.created_at,
                )
            )
        return claimed

    async def renew(self, key: str, lease: timedelta) -> None:
        notice = self._notices.get(key)
        if notice is not None and notice.status == "sending":
            notice.claimed_until = stored_time(self._clock.now() + lease)

    async def done(self, key: str) -> None:
        notice = self._notices.get(key)
        if notice is not None:
            notice.status = "sent"
            notice.sent_at = stored_time(self._clock.now())
            notice.claimed_until = None

    async def retry_later(self, key: str, *, at: datetime, error: str, failure: bool) -> None:
        notice = self._notices.get(key)
        if notice is not None and notice.status == "sending":
            notice.status = "pending"
            notice.claimed_until = None
            notice.next_attempt_at = stored_time(at)
            notice.last_error = error
            notice.attempts += 1
            notice.failures += 1 if failure else 0

    async def park(self, key: str, *, error: str) -> None:
        notice = self._notices.get(key)
        if notice is not None:
            notice.status = OutboxStatus.PARKED.value
            notice.claimed_until = None
            notice.last_error = error
            notice.attempts += 1
            notice.failures += 1

    async def close(self, key: str, *, status: OutboxStatus, reason: str) -> None:
        if status not in (OutboxStatus.SKIPPED, OutboxStatus.STALE):
            raise ValueError(f"an entry is closed unsent as skipped or stale, not {status}")
        notice = self._notices.get(key)
        if notice is not None:
            notice.status = status.value
            notice.claimed_until = None
            notice.closed_reason = reason

    async def stats(self) -> OutboxStats:
        waiting = [n for n in self._notices.values() if n.status in ("pending", "sending")]
        return OutboxStats(
            backlog=len(waiting),
            oldest_created_at=min((n.created_at for n in waiting), default=None),
            parked=sum(1 for n in self._notices.values() if n.status == "parked"),
        )

    def _put(self, key: str, kind: str, user_id: int, payload: dict[str, str]) -> bool:
        if key in self._notices:
            return False  # the same event was recorded already (a retried update): once is enough
        self._notices[key] = StoredNotice(
            key, kind, user_id, dict(payload), stored_time(self._clock.now())
        )
        return True

    def entries(self) -> list[StoredNotice]:
        """Copies of every outbox document in insertion order (tests only)."""
        return [copy.copy(n) for n in self._notices.values()]


# --- all of them -----------------------------------------------------------------------------


@dataclass
class InMemoryStorage:
    """Every storage port in memory, the fake counterpart of ``bot.bootstrap.Storage``."""

    clock: Clock
    users: InMemoryUserRepository = field(default_factory=InMemoryUserRepository)
    catalog: InMemoryCatalogRepository = field(default_factory=InMemoryCatalogRepository)
    applications: InMemoryApplicationRepository = field(
        default_factory=InMemoryApplicationRepository
    )
    sessions: InMemorySessionRepository = field(default_factory=InMemorySessionRepository)
    bookings: InMemoryBookingRepository = field(default_factory=InMemoryBookingRepository)
    reminders: InMemoryReminderRepository = field(default_factory=InMemoryReminderRepository)
    audit: InMemoryAuditRepository = field(default_factory=InMemoryAuditRepository)
    outbox: InMemoryOutbox = field(init=False)
    broadcasts: InMemoryBroadcastRepository = field(init=False)
    audiences: InMemoryBroadcastAudiences = field(init=False)
    staff_preferences: InMemoryStaffPreferences = field(init=False)
    report_log: InMemoryWeeklyReportLog = field(init=False)

    def __post_init__(self) -> None:
        self.outbox = InMemoryOutbox(self.clock)
        # Imported here: the broadcast fakes are built over the fakes of this module.
        from tests.fakes.broadcasts import InMemoryBroadcastAudiences, InMemoryBroadcastRepository

        self.broadcasts = InMemoryBroadcastRepository()
        self.audiences = InMemoryBroadcastAudiences(
            self.users, self.applications, self.bookings, self.sessions
        )
        from tests.fakes.weekly_reports import InMemoryStaffPreferences, InMemoryWeeklyReportLog

        self.staff_preferences = InMemoryStaffPreferences()
        self.report_log = InMemoryWeeklyReportLog()

    def repositories(self) -> Repositories:
        return Repositories(
            users=self.users,
            catalog=self.catalog,
            applications=self.applications,
            sessions=self.sessions,
            bookings=self.bookings,
            reminders=self.reminders,
            audit=self.audit,
            outbox=self.outbox,
            broadcasts=self.broadcasts,
            audiences=self.audiences,
            staff_preferences=self.staff_preferences,
            report_log=self.report_log,
        )
