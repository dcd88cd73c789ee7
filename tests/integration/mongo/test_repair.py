"""The repair task's service on a real SecantusDB: a cancel cut after its move (the seat leaked,
the reminders left pending), a reservation never finished, staff never told of an application —
one run fixes each, reports it, audits it as the system and counts it in ``fok_repairs_total``;
the next run finds nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from bot.bootstrap import Services, Storage
from bot.domain.applications import new_application
from bot.domain.bookings import BookingStatus, booking_id
from bot.domain.paging import PageRequest
from bot.domain.reminders import ReminderStatus
from bot.domain.users import Role
from bot.services.ports.repositories import AuditQuery
from bot.services.repair import QUIET
from tests.fakes.clock import FakeClock
from tests.integration.mongo.seed import add_catalog, add_resident, add_session, add_staff
from workers.metrics import record_repair

pytestmark = pytest.mark.integration
B = BookingStatus


def repairs_counted(kind: str) -> float:
    return REGISTRY.get_sample_value("fok_repairs_total", {"kind": kind}) or 0.0


async def test_one_run_fixes_what_cut_off_writes_left_and_the_next_finds_nothing(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await add_catalog(storage)
    admin = await add_staff(storage, 900, Role.ADMIN)
    full = await add_session(storage, capacity=1, session_id="f" * 24)
    other = await add_session(storage, capacity=3, session_id="o" * 24)
    vera, gleb, dina = [await add_resident(storage, n) for n in (1, 2, 3)]
    await services.bookings.book(vera.telegram_id, full.id)
    clock.advance(timedelta(seconds=1))
    await services.bookings.book(gleb.telegram_id, full.id)
    # Вера's cancel, cut right after its move: the seat is counted, nobody holds it.
    vera_booking = booking_id(full.id, vera.telegram_id)
    await storage.bookings.move(vera_booking, frozenset({B.ACTIVE}), B.CANCELLED, clock.now())
    # Дина's booking, cut after its seat: a reservation never finished.
    dina_booking = booking_id(other.id, dina.telegram_id)
    assert await storage.bookings.claim(dina_booking, other.id, dina.telegram_id, clock.now())
    assert await storage.sessions.take_seat(other.id)
    # An application whose submit was cut before staff were told.
    application = new_application(
        application_id="a" * 24,
        user_id=gleb.telegram_id,
        complex_code="d1-c00",
        sport_code="swim",
        at=clock.now(),
        comment=None,
        applicant_name=gleb.name,
        applicant_phone=gleb.phone,
        number=await storage.applications.next_number(),
    )
    await storage.applications.insert(application)
    before = {k: repairs_counted(k) for k in ("leaked_seats_offered", "stale_reservations")}

    clock.advance(QUIET + timedelta(seconds=1))
    report = await services.repair.run()
    assert {k: n for k, n in report.counts().items() if n} == {
        "leaked_seats_offered": 1,
        "stale_reservations": 1,
        "seat_counts": 1,
        "closed_booking_reminders": 2,
        "staff_notices": 1,
    }
    assert report.sessions == 2
    record_repair(report)
    assert repairs_counted("leaked_seats_offered") == before["leaked_seats_offered"] + 1
    assert repairs_counted("stale_reservations") == before["stale_reservations"] + 1

    offered = await storage.bookings.get(booking_id(full.id, gleb.telegram_id))
    assert offered is not None
    assert offered.status is B.OFFERED
    stored_full, stored_other = (
        await storage.sessions.get(full.id),
        await storage.sessions.get(other.id),
    )
    assert stored_full is not None
    assert stored_other is not None
    assert (stored_full.booked, await storage.bookings.count_seat_holders(full.id)) == (1, 1)
    assert (stored_other.booked, await storage.bookings.count_seat_holders(other.id)) == (0, 0)
    dropped = await storage.bookings.get(dina_booking)
    assert dropped is not None
    assert dropped.status is B.CANCELLED
    reminders = await storage.reminders.for_bookings([vera_booking])
    assert {r.status for r in reminders} == {ReminderStatus.CANCELLED}
    outbox = storage.db.outbox.find({}, {"kind": 1, "user_id": 1})
    kinds = sorted([(d["kind"], d["user_id"]) async for d in outbox])
    assert kinds == [("seat_offer", gleb.telegram_id), ("staff_new_application", admin.telegram_id)]
    audit = await storage.audit.search(AuditQuery(action="repair.run"), PageRequest())
    assert audit.total == 1
    assert audit.items[0].actor_id == 0

    clock.advance(QUIET)
    again = await services.repair.run()
    assert again.total == 0
    assert await storage.db.outbox.count_documents({}) == 2
    assert (await storage.audit.search(AuditQuery(action="repair.run"), PageRequest())).total == 1
