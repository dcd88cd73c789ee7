"""What statistics and exports read: counts of applications made in a period by complex, sport
and status, who applied, applications in batches, sessions starting in a period, bookings counted
by session, status and attendance, who booked, registrations in a period, people by ids."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import Attendance, BookingStatus, booking_id
from bot.domain.users import User
from bot.services.ports.repositories import ApplicationCount, BookingCount
from tests.contract.conftest import Ports
from tests.contract.data import NOW, application, moved, session

S = ApplicationStatus
B = BookingStatus
START = NOW - timedelta(days=7)
END = NOW


async def test_applications_made_in_a_period_are_counted_by_complex_sport_and_status(
    ports: Ports,
) -> None:
    made = [
        application("a1", user_id=1, at=START),  # the first instant is in
        application("a2", user_id=2, at=START + timedelta(days=1)),
        application("a3", user_id=3, sport_code="yoga", at=START + timedelta(days=2)),
        application("a4", user_id=1, complex_code="c2", at=END - timedelta(milliseconds=1)),
        application("a5", user_id=4, at=END),  # the end is out
        application("a6", user_id=5, at=START - timedelta(seconds=1)),  # before: out
        application("a7", user_id=6, complex_code="c3", at=START + timedelta(days=1)),  # not asked
    ]
    for a in made:
        await ports.applications.insert(a)
    assert await ports.applications.replace_if_version(1, moved(made[1], S.ACCEPTED))
    counts = await ports.applications.count_created_between(frozenset({"c1", "c2"}), START, END)
    assert counts == [
        ApplicationCount("c1", "swim", S.ACCEPTED, 1),
        ApplicationCount("c1", "swim", S.PENDING, 1),
        ApplicationCount("c1", "yoga", S.PENDING, 1),
        ApplicationCount("c2", "swim", S.PENDING, 1),
    ]
    assert await ports.applications.applicants_between(
        frozenset({"c1", "c2"}), START, END
    ) == frozenset({1, 2, 3})
    assert await ports.applications.count_created_between(frozenset(), START, END) == []


async def test_applications_of_a_period_are_read_in_batches_oldest_first(ports: Ports) -> None:
    same_moment = START + timedelta(hours=1)
    for index, at in enumerate(
        [same_moment, same_moment, START + timedelta(hours=3), START, START - timedelta(days=1)]
    ):
        await ports.applications.insert(application(f"a{index}", user_id=index + 1, at=at))
    scope = frozenset({"c1"})
    first = await ports.applications.created_between(scope, START, END, limit=2)
    assert [a.id for a in first] == ["a3", "a0"]
    last = first[-1]
    rest = await ports.applications.created_between(
        scope, START, END, after=(last.created_at, last.id), limit=10
    )
    assert [a.id for a in rest] == ["a1", "a2"]  # a1 has a0's instant: after it by id
    assert rest[0].applicant_name == "Житель 2"  # whole applications, not ids
    assert len(rest[0].history) == 1
    assert (
        await ports.applications.created_between(
            scope, START, END, after=(rest[-1].created_at, rest[-1].id)
        )
        == []
    )


async def test_sessions_starting_in_a_period_at_some_complexes_by_start(ports: Ports) -> None:
    for sid, code, starts in (
        ("s2", "c1", START + timedelta(days=2)),
        ("s1", "c1", START),
        ("s3", "c2", START + timedelta(days=1)),
        ("s4", "c1", END),  # out
        ("s5", "c9", START + timedelta(days=1)),  # another complex
    ):
        await ports.sessions.insert(session(sid, complex_code=code, starts_at=starts))
    assert await ports.sessions.cancel("s2", "ремонт")
    found = await ports.sessions.starting_between(frozenset({"c1", "c2"}), START, END)
    assert [s.id for s in found] == ["s1", "s3", "s2"]
    assert found[2].cancelled  # cancelled sessions are there, marked
    assert await ports.sessions.starting_between(frozenset(), START, END) == []


async def test_bookings_are_counted_by_session_status_and_attendance(ports: Ports) -> None:
    plan = (
        ("s1", 1, B.ACTIVE, Attendance.ATTENDED),
        ("s1", 2, B.ACTIVE, Attendance.ATTENDED),
        ("s1", 3, B.ACTIVE, Attendance.NO_SHOW),
        ("s1", 4, B.ACTIVE, None),
        ("s1", 5, B.WAITLISTED, None),
        ("s2", 1, B.CANCELLED, None),
        ("s3", 6, B.ACTIVE, None),  # not asked for
    )
    for sid, user, status, attendance in plan:
        bid = booking_id(sid, user)
        assert await ports.bookings.claim(bid, sid, user, NOW)
        assert await ports.bookings.move(bid, frozenset({B.RESERVING}), status, NOW)
        if attendance is not None:
            assert await ports.bookings.mark_attendance(bid, attendance, 99, NOW)
    counts = await ports.bookings.count_for_sessions(["s1", "s2", "s1"])
    assert counts == [
        BookingCount("s1", B.ACTIVE, None, 1),
        BookingCount("s1", B.ACTIVE, Attendance.ATTENDED, 2),
        BookingCount("s1", B.ACTIVE, Attendance.NO_SHOW, 1),
        BookingCount("s1", B.WAITLISTED, None, 1),
        BookingCount("s2", B.CANCELLED, None, 1),
    ]
    assert await ports.bookings.bookers_for_sessions(["s1", "s2"]) == frozenset({1, 2, 3, 4, 5})
    listed = await ports.bookings.list_for_sessions(["s2", "s1"])
    assert [(b.session_id, b.user_id) for b in listed] == [
        ("s1", 1),
        ("s1", 2),
        ("s1", 3),
        ("s1", 4),
        ("s1", 5),
        ("s2", 1),
    ]
    assert listed[0].attendance is Attendance.ATTENDED
    assert listed[0].attendance_by == 99
    assert await ports.bookings.count_for_sessions([]) == []
    assert await ports.bookings.bookers_for_sessions([]) == frozenset()
    assert await ports.bookings.list_for_sessions([]) == []


async def test_registrations_in_a_period_and_people_by_ids(ports: Ports) -> None:
    for telegram_id, registered in (
        (1, START),
        (2, START + timedelta(days=3)),
        (3, END),  # out
        (4, None),  # never finished
        (5, START + timedelta(days=1)),  # then deleted their data
    ):
        await ports.users.save(
            User(
                telegram_id,
                f"Житель {telegram_id}",
                registered_at=registered,
                consent_at=registered,
            )
        )
    deleted = await ports.users.get(5)
    assert deleted is not None
    await ports.users.save(deleted.erased(NOW))
    assert await ports.users.count_registered_between(START, END) == 2
    assert await ports.users.count_registered_between(START, END, frozenset({2, 3, 4})) == 1
    assert await ports.users.count_registered_between(START, END, frozenset()) == 0
    found = await ports.users.get_many(frozenset({4, 2, 404}))
    assert [u.telegram_id for u in found] == [2, 4]
    assert found[0] == replace(found[0], name="Житель 2")
    assert await ports.users.get_many(frozenset()) == []


async def test_every_known_person_is_listed_by_id_up_to_the_limit(ports: Ports) -> None:
    for telegram_id in (30, 10, 20):
        await ports.users.ensure(telegram_id, "ru", NOW)
    assert [u.telegram_id for u in await ports.users.list_all(10)] == [10, 20, 30]
    assert [u.telegram_id for u in await ports.users.list_all(2)] == [10, 20]
