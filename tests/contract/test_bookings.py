"""BookingRepository: one booking per (session, user), conditional moves, the waitlist in queue
order, offers with an expiry, and the counts the services repair seats from."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot.domain.bookings import Attendance, Booking, BookingStatus, booking_id
from bot.domain.paging import PageRequest
from tests.contract.conftest import Ports
from tests.contract.data import NOW, PRECISE, PRECISE_STORED

B = BookingStatus
SESSION = "s" * 24


async def claimed(
    ports: Ports, user_id: int, *, session_id: str = SESSION, at: datetime = NOW
) -> str:
    bid = booking_id(session_id, user_id)
    assert await ports.bookings.claim(bid, session_id, user_id, at)
    return bid


async def waitlisted(
    ports: Ports, user_id: int, queued_at: datetime, *, session_id: str = SESSION
) -> Booking:
    bid = await claimed(ports, user_id, session_id=session_id)
    queued = await ports.bookings.move(
        bid, frozenset({B.RESERVING}), B.WAITLISTED, queued_at, queued_at=queued_at
    )
    assert queued is not None
    return queued


async def test_a_claim_makes_a_reserving_booking(ports: Ports) -> None:
    bid = booking_id(SESSION, 7)
    assert bid == f"{SESSION}:7"
    assert await ports.bookings.claim(bid, SESSION, 7, PRECISE) is True
    assert await ports.bookings.get(bid) == Booking(
        id=bid,
        session_id=SESSION,
        user_id=7,
        status=B.RESERVING,
        created_at=PRECISE_STORED,
        updated_at=PRECISE_STORED,
    )
    assert await ports.bookings.get(booking_id(SESSION, 8)) is None


async def test_an_open_booking_cannot_be_claimed_again(ports: Ports) -> None:
    bid = await claimed(ports, 7)
    for status in (B.ACTIVE, B.WAITLISTED, B.OFFERED):
        moved = await ports.bookings.move(bid, frozenset(B), status, NOW)
        assert moved is not None
        assert await ports.bookings.claim(bid, SESSION, 7, NOW + timedelta(hours=1)) is False
        still = await ports.bookings.get(bid)
        assert still is not None
        assert still.status is status


async def test_a_closed_booking_is_claimed_afresh(ports: Ports) -> None:
    bid = await claimed(ports, 7)
    await ports.bookings.move(bid, frozenset({B.RESERVING}), B.ACTIVE, NOW)
    await ports.bookings.confirm(bid, NOW)
    await ports.bookings.move(
        bid, frozenset({B.ACTIVE}), B.CANCELLED, NOW, queued_at=NOW, offer_expires_at=NOW
    )
    later = NOW + timedelta(hours=2)
    assert await ports.bookings.claim(bid, SESSION, 7, later) is True
    assert await ports.bookings.get(bid) == Booking(
        id=bid,
        session_id=SESSION,
        user_id=7,
        status=B.RESERVING,
        created_at=later,
        updated_at=later,
    )


async def test_concurrent_claims_of_one_booking_let_exactly_one_win(ports: Ports) -> None:
    bid = booking_id(SESSION, 7)
    won = await asyncio.gather(*(ports.bookings.claim(bid, SESSION, 7, NOW) for _ in range(12)))
    assert sum(won) == 1
    assert await ports.bookings.count_by_status(SESSION) == {B.RESERVING: 1}


async def test_another_id_for_the_same_session_and_user_is_refused(ports: Ports) -> None:
    await claimed(ports, 7)
    assert await ports.bookings.claim("other-id", SESSION, 7, NOW) is False
    assert await ports.bookings.get("other-id") is None


async def test_move_changes_status_only_from_the_given_ones(ports: Ports) -> None:
    bid = await claimed(ports, 7)
    later = NOW + timedelta(minutes=5)
    assert await ports.bookings.move(bid, frozenset({B.ACTIVE}), B.CANCELLED, later) is None
    active = await ports.bookings.move(bid, frozenset({B.RESERVING}), B.ACTIVE, later)
    assert active is not None
    assert (active.status, active.updated_at, active.created_at) == (B.ACTIVE, later, NOW)
    assert await ports.bookings.get(bid) == active
    assert await ports.bookings.move("missing", frozenset(B), B.ACTIVE, later) is None


async def test_move_sets_queue_time_and_expiry_only_when_given(ports: Ports) -> None:
    bid = await claimed(ports, 7)
    queued = await ports.bookings.move(
        bid, frozenset({B.RESERVING}), B.WAITLISTED, NOW, queued_at=PRECISE
    )
    assert queued is not None
    assert (queued.queued_at, queued.offer_expires_at) == (PRECISE_STORED, None)
    expiry = NOW + timedelta(minutes=30)
    offered = await ports.bookings.move(
        bid, frozenset({B.WAITLISTED}), B.OFFERED, NOW, offer_expires_at=expiry
    )
    assert offered is not None
    assert (offered.queued_at, offered.offer_expires_at) == (PRECISE_STORED, expiry)
    # Moving on does not clear what was set before.
    active = await ports.bookings.move(bid, frozenset({B.OFFERED}), B.ACTIVE, NOW)
    assert active is not None
    assert active.offer_expires_at == expiry


async def test_an_offer_is_accepted_only_before_it_expires(ports: Ports) -> None:
    expiry = NOW + timedelta(minutes=30)
    for user, at, accepted in (
        (1, expiry - timedelta(milliseconds=1), True),
        (2, expiry, False),  # the expiry moment itself is too late
        (3, expiry + timedelta(minutes=1), False),
    ):
        bid = await claimed(ports, user)
        await ports.bookings.move(bid, frozenset(B), B.OFFERED, NOW, offer_expires_at=expiry)
        result = await ports.bookings.move(
            bid, frozenset({B.OFFERED}), B.ACTIVE, at, offer_valid_at=at
        )
        assert (result is not None) is accepted, user
        stored = await ports.bookings.get(bid)
        assert stored is not None
        assert stored.status is (B.ACTIVE if accepted else B.OFFERED)


async def test_an_offer_without_expiry_is_never_valid(ports: Ports) -> None:
    bid = await claimed(ports, 1)
    await ports.bookings.move(bid, frozenset(B), B.OFFERED, NOW)
    assert await ports.bookings.move(bid, frozenset(B), B.ACTIVE, NOW, offer_valid_at=NOW) is None


async def test_offer_next_takes_the_head_of_the_queue(ports: Ports) -> None:
    await waitlisted(ports, 30, NOW + timedelta(seconds=3))
    await waitlisted(ports, 20, NOW + timedelta(seconds=1))
    await waitlisted(ports, 10, NOW + timedelta(seconds=1))  # same moment: the id decides
    await waitlisted(ports, 5, NOW, session_id="t" * 24)  # another session's queue
    expiry = NOW + timedelta(minutes=45)
    order = []
    for _ in range(3):
        offer = await ports.bookings.offer_next(SESSION, NOW, expiry)
        assert offer is not None
        assert (offer.status, offer.offer_expires_at, offer.updated_at) == (B.OFFERED, expiry, NOW)
        order.append(offer.user_id)
    assert order == [10, 20, 30]
    assert await ports.bookings.offer_next(SESSION, NOW, expiry) is None
    assert await ports.bookings.has_waitlisted(SESSION) is False
    assert await ports.bookings.has_waitlisted("t" * 24) is True


async def test_concurrent_offers_go_to_distinct_people_in_queue_order(ports: Ports) -> None:
    for user in range(1, 9):
        await waitlisted(ports, user, NOW + timedelta(seconds=user))
    offers = await asyncio.gather(
        *(ports.bookings.offer_next(SESSION, NOW, NOW + timedelta(hours=1)) for _ in range(5))
    )
    offered = sorted(o.user_id for o in offers if o is not None)
    assert offered == [1, 2, 3, 4, 5]
    counts = await ports.bookings.count_by_status(SESSION)
    assert counts == {B.OFFERED: 5, B.WAITLISTED: 3}


async def test_waitlist_positions_follow_the_queue(ports: Ports) -> None:
    late = await waitlisted(ports, 3, NOW + timedelta(seconds=2))
    tie_b = await waitlisted(ports, 22, NOW + timedelta(seconds=1))
    tie_a = await waitlisted(ports, 11, NOW + timedelta(seconds=1))
    first = await waitlisted(ports, 4, NOW)
    positions = [await ports.bookings.waitlist_position(b) for b in (first, tie_a, tie_b, late)]
    assert positions == [1, 2, 3, 4]
    await ports.bookings.offer_next(SESSION, NOW, NOW + timedelta(hours=1))  # the head leaves
    assert await ports.bookings.waitlist_position(late) == 3


async def test_seat_holders_are_reserving_active_and_offered(ports: Ports) -> None:
    statuses = [B.RESERVING, B.ACTIVE, B.OFFERED, B.WAITLISTED, B.CANCELLED, B.DECLINED, B.EXPIRED]
    for user, status in enumerate(statuses, start=1):
        bid = await claimed(ports, user)
        if status is not B.RESERVING:
            await ports.bookings.move(bid, frozenset({B.RESERVING}), status, NOW)
    await claimed(ports, 1, session_id="t" * 24)
    assert await ports.bookings.count_seat_holders(SESSION) == 3
    assert await ports.bookings.count_by_status(SESSION) == {s: 1 for s in statuses}
    assert await ports.bookings.count_by_status("missing") == {}


async def test_a_users_bookings_newest_first_by_status_in_pages(ports: Ports) -> None:
    for index in range(4):
        bid = await claimed(ports, 7, session_id=f"{index:024d}", at=NOW + timedelta(minutes=index))
        await ports.bookings.move(bid, frozenset({B.RESERVING}), B.ACTIVE, NOW)
    closed = await claimed(ports, 7, session_id="9" * 24, at=NOW + timedelta(hours=1))
    await ports.bookings.move(closed, frozenset({B.RESERVING}), B.CANCELLED, NOW)
    await claimed(ports, 8)
    active = frozenset({B.ACTIVE})
    first = await ports.bookings.list_for_user(7, active, PageRequest(0, 3))
    second = await ports.bookings.list_for_user(7, active, PageRequest(1, 3))
    assert [b.session_id for b in first.items] == [f"{i:024d}" for i in (3, 2, 1)]
    assert [b.session_id for b in second.items] == [f"{0:024d}"]
    assert first.total == 4
    everything = await ports.bookings.list_for_user(7, frozenset(B), PageRequest(0, 10))
    assert everything.items[0].id == closed
    assert everything.total == 5
    assert (await ports.bookings.list_for_user(7, frozenset(), PageRequest())).total == 0


async def test_same_moment_bookings_of_a_user_are_ordered_by_id(ports: Ports) -> None:
    for session_id in ("b" * 24, "c" * 24, "a" * 24):
        await claimed(ports, 7, session_id=session_id)
    page = await ports.bookings.list_for_user(7, frozenset(B), PageRequest())
    assert [b.session_id for b in page.items] == ["a" * 24, "b" * 24, "c" * 24]


async def test_list_for_session_groups_by_status_then_queue(ports: Ports) -> None:
    await waitlisted(ports, 3, NOW + timedelta(seconds=5))
    await waitlisted(ports, 4, NOW + timedelta(seconds=1))
    active = await claimed(ports, 5)
    await ports.bookings.move(active, frozenset({B.RESERVING}), B.ACTIVE, NOW)
    await claimed(ports, 6)
    await claimed(ports, 1, session_id="t" * 24)
    listed = await ports.bookings.list_for_session(SESSION)
    assert [(b.status, b.user_id) for b in listed] == [
        (B.ACTIVE, 5),
        (B.RESERVING, 6),
        (B.WAITLISTED, 4),
        (B.WAITLISTED, 3),
    ]


async def test_expired_offers_are_found_oldest_expiry_first(ports: Ports) -> None:
    for user, minutes in ((1, 10), (2, -5), (3, 0), (4, -20)):
        bid = await claimed(ports, user)
        await ports.bookings.move(
            bid, frozenset(B), B.OFFERED, NOW, offer_expires_at=NOW + timedelta(minutes=minutes)
        )
    # An expiry in the past on a booking that is no longer an offer does not count.
    gone = await claimed(ports, 5)
    await ports.bookings.move(
        gone, frozenset(B), B.DECLINED, NOW, offer_expires_at=NOW - timedelta(hours=1)
    )
    expired = await ports.bookings.expired_offers(NOW, 10)
    assert [b.user_id for b in expired] == [4, 2, 3]
    assert [b.user_id for b in await ports.bookings.expired_offers(NOW, 2)] == [4, 2]
    assert await ports.bookings.expired_offers(NOW - timedelta(hours=1), 10) == []


async def test_attendance_and_confirmation_need_an_active_booking(ports: Ports) -> None:
    bid = await claimed(ports, 7)
    later = NOW + timedelta(hours=1)
    assert await ports.bookings.mark_attendance(bid, Attendance.ATTENDED, 99, later) is None
    assert await ports.bookings.confirm(bid, later) is None
    await ports.bookings.move(bid, frozenset({B.RESERVING}), B.ACTIVE, NOW)

    confirmed = await ports.bookings.confirm(bid, later)
    assert confirmed is not None
    assert (confirmed.confirmed_at, confirmed.updated_at) == (later, later)
    marked = await ports.bookings.mark_attendance(bid, Attendance.NO_SHOW, 99, later)
    assert marked is not None
    assert (marked.attendance, marked.attendance_by, marked.confirmed_at) == (
        Attendance.NO_SHOW,
        99,
        later,
    )
    assert await ports.bookings.get(bid) == marked
    assert await ports.bookings.confirm("missing", later) is None
    assert await ports.bookings.mark_attendance("missing", Attendance.ATTENDED, 1, later) is None


async def test_a_check_in_code_is_given_once_and_unique_in_its_session(ports: Ports) -> None:
    first = await claimed(ports, 7)
    second = await claimed(ports, 8)
    elsewhere = await claimed(ports, 7, session_id="t" * 24)
    coded = await ports.bookings.assign_checkin_code(first, "ACD347")
    assert coded is not None
    assert coded.checkin_code == "ACD347"
    assert await ports.bookings.get(first) == coded
    # It keeps its own code: a second assignment changes nothing.
    again = await ports.bookings.assign_checkin_code(first, "XYW999")
    assert again == coded
    # The same code is taken in this session, but free in another one.
    assert await ports.bookings.assign_checkin_code(second, "ACD347") is None
    still = await ports.bookings.get(second)
    assert still is not None
    assert still.checkin_code is None
    other = await ports.bookings.assign_checkin_code(elsewhere, "ACD347")
    assert other is not None
    assert other.checkin_code == "ACD347"
    assert await ports.bookings.assign_checkin_code("missing", "ACD347") is None

    found = await ports.bookings.find_by_checkin_code(SESSION, "ACD347")
    assert found is not None
    assert found.id == first
    assert await ports.bookings.find_by_checkin_code(SESSION, "XYW999") is None


async def test_a_booking_made_afresh_loses_the_old_code(ports: Ports) -> None:
    bid = await claimed(ports, 7)
    await ports.bookings.assign_checkin_code(bid, "ACD347")
    await ports.bookings.move(bid, frozenset({B.RESERVING}), B.CANCELLED, NOW)
    assert await ports.bookings.claim(bid, SESSION, 7, NOW + timedelta(hours=1)) is True
    fresh = await ports.bookings.get(bid)
    assert fresh is not None
    assert fresh.checkin_code is None
    assert await ports.bookings.find_by_checkin_code(SESSION, "ACD347") is None
    # A second booking without a code and one more with a code coexist in the session.
    other = await claimed(ports, 8)
    assert await ports.bookings.assign_checkin_code(other, "ACD347") is not None


async def test_no_shows_are_listed_by_when_they_were_marked(ports: Ports) -> None:
    marks = [
        (1, Attendance.NO_SHOW, NOW - timedelta(days=40)),
        (2, Attendance.NO_SHOW, NOW - timedelta(days=3)),
        (3, Attendance.ATTENDED, NOW - timedelta(days=2)),
        (4, Attendance.NO_SHOW, PRECISE),
    ]
    for index, attendance, at in marks:
        session_id = f"{index:024d}"
        bid = await claimed(ports, 7, session_id=session_id)
        await ports.bookings.move(bid, frozenset({B.RESERVING}), B.ACTIVE, NOW)
        marked = await ports.bookings.mark_attendance(bid, attendance, 99, at)
        assert marked is not None
        assert marked.attendance_at == (PRECISE_STORED if at is PRECISE else at)
    someone_else = await claimed(ports, 8)
    await ports.bookings.move(someone_else, frozenset({B.RESERVING}), B.ACTIVE, NOW)
    await ports.bookings.mark_attendance(someone_else, Attendance.NO_SHOW, 99, NOW)

    since = NOW - timedelta(days=30)
    assert await ports.bookings.no_shows_since(7, since) == [
        NOW - timedelta(days=3),
        PRECISE_STORED,
    ]
    assert await ports.bookings.no_shows_since(7, NOW + timedelta(days=1)) == []
    assert await ports.bookings.no_shows_since(9, since) == []
    # A correction (no-show → attended) takes it out of the count.
    corrected = booking_id(f"{2:024d}", 7)
    await ports.bookings.mark_attendance(corrected, Attendance.ATTENDED, 99, NOW)
    assert await ports.bookings.no_shows_since(7, since) == [PRECISE_STORED]
