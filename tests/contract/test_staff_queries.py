"""What the staff screens read and write: application numbers and search, newest-first and
scoped lists and counts, the audit log filtered by actor and object, a person's booking tally,
and the outbox entries for staff (a new application) and for a blocked user."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from bot.domain.applications import Application, ApplicationStatus
from bot.domain.audit import AuditEntry
from bot.domain.bookings import Attendance, BookingStatus, booking_id
from bot.domain.paging import PageRequest
from bot.services.ports.repositories import ApplicationQuery, AuditQuery, BookingTally
from tests.contract.conftest import Ports
from tests.contract.data import NOW, application, moved

S = ApplicationStatus
B = BookingStatus


def numbered(
    app_id: str,
    number: int | None,
    *,
    minutes: int = 0,
    user_id: int = 1,
    complex_code: str = "c1",
    name: str = "Житель",
    phone: str = "+79161234567",
) -> Application:
    base = application(app_id, user_id=user_id, complex_code=complex_code)
    return replace(
        base,
        number=number,
        created_at=NOW + timedelta(minutes=minutes),
        applicant_name=name,
        applicant_phone=phone,
    )


async def test_numbers_are_drawn_once_each_even_at_the_same_moment(ports: Ports) -> None:
    assert await ports.applications.next_number() == 1
    assert await ports.applications.next_number() == 2
    drawn = await asyncio.gather(*(ports.applications.next_number() for _ in range(20)))
    assert sorted(drawn) == list(range(3, 23))


async def test_a_number_round_trips_and_an_unnumbered_application_stays_unnumbered(
    ports: Ports,
) -> None:
    await ports.applications.insert(numbered("a1", 17))
    await ports.applications.insert(numbered("a2", None, user_id=2))
    await ports.applications.insert(numbered("a3", None, user_id=3))  # two without: no clash
    first = await ports.applications.get("a1")
    assert first is not None
    assert first.number == 17
    second = await ports.applications.get("a2")
    assert second is not None
    assert second.number is None
    accepted = moved(first, S.ACCEPTED)
    assert await ports.applications.replace_if_version(first.version, accepted)
    again = await ports.applications.get("a1")
    assert again is not None
    assert (again.number, again.status) == (17, S.ACCEPTED)


async def test_search_finds_by_name_phone_number_or_complex_newest_first(ports: Ports) -> None:
    await ports.applications.insert(numbered("a1", 1, name="Анна Петрова", phone="+79160000001"))
    await ports.applications.insert(
        numbered("a2", 2, minutes=1, user_id=2, name="Пётр", phone="+79161112233")
    )
    await ports.applications.insert(
        numbered("a3", 3, minutes=2, user_id=3, complex_code="c2", name="Иван (а.*)")
    )
    await ports.applications.insert(numbered("a4", 4, minutes=3, user_id=4, name="АННА"))

    async def ids(query: ApplicationQuery, scope: frozenset[str] | None = None) -> list[str]:
        return [a.id for a in (await ports.applications.search(scope, query, PageRequest())).items]

    assert await ids(ApplicationQuery(name="анна")) == ["a4", "a1"]  # any case
    assert await ids(ApplicationQuery(name="(а.*)")) == ["a3"]  # not a pattern
    assert await ids(ApplicationQuery(phone_digits="1112233")) == ["a2"]
    assert await ids(ApplicationQuery(number=3)) == ["a3"]
    assert await ids(ApplicationQuery(complex_codes=frozenset({"c2"}))) == ["a3"]
    either = ApplicationQuery(name="пётр", number=1)
    assert await ids(either) == ["a2", "a1"]
    assert await ids(ApplicationQuery(name="анна"), frozenset({"c2"})) == []
    assert await ids(ApplicationQuery(number=3), frozenset({"c1", "c2"})) == ["a3"]
    assert await ids(ApplicationQuery()) == []  # nothing asked, nothing found
    page = await ports.applications.search(None, ApplicationQuery(name="а"), PageRequest(1, 2))
    assert (page.total, [a.id for a in page.items]) == (3, ["a1"])  # a4, a3 | a1


async def test_staff_lists_newest_first_and_counts_by_complex(ports: Ports) -> None:
    for i, code in enumerate(("c1", "c2", "c1")):
        await ports.applications.insert(
            numbered(f"a{i}", i, minutes=i, user_id=i, complex_code=code)
        )
    pending = frozenset({S.PENDING})
    newest = await ports.applications.list_for_staff(
        None, pending, PageRequest(), newest_first=True
    )
    assert [a.id for a in newest.items] == ["a2", "a1", "a0"]
    scoped = await ports.applications.list_for_staff(
        frozenset({"c1"}), pending, PageRequest(), newest_first=True
    )
    assert [a.id for a in scoped.items] == ["a2", "a0"]
    first = await ports.applications.get("a0")
    assert first is not None
    await ports.applications.replace_if_version(1, moved(first, S.REJECTED))
    assert await ports.applications.count_by_status(frozenset({"c1"})) == {
        S.PENDING: 1,
        S.REJECTED: 1,
    }
    assert await ports.applications.count_by_status(frozenset()) == {}
    assert await ports.applications.count_by_status() == {S.PENDING: 2, S.REJECTED: 1}


def entry(entry_id: str, actor: int, target_type: str, target: str, minutes: int) -> AuditEntry:
    return AuditEntry(
        entry_id,
        actor,
        f"{target_type}.change",
        target_type,
        target,
        NOW + timedelta(minutes=minutes),
        {"before": {"x": 1}, "after": {"x": 2}},
    )


async def test_the_audit_log_is_filtered_by_actor_object_and_action(ports: Ports) -> None:
    await ports.audit.record(entry("e1", 1, "user", "42", 0))
    await ports.audit.record(entry("e2", 2, "user", "42", 1))
    await ports.audit.record(entry("e3", 1, "application", "a1", 2))
    await ports.audit.record(entry("e4", 1, "user", "43", 3))

    async def ids(query: AuditQuery, page: PageRequest | None = None) -> list[str]:
        found = await ports.audit.search(query, page or PageRequest())
        return [e.id for e in found.items]

    assert await ids(AuditQuery()) == ["e4", "e3", "e2", "e1"]
    assert await ids(AuditQuery(actor_id=1)) == ["e4", "e3", "e1"]
    assert await ids(AuditQuery(target_type="user")) == ["e4", "e2", "e1"]
    assert await ids(AuditQuery(target_type="user", target_id="42")) == ["e2", "e1"]
    assert await ids(AuditQuery(actor_id=2, target_type="user", target_id="42")) == ["e2"]
    assert await ids(AuditQuery(action="application.change")) == ["e3"]
    assert await ids(AuditQuery(actor_id=3)) == []
    second = await ports.audit.search(AuditQuery(actor_id=1), PageRequest(1, 2))
    assert (second.total, [e.id for e in second.items]) == (3, ["e1"])
    (found,) = (await ports.audit.search(AuditQuery(target_id="a1"), PageRequest())).items
    assert dict(found.details) == {"before": {"x": 1}, "after": {"x": 2}}


async def test_a_person_s_bookings_are_tallied_with_attendance(ports: Ports) -> None:
    assert await ports.bookings.tally_for_user(7) == BookingTally()
    outcomes = (
        (B.ACTIVE, None),
        (B.ACTIVE, Attendance.ATTENDED),
        (B.ACTIVE, Attendance.NO_SHOW),
        (B.ACTIVE, Attendance.NO_SHOW),
        (B.WAITLISTED, None),
        (B.CANCELLED, None),
    )
    for index, (status, attendance) in enumerate(outcomes):
        bid = booking_id(f"{index:024d}", 7)
        assert await ports.bookings.claim(bid, f"{index:024d}", 7, NOW)
        assert await ports.bookings.move(bid, frozenset({B.RESERVING}), status, NOW) is not None
        if attendance is not None:
            assert await ports.bookings.mark_attendance(bid, attendance, 99, NOW) is not None
    await ports.bookings.claim(booking_id("x" * 24, 8), "x" * 24, 8, NOW)  # someone else's
    assert await ports.bookings.tally_for_user(7) == BookingTally(
        total=6, active=4, attended=1, no_shows=2
    )


async def test_staff_and_blocked_notices_are_recorded_once_each(ports: Ports) -> None:
    a = application("a" * 24, user_id=5)
    await ports.outbox.new_application_for_staff(a, 100)
    await ports.outbox.new_application_for_staff(a, 100)  # a retried update
    await ports.outbox.new_application_for_staff(a, 101)
    await ports.outbox.user_blocked(5, "e1", "спам <b>")
    await ports.outbox.user_blocked(5, "e1", "спам <b>")
    await ports.outbox.user_blocked(5, "e2", "снова")  # blocked again later: a new event
    claimed = await ports.outbox.claim(timedelta(minutes=2), 10)
    assert [(e.key, e.kind, e.user_id, dict(e.payload)) for e in claimed] == [
        (
            f"staff_new_application:{a.id}:100",
            "staff_new_application",
            100,
            {"application_id": a.id},
        ),
        (
            f"staff_new_application:{a.id}:101",
            "staff_new_application",
            101,
            {"application_id": a.id},
        ),
        ("user_blocked:5:e1", "user_blocked", 5, {"reason": "спам <b>"}),
        ("user_blocked:5:e2", "user_blocked", 5, {"reason": "снова"}),
    ]
