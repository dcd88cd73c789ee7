"""Multi-step writes cut off midway (a fake store or the outbox failing between two steps, as a
process killed there would leave them), then finished by the redelivered update or by the repair
(``RepairService``, the periodic ``fok.repair``): the end state is checked — seats, the waitlist's
offer and its notice in the outbox, reminders, audit — and that nothing is there twice."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import BookingStatus, booking_id
from bot.domain.errors import StaleAction
from bot.domain.paging import PageRequest
from bot.domain.reminders import ReminderStatus
from bot.domain.sessions import Session
from bot.domain.users import Role
from bot.services.ports.repositories import AuditQuery
from bot.services.repair import QUIET, RepairKind
from tests.handlers.harness import OLIMP, BotHarness, Person
from tests.handlers.staff.conftest import make_staff

B = BookingStatus


class Cut(Exception):
    """Where the process died."""


@contextmanager
def cut_at(target: object, method: str) -> Iterator[None]:
    """The next call of ``target.method`` fails (once), as if the process died right there."""
    original = getattr(target, method)

    async def dead(*args: Any, **kwargs: Any) -> Any:
        setattr(target, method, original)
        raise Cut(method)

    setattr(target, method, dead)
    try:
        yield
    finally:
        setattr(target, method, original)


async def repair_later(harness: BotHarness) -> dict[str, int]:
    """The repair, run once the cut-off step can no longer be in flight."""
    harness.clock.advance(QUIET + timedelta(seconds=1))
    return (await harness.services.repair.run()).counts()


def fixed(counts: dict[str, int]) -> dict[str, int]:
    return {kind: n for kind, n in counts.items() if n}


async def status(harness: BotHarness, session: Session, person: Person) -> B:
    booking = await harness.storage.bookings.get(booking_id(session.id, person.id))
    assert booking is not None
    return booking.status


async def seats(harness: BotHarness, session: Session) -> tuple[int, int]:
    """The session's ``booked`` and the number of bookings holding a seat."""
    stored = await harness.storage.sessions.get(session.id)
    assert stored is not None
    return stored.booked, await harness.storage.bookings.count_seat_holders(session.id)


def outbox_keys(harness: BotHarness, kind: str) -> list[str]:
    return [n.key for n in harness.storage.outbox.entries() if n.kind == kind]


async def full_session_with_queue(
    harness: BotHarness,
) -> tuple[Session, Person, Person, Person]:
    """One seat, Вера in it, Глеб then Дина waiting."""
    session = await harness.add_session(capacity=1)
    vera, gleb, dina = [await harness.resident(n) for n in ("Вера", "Глеб", "Дина")]
    for person in (vera, gleb, dina):
        await harness.services.bookings.book(person.id, session.id)
        harness.clock.advance(timedelta(seconds=1))
    return session, vera, gleb, dina


async def test_a_cancel_cut_after_the_move_answers_alike_and_the_repair_hands_the_seat_on(
    harness: BotHarness,
) -> None:
    session, vera, gleb, dina = await full_session_with_queue(harness)
    bid = booking_id(session.id, vera.id)
    with cut_at(harness.storage.reminders, "cancel_for_booking"), pytest.raises(Cut):
        await harness.services.bookings.cancel(vera.id, bid)
    assert await status(harness, session, vera) is B.CANCELLED
    assert await seats(harness, session) == (1, 0)  # the seat leaked: counted, held by nobody

    again = await harness.services.bookings.cancel(vera.id, bid)  # Telegram delivers it again
    assert again.status is B.CANCELLED
    reminders = [r for r in harness.storage.reminders.all() if r.booking_id == bid]
    assert reminders
    assert {r.status for r in reminders} == {ReminderStatus.CANCELLED}

    counts = await repair_later(harness)
    assert fixed(counts) == {RepairKind.LEAKED_SEATS_OFFERED.value: 1}
    assert await status(harness, session, gleb) is B.OFFERED  # the head of the queue
    assert await status(harness, session, dina) is B.WAITLISTED
    assert await seats(harness, session) == (1, 1)
    assert len(outbox_keys(harness, "seat_offer")) == 1
    assert fixed(await repair_later(harness)) == {}  # nothing left, nothing twice
    assert len(outbox_keys(harness, "seat_offer")) == 1


async def test_a_seat_freed_while_the_session_is_busy_is_left_to_a_later_run(
    harness: BotHarness,
) -> None:
    session, vera, gleb, _ = await full_session_with_queue(harness)
    with cut_at(harness.storage.reminders, "cancel_for_booking"), pytest.raises(Cut):
        await harness.services.bookings.cancel(vera.id, booking_id(session.id, vera.id))
    report = await harness.services.repair.run()  # right away: the cancel may be in flight
    assert report.total == 0
    assert await seats(harness, session) == (1, 0)
    assert await status(harness, session, gleb) is B.WAITLISTED


async def test_an_offer_cut_before_its_notice_is_told_by_the_redelivered_cancel(
    harness: BotHarness,
) -> None:
    session, vera, gleb, _ = await full_session_with_queue(harness)
    bid = booking_id(session.id, vera.id)
    with cut_at(harness.storage.outbox, "seat_offered"), pytest.raises(Cut):
        await harness.services.bookings.cancel(vera.id, bid)
    assert await status(harness, session, gleb) is B.OFFERED
    assert outbox_keys(harness, "seat_offer") == []  # offered, untold

    await harness.services.bookings.cancel(vera.id, bid)
    assert len(outbox_keys(harness, "seat_offer")) == 1
    assert await seats(harness, session) == (1, 1)
    assert fixed(await repair_later(harness)) == {}
    assert len(outbox_keys(harness, "seat_offer")) == 1
    report = await harness.deliver_notices()
    assert report.sent == 1  # Глеб hears of it


async def test_an_offer_nobody_told_is_told_by_the_repair(harness: BotHarness) -> None:
    session, vera, gleb, _ = await full_session_with_queue(harness)
    with cut_at(harness.storage.outbox, "seat_offered"), pytest.raises(Cut):
        await harness.services.bookings.cancel(vera.id, booking_id(session.id, vera.id))
    assert fixed(await repair_later(harness)) == {RepairKind.OFFER_NOTICES.value: 1}
    assert len(outbox_keys(harness, "seat_offer")) == 1
    assert await status(harness, session, gleb) is B.OFFERED
    assert fixed(await repair_later(harness)) == {}


async def test_a_booking_cut_before_its_reminders_gets_them_from_the_redelivery(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(capacity=3)
    vera = await harness.resident("Вера")
    with cut_at(harness.storage.reminders, "insert_missing"), pytest.raises(Cut):
        await harness.services.bookings.book(vera.id, session.id)
    assert harness.storage.reminders.all() == []
    again = await harness.services.bookings.book(vera.id, session.id)
    assert again.booked
    assert not again.created
    assert again.booking.checkin_code is not None
    assert len(harness.storage.reminders.all()) == 2
    assert await seats(harness, session) == (1, 1)


async def test_reminders_an_active_booking_lacks_are_planned_by_the_repair(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(capacity=3)
    vera = await harness.resident("Вера")
    with cut_at(harness.storage.reminders, "insert_missing"), pytest.raises(Cut):
        await harness.services.bookings.book(vera.id, session.id)
    assert fixed(await repair_later(harness)) == {RepairKind.MISSING_REMINDERS.value: 2}
    assert {r.status for r in harness.storage.reminders.all()} == {ReminderStatus.PENDING}
    assert fixed(await repair_later(harness)) == {}
    assert len(harness.storage.reminders.all()) == 2


async def test_reminders_of_a_closed_booking_are_cancelled_by_the_repair(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(capacity=3)
    vera = await harness.resident("Вера")
    await harness.services.bookings.book(vera.id, session.id)
    bid = booking_id(session.id, vera.id)
    with cut_at(harness.storage.reminders, "cancel_for_booking"), pytest.raises(Cut):
        await harness.services.bookings.cancel(vera.id, bid)
    counts = fixed(await repair_later(harness))
    assert counts == {
        RepairKind.CLOSED_BOOKING_REMINDERS.value: 2,
        RepairKind.SEAT_COUNTS.value: 1,  # nobody waited for the seat: given back
    }
    assert {r.status for r in harness.storage.reminders.all()} == {ReminderStatus.CANCELLED}
    assert await seats(harness, session) == (0, 0)


async def test_a_reservation_cut_after_its_seat_is_dropped_and_the_seat_recounted(
    harness: BotHarness,
) -> None:
    session = await harness.add_session(capacity=1)
    vera, gleb = await harness.resident("Вера"), await harness.resident("Глеб")
    with cut_at(harness.storage.bookings, "move"), pytest.raises(Cut):
        await harness.services.bookings.book(vera.id, session.id)
    assert await status(harness, session, vera) is B.RESERVING
    assert await seats(harness, session) == (1, 1)
    assert fixed(await repair_later(harness)) == {
        RepairKind.STALE_RESERVATIONS.value: 1,
        RepairKind.SEAT_COUNTS.value: 1,
    }
    assert await status(harness, session, vera) is B.CANCELLED
    assert await seats(harness, session) == (0, 0)
    booked = await harness.services.bookings.book(gleb.id, session.id)
    assert booked.booked  # the seat is free again for anyone


async def test_a_free_seat_with_people_waiting_goes_to_the_head_of_the_queue(
    harness: BotHarness,
) -> None:
    session, vera, gleb, dina = await full_session_with_queue(harness)
    # A release that was cut off before it looked at the waitlist again: the seat is free.
    await harness.storage.bookings.move(
        booking_id(session.id, vera.id), frozenset({B.ACTIVE}), B.CANCELLED, harness.clock.now()
    )
    await harness.storage.reminders.cancel_for_booking(booking_id(session.id, vera.id))
    await harness.storage.sessions.release_seat(session.id)
    assert fixed(await repair_later(harness)) == {RepairKind.FREE_SEATS_OFFERED.value: 1}
    assert await status(harness, session, gleb) is B.OFFERED
    assert await status(harness, session, dina) is B.WAITLISTED
    assert await seats(harness, session) == (1, 1)
    assert len(outbox_keys(harness, "seat_offer")) == 1


async def test_a_session_cancel_cut_midway_is_finished_by_its_redelivery_once(
    harness: BotHarness,
) -> None:
    session, vera, gleb, dina = await full_session_with_queue(harness)
    staff = await make_staff(harness, "Админ", Role.ADMIN)
    with cut_at(harness.storage.reminders, "cancel_for_booking"), pytest.raises(Cut):
        await harness.services.bookings.cancel_session(staff.id, session.id, "Ремонт")
    # Cut after the first booking was told and closed: the others are still open, untold.
    assert len(outbox_keys(harness, "session_cancelled")) == 1

    closed = await harness.services.bookings.cancel_session(staff.id, session.id, "Ремонт")
    assert closed.session.cancelled
    assert {await status(harness, session, p) for p in (vera, gleb, dina)} == {B.CANCELLED}
    assert len(outbox_keys(harness, "session_cancelled")) == 3
    audit = await harness.storage.audit.search(
        AuditQuery(target_id=session.id, action="session.cancel"), PageRequest()
    )
    assert audit.total == 1
    again = await harness.services.bookings.cancel_session(staff.id, session.id, "Ремонт")
    assert again.notified == 0  # delivered once more: nothing twice
    assert len(outbox_keys(harness, "session_cancelled")) == 3
    other = await make_staff(harness, "Другой", Role.ADMIN)
    with pytest.raises(StaleAction):
        await harness.services.bookings.cancel_session(other.id, session.id, "Ремонт")
    assert (await harness.deliver_notices()).sent == 3  # one each (the first one too)
    assert await seats(harness, session) == (0, 0)


async def test_bookings_left_open_on_a_cancelled_session_are_closed_by_the_repair(
    harness: BotHarness,
) -> None:
    session, vera, gleb, dina = await full_session_with_queue(harness)
    staff = await make_staff(harness, "Админ", Role.ADMIN)
    with cut_at(harness.storage.reminders, "cancel_for_booking"), pytest.raises(Cut):
        await harness.services.bookings.cancel_session(staff.id, session.id, "Ремонт")
    counts = fixed(await repair_later(harness))
    assert counts == {
        RepairKind.CANCELLED_SESSION_BOOKINGS.value: 2,
        RepairKind.CLOSED_BOOKING_REMINDERS.value: 2,  # Вера's, cut before they were closed
        RepairKind.SEAT_COUNTS.value: 1,
    }
    assert {await status(harness, session, p) for p in (vera, gleb, dina)} == {B.CANCELLED}
    assert len(outbox_keys(harness, "session_cancelled")) == 3
    assert await seats(harness, session) == (0, 0)
    assert fixed(await repair_later(harness)) == {}


async def test_a_submit_cut_before_staff_were_told_is_told_by_its_redelivery(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Админ", Role.ADMIN)
    manager = await make_staff(harness, "Менеджер", Role.MANAGER, frozenset({OLIMP}))
    vera = await harness.resident("Вера")
    with cut_at(harness.storage.outbox, "new_application_for_staff"), pytest.raises(Cut):
        await harness.services.applications.submit(vera.id, OLIMP, "yoga")
    assert outbox_keys(harness, "staff_new_application") == []
    again = await harness.services.applications.submit(vera.id, OLIMP, "yoga")
    assert not again.created
    told = sorted(n.user_id for n in harness.storage.outbox.entries())
    assert told == sorted([admin.id, manager.id])
    await harness.services.applications.submit(vera.id, OLIMP, "yoga")
    assert len(outbox_keys(harness, "staff_new_application")) == 2
    assert fixed(await repair_later(harness)) == {}


async def test_staff_not_told_of_a_new_application_are_told_by_the_repair(
    harness: BotHarness,
) -> None:
    await make_staff(harness, "Админ", Role.ADMIN)
    vera = await harness.resident("Вера")
    with cut_at(harness.storage.outbox, "new_application_for_staff"), pytest.raises(Cut):
        await harness.services.applications.submit(vera.id, OLIMP, "yoga")
    assert fixed(await repair_later(harness)) == {RepairKind.STAFF_NOTICES.value: 1}
    assert len(outbox_keys(harness, "staff_new_application")) == 1
    assert fixed(await repair_later(harness)) == {}


async def test_a_decision_cut_after_its_write_is_finished_by_its_redelivery(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Админ", Role.ADMIN)
    vera = await harness.resident("Вера")
    submitted = await harness.services.applications.submit(vera.id, OLIMP, "yoga")
    app = submitted.application
    with cut_at(harness.storage.outbox, "application_status_changed"), pytest.raises(Cut):
        await harness.services.applications.staff_decide(
            admin.id, app.id, ApplicationStatus.ACCEPTED, expected_version=app.version
        )
    stored = await harness.storage.applications.get(app.id)
    assert stored is not None
    assert stored.status is ApplicationStatus.ACCEPTED
    audit_query = AuditQuery(target_id=app.id, action="application.accepted")
    assert (await harness.storage.audit.search(audit_query, PageRequest())).total == 0

    card = await harness.services.applications.staff_decide(
        admin.id, app.id, ApplicationStatus.ACCEPTED, expected_version=app.version
    )
    assert card.application.status is ApplicationStatus.ACCEPTED
    assert outbox_keys(harness, "application_status") == [f"application:{app.id}:v2"]
    assert (await harness.storage.audit.search(audit_query, PageRequest())).total == 1
    await harness.services.applications.staff_decide(
        admin.id, app.id, ApplicationStatus.ACCEPTED, expected_version=app.version
    )
    assert (await harness.storage.audit.search(audit_query, PageRequest())).total == 1
    assert len(outbox_keys(harness, "application_status")) == 1


async def test_an_applicant_not_told_of_a_decision_is_told_by_the_repair_and_it_is_audited(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Админ", Role.ADMIN)
    vera = await harness.resident("Вера")
    app = (await harness.services.applications.submit(vera.id, OLIMP, "yoga")).application
    with cut_at(harness.storage.outbox, "application_status_changed"), pytest.raises(Cut):
        await harness.services.applications.staff_decide(
            admin.id, app.id, ApplicationStatus.REJECTED, expected_version=app.version
        )
    assert fixed(await repair_later(harness)) == {RepairKind.STATUS_NOTICES.value: 1}
    assert outbox_keys(harness, "application_status") == [f"application:{app.id}:v2"]
    runs = await harness.storage.audit.search(AuditQuery(action="repair.run"), PageRequest())
    assert runs.total == 1  # the run that fixed something, as the system (actor 0)
    entry = runs.items[0]
    assert entry.actor_id == 0
    assert entry.details["fixed"] == {RepairKind.STATUS_NOTICES.value: 1}
    assert fixed(await repair_later(harness)) == {}
    quiet = await harness.storage.audit.search(AuditQuery(action="repair.run"), PageRequest())
    assert quiet.total == 1  # a run that fixed nothing is not audited


async def test_an_applicants_own_cancel_delivered_again_answers_alike(
    harness: BotHarness,
) -> None:
    vera = await harness.resident("Вера")
    app = (await harness.services.applications.submit(vera.id, OLIMP, "yoga")).application
    cancelled = await harness.services.applications.cancel(vera.id, app.id)
    again = await harness.services.applications.cancel(vera.id, app.id)
    assert again == cancelled
    assert again.version == 2


@pytest.mark.parametrize(("store", "method"), [("audit", "record"), ("outbox", "user_blocked")])
async def test_a_block_cut_after_its_write_is_finished_by_its_redelivery_once(
    harness: BotHarness, store: str, method: str
) -> None:
    admin = await make_staff(harness, "Админ", Role.ADMIN)
    vera = await harness.resident("Вера")
    with cut_at(getattr(harness.storage, store), method), pytest.raises(Cut):
        await harness.services.users.set_blocked(admin.id, vera.id, True, "спам")
    stored = await harness.storage.users.get(vera.id)
    assert stored is not None
    assert stored.blocked
    for _ in range(2):  # delivered again, and once more
        await harness.services.users.set_blocked(admin.id, vera.id, True, "спам")
    blocks = await harness.storage.audit.search(
        AuditQuery(target_id=str(vera.id), action="user.block"), PageRequest()
    )
    assert blocks.total == 1
    notices = [n for n in harness.storage.outbox.entries() if n.kind == "user_blocked"]
    assert [(n.key, n.payload["reason"]) for n in notices] == [
        (f"user_blocked:{vera.id}:{blocks.items[0].id}", "спам")
    ]


async def test_blocking_again_after_an_unblock_is_a_new_block_told_anew(
    harness: BotHarness,
) -> None:
    admin = await make_staff(harness, "Админ", Role.ADMIN)
    vera = await harness.resident("Вера")
    await harness.services.users.set_blocked(admin.id, vera.id, True, "спам")
    harness.clock.advance(timedelta(minutes=1))
    await harness.services.users.set_blocked(admin.id, vera.id, False)
    harness.clock.advance(timedelta(minutes=1))
    with cut_at(harness.storage.audit, "record"), pytest.raises(Cut):
        await harness.services.users.set_blocked(admin.id, vera.id, True, "снова")
    await harness.services.users.set_blocked(admin.id, vera.id, True, "снова")
    reasons = [n.payload["reason"] for n in harness.storage.outbox.entries()]
    assert reasons == ["спам", "снова"]
