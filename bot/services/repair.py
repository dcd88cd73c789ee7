"""The repair: what a multi-step write cut off midway (a process killed, a database step failing)
can leave wrong, found and finished by a periodic task (``fok.repair``).

Each use case orders its steps so that a cut leaves something this finds: a seat counted that
nobody holds (a cancel cut before the seat was handed on), a holder not counted (an offer cut
before its seat), a reservation never finished, an offer or a cancelled session nobody was told
of, reminders of a booking that is closed, an active booking without its reminders, a new
application staff were not told of, a decision the applicant was not told of. Notices are keyed
by what happened (``Notifier`` answers whether it recorded one now), so finishing twice records
nothing twice.

Only what has been quiet for ``QUIET`` is touched: a booking written more recently may belong to
a step still in flight in another process (a cancel about to hand its seat on), whose next step
would do the same fix again. A session's ``booked`` is recounted only when none of its bookings
changed within ``QUIET``, read again after the count, and set only over the value the count was
compared with (``set_booked_if``), so a seat taken or given back meanwhile is never overwritten.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.applications import ActorKind, Application, ApplicationStatus
from bot.domain.bookings import SEAT_HOLDING, Booking, BookingStatus
from bot.domain.reminders import Reminder, ReminderStatus, plan_reminders
from bot.domain.sessions import Session
from bot.services.applications import ApplicationService
from bot.services.bookings import STALE_RESERVATION, BookingService
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.repositories import (
    ApplicationRepository,
    AuditRepository,
    BookingRepository,
    CatalogRepository,
    ReminderRepository,
    SessionRepository,
)
from bot.services.ports.system import Clock, Notifier
from bot.services.staff_guard import StaffAudit

log = logging.getLogger(__name__)
B = BookingStatus
# Longer than any step of a use case takes (and than a reservation is kept): what was written
# more recently may be a step in flight.
QUIET = max(STALE_RESERVATION, timedelta(seconds=120))
# Sessions are looked at from now on (one that has started needs neither seats nor reminders).
SESSION_HORIZON = timedelta(days=3660)
# Applications made this long ago or less are looked at for missing notices.
APPLICATION_LOOKBACK = timedelta(days=2)
BATCH = 100
REPAIR_TARGET = "repair"


class RepairKind(StrEnum):
    STALE_RESERVATIONS = "stale_reservations"  # reservations never finished, dropped
    LEAKED_SEATS_OFFERED = "leaked_seats_offered"  # seats counted, nobody held: to the waitlist
    FREE_SEATS_OFFERED = "free_seats_offered"  # seats free while people waited
    SEAT_COUNTS = "seat_counts"  # sessions whose ``booked`` was set to the seat holders
    OFFER_NOTICES = "offer_notices"  # offers nobody was told of
    CANCELLED_SESSION_BOOKINGS = "cancelled_session_bookings"  # open on a cancelled session
    CLOSED_BOOKING_REMINDERS = "closed_booking_reminders"  # reminders of closed bookings
    MISSING_REMINDERS = "missing_reminders"  # reminders an active booking lacked
    STAFF_NOTICES = "staff_notices"  # staff not told of a pending application
    STATUS_NOTICES = "status_notices"  # applicants not told of a staff decision


@dataclass(frozen=True)
class RepairReport:
    """How many of each kind were fixed, and how much was looked at."""

    fixed: Mapping[RepairKind, int]
    sessions: int
    applications: int

    @property
    def total(self) -> int:
        return sum(self.fixed.values())

    def counts(self) -> dict[str, int]:
        return {kind.value: self.fixed.get(kind, 0) for kind in RepairKind}


class RepairService:
    def __init__(
        self,
        booking_service: BookingService,
        application_service: ApplicationService,
        *,
        sessions: SessionRepository,
        bookings: BookingRepository,
        reminders: ReminderRepository,
        catalog: CatalogRepository,
        applications: ApplicationRepository,
        audit: AuditRepository,
        notifier: Notifier,
        clock: Clock,
        events: BusinessEvents = NO_EVENTS,
    ) -> None:
        self._booking_service = booking_service
        self._application_service = application_service
        self._sessions = sessions
        self._bookings = bookings
        self._reminders = reminders
        self._catalog = catalog
        self._applications = applications
        self._staff_audit = StaffAudit(audit, clock)
        self._notifier = notifier
        self._clock = clock
        self._events = events

    async def run(self) -> RepairReport:
        """Look at every coming session and the recent applications; fix what is wrong, log
        it and, when anything was fixed, audit it as the system (actor 0)."""
        fixed: Counter[RepairKind] = Counter()
        now = self._clock.now()
        codes = frozenset(c.code for c in await self._catalog.list_complexes(include_inactive=True))
        sessions = (
            await self._sessions.starting_between(codes, now, now + SESSION_HORIZON)
            if codes
            else []
        )
        for start in range(0, len(sessions), BATCH):
            await self._sessions_batch(sessions[start : start + BATCH], now, fixed)
        applications = await self._recent_applications(codes, now, fixed)
        report = RepairReport(
            {kind: n for kind, n in fixed.items() if n},
            sessions=len(sessions),
            applications=applications,
        )
        if report.total:
            log.warning("repair fixed %d: %s", report.total, dict(report.fixed))
            await self._staff_audit.record(
                None,
                "repair.run",
                "system",
                REPAIR_TARGET,
                before=None,
                after=None,
                fixed={kind.value: n for kind, n in report.fixed.items()},
            )
        else:
            log.info("repair: %d sessions, %d applications, nothing to fix", *report_sizes(report))
        return report

    # --- sessions and bookings ---------------------------------------------------------------

    async def _sessions_batch(
        self, sessions: Sequence[Session], now: datetime, fixed: Counter[RepairKind]
    ) -> None:
        bookings = await self._bookings.list_for_sessions([s.id for s in sessions])
        by_session: dict[str, list[Booking]] = {}
        for booking in bookings:
            by_session.setdefault(booking.session_id, []).append(booking)
        reminders: dict[str, list[Reminder]] = {}
        for reminder in await self._reminders.for_bookings([b.id for b in bookings]):
            reminders.setdefault(reminder.booking_id, []).append(reminder)
        quiet_since = now - QUIET
        for session in sessions:
            theirs = by_session.get(session.id, [])
            if session.cancelled:
                changed = await self._cancelled_session(session, theirs, quiet_since, now, fixed)
            else:
                changed = await self._seats(session, theirs, quiet_since, now, fixed)
            if changed:  # the bookings as they are after those fixes
                theirs = await self._bookings.list_for_session(session.id)
            for booking in theirs:
                if booking.updated_at > quiet_since:
                    continue
                await self._booking(session, booking, reminders.get(booking.id, []), now, fixed)

    async def _cancelled_session(
        self,
        session: Session,
        bookings: list[Booking],
        quiet_since: datetime,
        now: datetime,
        fixed: Counter[RepairKind],
    ) -> bool:
        """Bookings left open on a cancelled session (its cancel was cut off) are closed and
        told; nothing can take a seat of it, so its count is set to the holders left."""
        closed = 0
        if any(b.is_open and b.updated_at <= quiet_since for b in bookings):
            closed = await self._booking_service.close_open_bookings(session, now)
            fixed[RepairKind.CANCELLED_SESSION_BOOKINGS] += closed
        holders = sum(1 for b in bookings if b.status in SEAT_HOLDING)
        if not closed and session.booked == holders:
            return False
        current = await self._sessions.get(session.id)
        if current is None:
            return bool(closed)
        holders = await self._bookings.count_seat_holders(session.id)
        if current.booked != holders and await self._sessions.set_booked_if(
            session.id, current.booked, holders
        ):
            fixed[RepairKind.SEAT_COUNTS] += 1
        return True

    async def _seats(
        self,
        session: Session,
        bookings: list[Booking],
        quiet_since: datetime,
        now: datetime,
        fixed: Counter[RepairKind],
    ) -> bool:
        """A session's seats: reservations never finished dropped, ``booked`` equal to its
        seat holders, a seat counted that nobody holds handed to the waitlist, and no seat
        free while people wait. True when anything was changed."""
        dropped: set[str] = set()
        for booking in bookings:
            stale = booking.status is B.RESERVING and booking.updated_at <= now - STALE_RESERVATION
            if stale and await self._bookings.move(
                booking.id, frozenset({B.RESERVING}), B.CANCELLED, now
            ):
                dropped.add(booking.id)
        fixed[RepairKind.STALE_RESERVATIONS] += len(dropped)
        rest = [b for b in bookings if b.id not in dropped]
        holders = sum(1 for b in rest if b.status in SEAT_HOLDING)
        waiting = any(b.status is B.WAITLISTED for b in rest)
        if session.booked == holders and not (waiting and holders < session.capacity):
            return bool(dropped)  # as it should be (from the listing read a moment ago)
        if any(b.updated_at > quiet_since for b in rest):
            return bool(dropped)  # a step may be in flight: the next run looks again
        current = await self._sessions.get(session.id)
        if current is None or current.cancelled:
            return bool(dropped)
        booked = current.booked
        holders = await self._bookings.count_seat_holders(session.id)
        # Read again after the count: a step that began meanwhile leaves the session alone.
        after = await self._bookings.list_for_session(session.id)
        if any(b.updated_at > quiet_since for b in after if b.id not in dropped):
            return bool(dropped)
        if booked > holders:
            hold = await self._booking_service.hold_for(current)
            while holders < booked:
                offer = await self._bookings.offer_next(session.id, now, now + hold)
                if offer is None:
                    break
                await self._notifier.seat_offered(offer, current)
                self._events.waitlist_offer("offered")
                fixed[RepairKind.LEAKED_SEATS_OFFERED] += 1
                holders += 1
        if booked != holders:
            if not await self._sessions.set_booked_if(session.id, booked, holders):
                return True  # a seat was taken or given back meanwhile: the next run looks again
            fixed[RepairKind.SEAT_COUNTS] += 1
        if holders < current.capacity:
            fixed[RepairKind.FREE_SEATS_OFFERED] += await self._booking_service.offer_free_seats(
                current
            )
        return True

    async def _booking(
        self,
        session: Session,
        booking: Booking,
        reminders: list[Reminder],
        now: datetime,
        fixed: Counter[RepairKind],
    ) -> None:
        """One quiet booking: its offer told, its reminders as its status wants them."""
        waiting = [
            r for r in reminders if r.status in (ReminderStatus.PENDING, ReminderStatus.SENDING)
        ]
        if not booking.is_open and waiting:
            fixed[RepairKind.CLOSED_BOOKING_REMINDERS] += await self._reminders.cancel_for_booking(
                booking.id
            )
            return
        if session.cancelled:
            return
        if (
            booking.status is B.OFFERED
            and booking.offer_expires_at is not None
            and booking.offer_expires_at > now
            and await self._notifier.seat_offered(booking, session)
        ):
            fixed[RepairKind.OFFER_NOTICES] += 1
        if booking.status is B.ACTIVE:
            known = {r.id for r in reminders}
            missing = [
                r
                for r in plan_reminders(
                    booking_id=booking.id,
                    user_id=booking.user_id,
                    session_id=session.id,
                    starts_at=session.starts_at,
                    now=now,
                )
                if r.id not in known
            ]
            if missing:
                await self._reminders.insert_missing(missing)
                fixed[RepairKind.MISSING_REMINDERS] += len(missing)

    # --- applications ------------------------------------------------------------------------

    async def _recent_applications(
        self, codes: frozenset[str], now: datetime, fixed: Counter[RepairKind]
    ) -> int:
        if not codes:
            return 0
        seen = 0
        after: tuple[datetime, str] | None = None
        while True:
            batch = await self._applications.created_between(
                codes, now - APPLICATION_LOOKBACK, now, after=after, limit=BATCH
            )
            for application in batch:
                seen += 1
                if application.updated_at <= now - QUIET:
                    await self._application(application, fixed)
            if len(batch) < BATCH:
                return seen
            after = (batch[-1].created_at, batch[-1].id)

    async def _application(self, application: Application, fixed: Counter[RepairKind]) -> None:
        if application.status is ApplicationStatus.PENDING:
            fixed[RepairKind.STAFF_NOTICES] += await self._application_service.tell_staff(
                application
            )
        last = application.history[-1]
        if last.actor_kind is ActorKind.STAFF and await self._notifier.application_status_changed(
            application
        ):
            fixed[RepairKind.STATUS_NOTICES] += 1


def report_sizes(report: RepairReport) -> tuple[int, int]:
    return report.sessions, report.applications
