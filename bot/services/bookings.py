"""Booking seats, the waitlist behind a full session, offers of freed seats, attendance.

Seat accounting: a session's ``booked`` counter equals the number of its bookings in a
seat-holding status (reserving, active, offered). Seats are taken with a conditional atomic
update, so capacity cannot be exceeded; a freed seat is handed to the head of the waitlist by an
atomic status change of exactly one booking, so one seat cannot go to two people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain.bookings import (
    OPEN_STATUSES,
    Attendance,
    Booking,
    BookingOutcome,
    BookingStatus,
    booking_id,
    can_cancel,
)
from bot.domain.catalog import Complex
from bot.domain.errors import (
    CancellationWindowClosed,
    NotFound,
    OfferUnavailable,
    PermissionDenied,
    SessionUnavailable,
    StaleAction,
)
from bot.domain.paging import Page, PageRequest
from bot.domain.reminders import plan_reminders
from bot.domain.sessions import Availability, Session
from bot.domain.users import User
from bot.services.guards import Actor, active_resident
from bot.services.ports.events import NO_EVENTS, BusinessEvents
from bot.services.ports.repositories import (
    BookingRepository,
    CatalogRepository,
    ReminderRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import Clock, Notifier

B = BookingStatus
DEFAULT_HOLD_MINUTES = 30
STALE_RESERVATION = timedelta(seconds=60)


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
    ) -> None:
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
        return await self._book(user, session, complex_)

    async def _book(self, user: User, session: Session, complex_: Complex) -> BookingResult:
        user_id = user.telegram_id
        bid = booking_id(session.id, user_id)
        now = self._clock.now()
        if not await self._bookings.claim(bid, session.id, user_id, now):
            existing = await self._require_booking(bid)
            if existing.status is B.RESERVING and now - existing.updated_at > STALE_RESERVATION:
                return await self._retry_after_stale_reservation(existing, user, now)
            self._events.booking("existing")
            return await self._result(existing, session, complex_, created=False)
        if await self._sessions.take_seat(session.id):
            booked = await self._bookings.move(bid, frozenset({B.RESERVING}), B.ACTIVE, now)
            if booked is None:  # our reservation was taken over as stale: give the seat back
                await self.free_seat(session.id)
                self._events.booking("existing")
                existing = await self._require_booking(bid)
                return await self._result(existing, session, complex_, created=False)
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
        raise StaleAction(f"booking is {booking.status}")

    async def accept_offer(self, user_id: int, bid: str) -> Booking:
        booking = await self._owned(user_id, bid)
        now = self._clock.now()
        accepted = await self._bookings.move(
            bid, frozenset({B.OFFERED}), B.ACTIVE, now, offer_valid_at=now
        )
        if accepted is None:
            raise OfferUnavailable(f"booking is {booking.status}")
        session = await self._require_session(accepted.session_id)
        await self._plan_reminders(accepted, session, now)
        self._events.waitlist_offer("accepted")
        return accepted

    async def decline_offer(self, user_id: int, bid: str) -> Booking:
        await self._owned(user_id, bid)
        declined = await self._bookings.move(
            bid, frozenset({B.OFFERED}), B.DECLINED, self._clock.now()
        )
        if declined is None:
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
        return await self._owned(user_id, bid)

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

    async def mark_attendance(self, staff_id: int, bid: str, attendance: Attendance) -> Booking:
        staff = await self._users.get(staff_id)
        booking = await self._require_booking(bid)
        session = await self._require_session(booking.session_id)
        if staff is None or staff.blocked or not staff.can_manage_complex(session.complex_code):
            raise PermissionDenied("complex outside the staff member's scope")
        marked = await self._bookings.mark_attendance(bid, attendance, staff_id, self._clock.now())
        if marked is None:
            raise StaleAction("booking is not active")
        return marked

    async def roster(self, staff_id: int, session_id: str) -> list[Booking]:
        staff = await self._users.get(staff_id)
        session = await self._require_session(session_id)
        if staff is None or staff.blocked or not staff.can_manage_complex(session.complex_code):
            raise PermissionDenied("complex outside the staff member's scope")
        return await self._bookings.list_for_session(session_id)

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

    async def _hold_minutes(self, session: Session) -> int:
        complex_ = await self._catalog.get_complex(session.complex_code)
        return complex_.waitlist_hold_minutes if complex_ else DEFAULT_HOLD_MINUTES
