"""Booking seats, the waitlist behind a full session, offers of freed seats, attendance.

Seat accounting: a session's ``booked`` counter equals the number of its bookings in a
seat-holding status (reserving, active, offered). Seats are taken with a conditional atomic
update, so capacity cannot be exceeded; a freed seat is handed to the head of the waitlist by an
atomic status change of exactly one booking, so one seat cannot go to two people.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.domain.bookings import (
    OPEN_STATUSES,
    Attendance,
    Booking,
    BookingOutcome,
    BookingStatus,
    NoShowRule,
    booking_id,
    can_cancel,
    can_mark_attendance,
    new_checkin_code,
    normalize_checkin_code,
)
from bot.domain.catalog import Complex
from bot.domain.errors import (
    AttendanceNotOpen,
    BookingBlocked,
    CancellationWindowClosed,
    CapacityBelowBooked,
    CheckinCodeUnknown,
    NotFound,
    OfferUnavailable,
    SessionUnavailable,
    StaleAction,
)
from bot.domain.paging import Page, PageRequest, clamp_page
from bot.domain.reminders import plan_reminders
from bot.domain.sessions import Availability, Session, parse_capacity, validate_reason
from bot.domain.users import User
from bot.services.guards import Actor, active_resident
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.repositories import (
    AuditQuery,
    AuditRepository,
    BookingRepository,
    CatalogRepository,
    ReminderRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import Clock, Notifier
from bot.services.schedule import session_snapshot
from bot.services.staff_guard import StaffAudit, catalog_admin, staff_for_complex

B = BookingStatus
DEFAULT_HOLD_MINUTES = 30
STALE_RESERVATION = timedelta(seconds=60)
CHECKIN_CODE_ATTEMPTS = 8  # a collision in a session is one in ~10^5 per draw; eight is plenty
ROSTER_PAGE_SIZE = 8


@dataclass(frozen=True)
class BookingResult(BookingOutcome):
    """The outcome with the session and complex it is for, as read while booking."""

    session: Session = field(kw_only=True)
    complex_: Complex = field(kw_only=True)


@dataclass(frozen=True)
class SessionView:
    """A session as one resident sees it: their open booking of it, or what they may ask for."""

    session: Session
    complex_: Complex
    booking: Booking | None  # open bookings only: a closed one allows booking again
    availability: Availability


@dataclass(frozen=True)
class RosterEntry:
    """One person on a session's list: their booking and who they are."""

    booking: Booking
    name: str
    phone: str | None
    position: int | None = None  # in the waitlist


@dataclass(frozen=True)
class Roster:
    """Who is booked on a session (a page of them) and who waits, as staff see it."""

    session: Session
    complex_: Complex
    seated: Page[RosterEntry]  # active bookings (and offers held), in booking order
    waitlist: list[RosterEntry]  # in queue order
    attended: int
    no_shows: int
    can_mark_arrivals: bool  # attendance is open (from an hour before the start)
    can_mark_no_shows: bool  # the session has begun


@dataclass(frozen=True)
class CancelPreview:
    """What cancelling a session would do: the reason as it will be told, and to how many."""

    session: Session
    complex_: Complex
    reason: str
    people: int


@dataclass(frozen=True)
class SessionClosed:
    """A cancelled session and how many people were told."""

    session: Session
    notified: int


class BookingService:
    def __init__(
        self,
        bookings: BookingRepository,
        sessions: SessionRepository,
        catalog: CatalogRepository,
        users: UserRepository,
        reminders: ReminderRepository,
        notifier: Notifier,
        clock: Clock,
        events: BusinessEvents = NO_EVENTS,
        *,
        audit: AuditRepository,
        no_show: NoShowRule | None = None,
    ) -> None:
        self._audit = audit
        self._staff_audit = StaffAudit(audit, clock)
        self._no_show = no_show or NoShowRule()
        self._events = events
        self._bookings = bookings
        self._sessions = sessions
        self._catalog = catalog
        self._users = users
        self._reminders = reminders
        self._notifier = notifier
        self._clock = clock

    async def book(self, actor: Actor, session_id: str) -> BookingResult:
        """A seat if one is left, else a place on the waitlist; a repeat returns what exists."""
        user = await active_resident(self._users, actor)
        session, complex_ = await self._bookable_session(session_id)
        await self._check_no_shows(user, complex_)
        return await self._book(user, session, complex_)

    async def blocked_until(self, user_id: int) -> datetime | None:
        """When the resident may book again, if the no-show rule stops them now."""
        if not self._no_show.enabled:
            return None
        now = self._clock.now()
        marks = await self._bookings.no_shows_since(user_id, now - self._no_show.lookback)
        return self._no_show.blocked_until(marks, now)

    async def _check_no_shows(self, user: User, complex_: Complex) -> None:
        until = await self.blocked_until(user.telegram_id)
        if until is not None:
            raise BookingBlocked(until=until, timezone=complex_.timezone)

    async def _book(self, user: User, session: Session, complex_: Complex) -> BookingResult:
        user_id = user.telegram_id
        bid = booking_id(session.id, user_id)
        now = self._clock.now()
        if not await self._bookings.claim(bid, session.id, user_id, now):
            existing = await self._require_booking(bid)
            if existing.status is B.RESERVING and now - existing.updated_at > STALE_RESERVATION:
                return await self._retry_after_stale_reservation(existing, user, now)
            self._events.booking("existing")
            if existing.status is B.ACTIVE:
                # A repeat, or the redelivery of a booking cut off after its seat: the steps
                # after the seat (code, reminders) are completed, each idempotent.
                existing = await self._complete_active(existing, session, now)
            return await self._result(existing, session, complex_, created=False)
        if await self._sessions.take_seat(session.id):
            booked = await self._bookings.move(bid, frozenset({B.RESERVING}), B.ACTIVE, now)
            if booked is None:  # our reservation was taken over as stale: give the seat back
                await self.free_seat(session.id)
                self._events.booking("existing")
                existing = await self._require_booking(bid)
                return await self._result(existing, session, complex_, created=False)
            booked = await self._with_checkin_code(booked)
            await self._plan_reminders(booked, session, now)
            self._events.booking(booked.status.value)
            return BookingResult(booked, created=True, session=session, complex_=complex_)
        queued = await self._bookings.move(
            bid, frozenset({B.RESERVING}), B.WAITLISTED, now, queued_at=now
        )
        if queued is None:
            self._events.booking("existing")
            existing = await self._require_booking(bid)
            return await self._result(existing, session, complex_, created=False)
        self._events.booking(queued.status.value)
        return await self._result(queued, session, complex_, created=True)

    async def session_view(self, user_id: int, session_id: str) -> SessionView:
        """The session card: the session, its complex, and the user's open booking of it."""
        session = await self._require_session(session_id)
        complex_ = await self._require_complex(session.complex_code)
        booking = await self._bookings.get(booking_id(session.id, user_id))
        if booking is not None and not booking.is_open:
            booking = None
        if booking is not None:
            booking = await self._with_checkin_code(booking)
        return SessionView(session, complex_, booking, session.availability_at(self._clock.now()))

    async def cancel(self, user_id: int, bid: str) -> Booking:
        """Cancel a seat (inside the complex's window), leave the waitlist, or decline an offer."""
        booking = await self._owned(user_id, bid)
        session = await self._require_session(booking.session_id)
        now = self._clock.now()
        if booking.status is B.ACTIVE:
            window = await self._cancellation_window(session)
            if not can_cancel(now, session.starts_at, window):
                raise CancellationWindowClosed(window_hours=window)
            cancelled = await self._bookings.move(bid, frozenset({B.ACTIVE}), B.CANCELLED, now)
            if cancelled is None:
                current = await self._require_booking(bid)
                if current.status is B.CANCELLED and not session.cancelled:
                    return await self._complete_cancel(current, session)
                raise StaleAction("booking changed meanwhile")
            await self._reminders.cancel_for_booking(bid)
            await self.free_seat(session.id)
            self._events.booking("cancelled")
            return cancelled
        if booking.status is B.WAITLISTED:
            left = await self._bookings.move(bid, frozenset({B.WAITLISTED}), B.CANCELLED, now)
            if left is None:
                raise StaleAction("booking changed meanwhile")
            self._events.booking("cancelled")
            return left
        if booking.status is B.OFFERED:
            return await self.decline_offer(user_id, bid)
        if booking.status is B.CANCELLED and not session.cancelled:
            # Their own cancel delivered again (the first one may have been cut off after the
            # move): the same answer, and the steps after it completed.
            return await self._complete_cancel(booking, session)
        raise StaleAction(f"booking is {booking.status}")

    async def _complete_cancel(self, booking: Booking, session: Session) -> Booking:
        """What follows a cancel, again, idempotently: its reminders closed and the notices of
        the session's open offers recorded (keyed, so never twice). A seat the cut-off cancel
        did not hand on is the repair's (``RepairService``): only it can tell, once the
        session is quiet, that ``booked`` counts a seat nobody holds."""
        await self._reminders.cancel_for_booking(booking.id)
        await self.notify_open_offers(session)
        return booking

    async def notify_open_offers(self, session: Session) -> int:
        """Record the notice of every unexpired offer of the session (an offer made by a step
        that was cut off before its notice); how many were missing."""
        now = self._clock.now()
        missing = 0
        for booking in await self._bookings.list_for_session(session.id):
            if (
                booking.status is B.OFFERED
                and booking.offer_expires_at is not None
                and booking.offer_expires_at > now
                and await self._notifier.seat_offered(booking, session)
            ):
                missing += 1
        return missing

    async def accept_offer(self, user_id: int, bid: str) -> Booking:
        await self._owned(user_id, bid)
        now = self._clock.now()
        accepted = await self._bookings.move(
            bid, frozenset({B.OFFERED}), B.ACTIVE, now, offer_valid_at=now
        )
        if accepted is None:
            current = await self._require_booking(bid)
            if current.status is B.ACTIVE:
                # Accepted already (this press delivered again): the steps after it completed.
                session = await self._require_session(current.session_id)
                return await self._complete_active(current, session, now)
            raise OfferUnavailable(f"booking is {current.status}")
        session = await self._require_session(accepted.session_id)
        accepted = await self._complete_active(accepted, session, now)
        self._events.waitlist_offer("accepted")
        return accepted

    async def _complete_active(self, booking: Booking, session: Session, now: datetime) -> Booking:
        """The steps after a seat, each idempotent: the check-in code and the reminders."""
        coded = await self._with_checkin_code(booking)
        await self._plan_reminders(coded, session, now)
        return coded

    async def decline_offer(self, user_id: int, bid: str) -> Booking:
        await self._owned(user_id, bid)
        declined = await self._bookings.move(
            bid, frozenset({B.OFFERED}), B.DECLINED, self._clock.now()
        )
        if declined is None:
            current = await self._require_booking(bid)
            if current.status is B.DECLINED:
                # Declined already (delivered again): the offers made since are told.
                await self.notify_open_offers(await self._require_session(current.session_id))
                return current
            raise OfferUnavailable("offer is gone")
        await self.free_seat(declined.session_id)
        self._events.waitlist_offer("declined")
        return declined

    async def expire_offers(self, limit: int = 100) -> int:
        """Offers past their hold time lose the seat; it goes to the next person in line."""
        now = self._clock.now()
        expired = 0
        for offer in await self._bookings.expired_offers(now, limit):
            moved = await self._bookings.move(offer.id, frozenset({B.OFFERED}), B.EXPIRED, now)
            if moved is not None and moved.offer_expires_at is not None:
                expired += 1
                await self.free_seat(moved.session_id)
        self._events.waitlist_offer("expired", expired)
        return expired

    async def free_seat(self, session_id: str) -> Booking | None:
        """Hand a freed seat to the head of the waitlist, or give it back to the session."""
        session = await self._require_session(session_id)
        hold = timedelta(minutes=await self._hold_minutes(session))
        while True:
            now = self._clock.now()
            offer = await self._bookings.offer_next(session_id, now, now + hold)
            if offer is not None:
                await self._notifier.seat_offered(offer, session)
                self._events.waitlist_offer("offered")
                return offer
            await self._sessions.release_seat(session_id)
            # Someone may have joined the waitlist between the empty look-up and the release.
            if not await self._bookings.has_waitlisted(session_id):
                return None
            if not await self._sessions.take_seat(session_id):
                return None

    async def mine(
        self, user_id: int, page: PageRequest, statuses: frozenset[BookingStatus] = OPEN_STATUSES
    ) -> Page[Booking]:
        return await self._bookings.list_for_user(user_id, statuses, page)

    async def get_for_user(self, user_id: int, bid: str) -> Booking:
        """The resident's own booking; an active one always carries its check-in code."""
        return await self._with_checkin_code(await self._owned(user_id, bid))

    async def waitlist_position(self, booking: Booking) -> int | None:
        if booking.status is not B.WAITLISTED:
            return None
        return await self._bookings.waitlist_position(booking)

    async def confirm_attendance_intent(self, user_id: int, bid: str) -> Booking:
        """The «Приду» button of a reminder."""
        await self._owned(user_id, bid)
        confirmed = await self._bookings.confirm(bid, self._clock.now())
        if confirmed is None:
            raise StaleAction("booking is not active")
        return confirmed

    # --- staff: the list of a session, attendance, capacity, cancelling -------------------

    async def roster(self, staff_id: int, session_id: str) -> list[Booking]:
        session = await self._require_session(session_id)
        await staff_for_complex(self._users, staff_id, session.complex_code)
        return await self._bookings.list_for_session(session_id)

    async def staff_roster(self, staff_id: int, session_id: str, page: PageRequest) -> Roster:
        """The session with who is booked (a page) and who waits, for the staff screen."""
        session, complex_ = await self._staff_session(staff_id, session_id)
        bookings = await self._bookings.list_for_session(session_id)
        seated_bookings = sorted(
            (b for b in bookings if b.status in (B.ACTIVE, B.OFFERED)),
            key=lambda b: (b.created_at, b.id),
        )
        waiting = [b for b in bookings if b.status is B.WAITLISTED]
        waiting.sort(key=lambda b: (b.queued_at or b.created_at, b.id))
        request = clamp_page(page, len(seated_bookings))
        shown = seated_bookings[request.offset : request.offset + request.size]
        seated = [await self._entry(b) for b in shown]
        waitlist = [
            await self._entry(b, position=index) for index, b in enumerate(waiting, start=1)
        ]
        now = self._clock.now()
        return Roster(
            session=session,
            complex_=complex_,
            seated=Page(seated, request.page, request.size, len(seated_bookings)),
            waitlist=waitlist,
            attended=sum(1 for b in seated_bookings if b.attendance is Attendance.ATTENDED),
            no_shows=sum(1 for b in seated_bookings if b.attendance is Attendance.NO_SHOW),
            can_mark_arrivals=can_mark_attendance(Attendance.ATTENDED, now, session.starts_at),
            can_mark_no_shows=can_mark_attendance(Attendance.NO_SHOW, now, session.starts_at),
        )

    async def mark_attendance(self, staff_id: int, bid: str, attendance: Attendance) -> Booking:
        """Attended (from an hour before the start) or no-show (once it has begun); marking
        again corrects the mark. Only active bookings: a cancelled one has nothing to mark."""
        booking = await self._require_booking(bid)
        session, _ = await self._staff_session(staff_id, booking.session_id)
        return await self._mark(staff_id, booking, session, attendance)

    async def check_in(self, staff_id: int, session_id: str, raw_code: str) -> RosterEntry:
        """The code a resident shows at the door: their booking of this session is attended."""
        session, _ = await self._staff_session(staff_id, session_id)
        code = normalize_checkin_code(raw_code)
        booking = await self._bookings.find_by_checkin_code(session_id, code)
        if booking is None or booking.status is not B.ACTIVE:
            raise CheckinCodeUnknown(code=code)
        marked = await self._mark(staff_id, booking, session, Attendance.ATTENDED)
        return await self._entry(marked)

    async def mark_all_attended(self, staff_id: int, session_id: str) -> int:
        """«Все пришли»: every active booking not marked yet is attended (marks made stay)."""
        session, _ = await self._staff_session(staff_id, session_id)
        now = self._clock.now()
        if not can_mark_attendance(Attendance.ATTENDED, now, session.starts_at):
            raise AttendanceNotOpen(starts_at=session.starts_at)
        marked: list[str] = []
        for booking in await self._bookings.list_for_session(session_id):
            if booking.status is not B.ACTIVE or booking.attendance is not None:
                continue
            if await self._bookings.mark_attendance(booking.id, Attendance.ATTENDED, staff_id, now):
                marked.append(booking.id)
        await self._staff_audit.record(
            staff_id,
            "session.all_attended",
            "session",
            session_id,
            before={"attendance": None},
            after={"attendance": Attendance.ATTENDED.value},
            bookings=marked,
        )
        return len(marked)

    async def change_capacity(self, staff_id: int, session_id: str, raw: str) -> Session:
        """Set the number of seats. Lowering it below the seats taken is refused, with their
        count (nobody booked is moved or dropped); raising it offers the new seats to the
        waitlist in queue order."""
        session, _ = await self._staff_session(staff_id, session_id)
        capacity = parse_capacity(raw)
        if session.cancelled or not session.is_bookable_at(self._clock.now()):
            raise SessionUnavailable(session_id)
        changed = await self._sessions.set_capacity(session_id, capacity)
        if changed is None:
            current = await self._require_session(session_id)
            if current.cancelled:
                raise SessionUnavailable(session_id)
            raise CapacityBelowBooked(booked=current.booked, capacity=capacity)
        await self._staff_audit.record(
            staff_id,
            "session.capacity",
            "session",
            session_id,
            before={"capacity": session.capacity, "booked": session.booked},
            after={"capacity": changed.capacity, "booked": changed.booked},
        )
        if changed.capacity > session.capacity:
            await self._offer_new_seats(changed)
        return await self._require_session(session_id)

    async def preview_cancel(
        self, staff_id: int, session_id: str, raw_reason: str
    ) -> CancelPreview:
        """Before cancelling: the reason checked, and how many people would be told."""
        session, complex_ = await self._staff_session(staff_id, session_id)
        if session.cancelled:
            raise SessionUnavailable(session_id)
        reason = validate_reason(raw_reason)
        bookings = await self._bookings.list_for_session(session_id)
        return CancelPreview(session, complex_, reason, sum(1 for b in bookings if b.is_open))

    async def cancel_session(
        self, staff_id: int, session_id: str, raw_reason: str
    ) -> SessionClosed:
        """Cancel a session: every booking and waitlist place is closed, their reminders are
        cancelled, and each person is told once (through the outbox) with the reason."""
        session, _ = await self._staff_session(staff_id, session_id)
        reason = validate_reason(raw_reason)
        return await self._close_session(staff_id, session, reason)

    async def close_future_sessions(self, actor_id: int, complex_code: str, reason: str) -> int:
        """Every coming session of a complex is cancelled with notice (the complex is hidden);
        how many sessions were closed. For admins (hiding a complex is theirs)."""
        await catalog_admin(self._users, actor_id)
        now = self._clock.now()
        sessions = await self._sessions.list_for_complex(
            complex_code, now, now + timedelta(days=3660)
        )
        closed = 0
        for session in sessions:
            if not session.cancelled:
                await self._close_session(actor_id, session, reason)
                closed += 1
        return closed

    async def _close_session(self, actor_id: int, session: Session, reason: str) -> SessionClosed:
        if not await self._sessions.cancel(session.id, reason):
            return await self._close_again(actor_id, session.id, reason)
        cancelled = await self._require_session(session.id)
        notified = 0
        now = self._clock.now()
        # Twice: a booking racing the cancellation may have opened between the two reads.
        for _ in range(2):
            notified += await self.close_open_bookings(cancelled, now)
        await self.repair_seat_count(session.id)
        await self._staff_audit.record(
            actor_id,
            "session.cancel",
            "session",
            session.id,
            before=session_snapshot(session),
            after=session_snapshot(cancelled),
            notified=notified,
        )
        return SessionClosed(cancelled, notified)

    async def _close_again(self, actor_id: int, session_id: str, reason: str) -> SessionClosed:
        """The session is cancelled already. With the same reason, and no audit entry of the
        cancel yet or one of this staff member: their cancel delivered again (the first may
        have been cut off midway), completed and answered alike. Anyone else's: stale."""
        current = await self._require_session(session_id)
        done = await self._audit.search(
            AuditQuery(target_type="session", target_id=session_id, action="session.cancel"),
            PageRequest(size=1),
        )
        by_other = bool(done.items) and done.items[0].actor_id != actor_id
        if current.cancel_reason != reason or by_other:
            raise StaleAction("the session was cancelled already")
        now = self._clock.now()
        notified = 0
        for _ in range(2):
            notified += await self.close_open_bookings(current, now)
        await self.repair_seat_count(session_id)
        if not done.items:
            await self._staff_audit.record(
                actor_id,
                "session.cancel",
                "session",
                session_id,
                before=session_snapshot(replace(current, cancelled=False, cancel_reason=None)),
                after=session_snapshot(current),
                notified=notified,
            )
        return SessionClosed(current, notified)

    async def close_open_bookings(self, cancelled: Session, now: datetime) -> int:
        """Close every open booking of a cancelled session; how many were closed. The notice
        is recorded before the booking is closed (it applies as soon as the session is off),
        so a cut-off run leaves a booking open with its notice, which the next run (or the
        repair) closes, never a closed booking nobody told."""
        closed_count = 0
        for booking in await self._bookings.list_for_session(cancelled.id):
            if not booking.is_open:
                continue
            await self._notifier.session_cancelled(booking, cancelled)
            closed = await self._bookings.move(booking.id, OPEN_STATUSES, B.CANCELLED, now)
            if closed is None:
                continue
            await self._reminders.cancel_for_booking(booking.id)
            closed_count += 1
        return closed_count

    async def offer_free_seats(self, session: Session) -> int:
        """Seats free while people wait (a release cut off before it looked at the waitlist
        again) go to the head of the waitlist; how many were offered."""
        return await self._offer_new_seats(session)

    async def _offer_new_seats(self, session: Session) -> int:
        """New seats go to the head of the waitlist, one offer per seat, in queue order."""
        hold = timedelta(minutes=await self._hold_minutes(session))
        offered = 0
        while True:
            # The offer first, then its seat: between the two the booking was just written, so
            # the repair leaves the session alone (it recounts only quiet sessions), and a cut
            # here leaves a seat holder uncounted, which the repair counts (never a seat
            # counted that a recount could hand out twice).
            current = await self._sessions.get(session.id)
            if current is None or current.cancelled or current.booked >= current.capacity:
                return offered
            now = self._clock.now()
            offer = await self._bookings.offer_next(session.id, now, now + hold)
            if offer is None:
                return offered
            if not await self._sessions.take_seat(session.id):
                # The new seats went to people booking meanwhile: back in the queue, in place.
                await self._bookings.move(offer.id, frozenset({B.OFFERED}), B.WAITLISTED, now)
                return offered
            await self._notifier.seat_offered(offer, session)
            self._events.waitlist_offer("offered")
            offered += 1

    async def _mark(
        self, staff_id: int, booking: Booking, session: Session, attendance: Attendance
    ) -> Booking:
        now = self._clock.now()
        if not can_mark_attendance(attendance, now, session.starts_at):
            raise AttendanceNotOpen(starts_at=session.starts_at)
        marked = await self._bookings.mark_attendance(booking.id, attendance, staff_id, now)
        if marked is None:
            raise StaleAction("booking is not active")
        await self._staff_audit.record(
            staff_id,
            "booking.attendance",
            "booking",
            booking.id,
            before={"attendance": booking.attendance.value if booking.attendance else None},
            after={"attendance": attendance.value},
        )
        return marked

    async def _entry(self, booking: Booking, position: int | None = None) -> RosterEntry:
        user = await self._users.get(booking.user_id)
        name = (user.name if user is not None else None) or f"#{booking.user_id}"
        return RosterEntry(booking, name, user.phone if user is not None else None, position)

    async def _staff_session(self, staff_id: int, session_id: str) -> tuple[Session, Complex]:
        """The session and its complex (hidden ones too), if the complex is the staff member's."""
        session = await self._require_session(session_id)
        await staff_for_complex(self._users, staff_id, session.complex_code)
        complex_ = await self._catalog.get_complex(session.complex_code)
        if complex_ is None:
            raise NotFound(f"complex {session.complex_code}")
        return session, complex_

    async def _with_checkin_code(self, booking: Booking) -> Booking:
        """An active booking's check-in code, given now if it has none yet (a booking made
        before codes existed, or a crash between the seat and the code)."""
        if booking.status is not B.ACTIVE or booking.checkin_code is not None:
            return booking
        for _ in range(CHECKIN_CODE_ATTEMPTS):
            coded = await self._bookings.assign_checkin_code(booking.id, new_checkin_code())
            if coded is not None:
                return coded
        raise RuntimeError(f"no free check-in code for {booking.id}")

    async def repair_seat_count(self, session_id: str) -> int:
        """Recount ``booked`` from the bookings (after a crash left a reservation half-done)."""
        holders = await self._bookings.count_seat_holders(session_id)
        await self._sessions.set_booked(session_id, holders)
        return holders

    async def _retry_after_stale_reservation(
        self, stale: Booking, user: User, now: datetime
    ) -> BookingResult:
        """A process died between reserving and finishing: drop the half-done reservation,
        recount the session's seats from the bookings, and book again."""
        if await self._bookings.move(stale.id, frozenset({B.RESERVING}), B.CANCELLED, now):
            await self.repair_seat_count(stale.session_id)
        session, complex_ = await self._bookable_session(stale.session_id)
        return await self._book(user, session, complex_)

    async def _result(
        self, booking: Booking, session: Session, complex_: Complex, *, created: bool
    ) -> BookingResult:
        position = await self.waitlist_position(booking)
        return BookingResult(
            booking, created=created, waitlist_position=position, session=session, complex_=complex_
        )

    async def _plan_reminders(self, booking: Booking, session: Session, now: datetime) -> None:
        await self._reminders.insert_missing(
            plan_reminders(
                booking_id=booking.id,
                user_id=booking.user_id,
                session_id=session.id,
                starts_at=session.starts_at,
                now=now,
            )
        )

    async def _bookable_session(self, session_id: str) -> tuple[Session, Complex]:
        session = await self._require_session(session_id)
        if not session.is_bookable_at(self._clock.now()):
            raise SessionUnavailable(session_id)
        return session, await self._require_complex(session.complex_code)

    async def _require_complex(self, code: str) -> Complex:
        """The session's complex, as residents may see it (active)."""
        complex_ = await self._catalog.get_complex(code)
        if complex_ is None or not complex_.active:
            raise NotFound(f"complex {code}")
        return complex_

    async def _require_session(self, session_id: str) -> Session:
        session = await self._sessions.get(session_id)
        if session is None:
            raise NotFound(f"session {session_id}")
        return session

    async def _require_booking(self, bid: str) -> Booking:
        booking = await self._bookings.get(bid)
        if booking is None:
            raise NotFound(f"booking {bid}")
        return booking

    async def _owned(self, user_id: int, bid: str) -> Booking:
        booking = await self._bookings.get(bid)
        if booking is None or booking.user_id != user_id:
            raise NotFound(f"booking {bid}")
        return booking

    async def _cancellation_window(self, session: Session) -> int:
        complex_ = await self._catalog.get_complex(session.complex_code)
        return complex_.cancellation_window_hours if complex_ else 0

    async def hold_for(self, session: Session) -> timedelta:
        """How long a freed seat is held for the person it is offered to."""
        return timedelta(minutes=await self._hold_minutes(session))

    async def plan_missing_reminders(self, booking: Booking, session: Session) -> None:
        await self._plan_reminders(booking, session, self._clock.now())

    async def _hold_minutes(self, session: Session) -> int:
        complex_ = await self._catalog.get_complex(session.complex_code)
        return complex_.waitlist_hold_minutes if complex_ else DEFAULT_HOLD_MINUTES
