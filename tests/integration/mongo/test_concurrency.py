"""Invariants under concurrency, checked in the database itself.

Three service stacks with their own MongoDB clients stand in for three bot instances.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.bootstrap import Services, Storage, build_services, build_storage
from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import BookingStatus
from bot.domain.errors import OfferUnavailable, StaleAction
from bot.domain.users import Role
from tests.fakes.clock import FakeClock
from tests.integration.mongo.seed import add_catalog, add_resident, add_session, add_staff

pytestmark = pytest.mark.integration

INSTANCES = 3


@pytest.fixture
async def instances(
    mongo_url: str, mongo_db_name: str, clock: FakeClock, storage: Storage
) -> AsyncIterator[list[Services]]:
    stores = [
        build_storage(mongo_url, mongo_db_name, app_name=f"inst{i}", clock=clock)
        for i in range(INSTANCES)
    ]
    yield [build_services(s, clock) for s in stores]
    for s in stores:
        await s.close()


async def test_200_concurrent_bookings_for_10_seats(
    storage: Storage, instances: list[Services]
) -> None:
    await add_catalog(storage)
    session = await add_session(storage, capacity=10)
    users = range(1000, 1200)
    await asyncio.gather(*(add_resident(storage, u) for u in users))

    outcomes = await asyncio.gather(
        *(instances[u % INSTANCES].bookings.book(u, session.id) for u in users)
    )

    assert sum(o.booked for o in outcomes) == 10
    assert sum(o.waitlisted for o in outcomes) == 190
    statuses = await storage.bookings.count_by_status(session.id)
    assert statuses == {BookingStatus.ACTIVE: 10, BookingStatus.WAITLISTED: 190}
    stored = await storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 10
    # Positions shown at join time may repeat while joins race; the stored order is strict.
    assert all(1 <= (o.waitlist_position or 0) <= 190 for o in outcomes if o.waitlisted)
    waiting = [o.booking for o in outcomes if o.waitlisted]
    now_positions = [await storage.bookings.waitlist_position(b) for b in waiting]
    assert sorted(now_positions) == list(range(1, 191))


async def test_double_tap_gives_one_booking(storage: Storage, instances: list[Services]) -> None:
    await add_catalog(storage)
    session = await add_session(storage, capacity=10)
    await add_resident(storage, 7)

    outcomes = await asyncio.gather(
        *(instances[i % INSTANCES].bookings.book(7, session.id) for i in range(12))
    )

    assert sum(o.created for o in outcomes) == 1
    assert {o.booking.id for o in outcomes} == {f"{session.id}:7"}
    assert await storage.db.bookings.count_documents({"user_id": 7}) == 1
    stored = await storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 1


async def test_50_concurrent_applications_leave_one_active(
    storage: Storage, instances: list[Services]
) -> None:
    await add_catalog(storage)
    await add_resident(storage, 5)

    results = await asyncio.gather(
        *(instances[i % INSTANCES].applications.submit(5, "d1-c00", "swim") for i in range(50))
    )

    assert sum(r.created for r in results) == 1
    assert len({r.application.id for r in results}) == 1
    assert await storage.db.applications.count_documents({"user_id": 5}) == 1
    assert await storage.db.applications.count_documents({"user_id": 5, "active": True}) == 1


async def test_freed_seats_go_to_distinct_people_in_queue_order(
    storage: Storage, instances: list[Services], clock: FakeClock
) -> None:
    await add_catalog(storage)
    session = await add_session(storage, capacity=3)
    for u in range(1, 10):
        await add_resident(storage, u)
    for u in range(1, 10):  # one after another, so the queue order is known: 4, 5, 6, ...
        await instances[0].bookings.book(u, session.id)
        clock.advance(timedelta(seconds=1))

    cancelled = await asyncio.gather(
        *(instances[u % INSTANCES].bookings.cancel(u, f"{session.id}:{u}") for u in (1, 2, 3))
    )
    assert all(c.status is BookingStatus.CANCELLED for c in cancelled)

    offered = sorted([d["user_id"] async for d in storage.db.bookings.find({"status": "offered"})])
    assert offered == [4, 5, 6]
    stored = await storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 3 == await storage.bookings.count_seat_holders(session.id)
    outbox_offers = await storage.db.outbox.count_documents({"kind": "seat_offer"})
    assert outbox_offers == 3


async def test_offer_accept_decline_and_expiry(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    complex_ = (await add_catalog(storage))[0]
    session = await add_session(storage, capacity=1)
    for u in (1, 2, 3, 4):
        await add_resident(storage, u)
        await services.bookings.book(u, session.id)
        clock.advance(timedelta(seconds=1))

    await services.bookings.cancel(1, f"{session.id}:1")
    offer = await storage.bookings.get(f"{session.id}:2")
    assert offer is not None
    assert offer.status is BookingStatus.OFFERED
    assert offer.offer_expires_at == clock.now() + timedelta(minutes=complex_.waitlist_hold_minutes)

    with pytest.raises(OfferUnavailable):  # someone else's offer is not yours to take
        await services.bookings.accept_offer(3, f"{session.id}:3")

    await services.bookings.decline_offer(2, f"{session.id}:2")
    third = await storage.bookings.get(f"{session.id}:3")
    assert third is not None
    assert third.status is BookingStatus.OFFERED

    clock.advance(timedelta(minutes=complex_.waitlist_hold_minutes, seconds=1))
    with pytest.raises(OfferUnavailable):  # too late, even before the expiry job runs
        await services.bookings.accept_offer(3, f"{session.id}:3")
    assert await services.bookings.expire_offers() == 1
    fourth = await storage.bookings.get(f"{session.id}:4")
    assert fourth is not None
    assert fourth.status is BookingStatus.OFFERED

    accepted = await services.bookings.accept_offer(4, f"{session.id}:4")
    assert accepted.status is BookingStatus.ACTIVE
    stored = await storage.sessions.get(session.id)
    assert stored is not None
    assert stored.booked == 1 == await storage.bookings.count_seat_holders(session.id)
    reminders = await storage.db.reminders.count_documents({"booking_id": accepted.id})
    assert reminders == 2


async def test_seat_accounting_survives_a_storm(
    storage: Storage, instances: list[Services], clock: FakeClock
) -> None:
    """Books, cancels and offer answers interleaved: booked == seat holders <= capacity."""
    await add_catalog(storage)
    session = await add_session(storage, capacity=5)
    users = list(range(100, 140))
    for u in users:
        await add_resident(storage, u)

    async def churn(u: int) -> None:
        svc = instances[u % INSTANCES].bookings
        bid = f"{session.id}:{u}"
        await svc.book(u, session.id)
        for _ in range(3):
            booking = await svc.get_for_user(u, bid)
            try:
                if booking.status is BookingStatus.OFFERED:
                    await (svc.accept_offer if u % 2 else svc.decline_offer)(u, bid)
                elif (
                    booking.status in (BookingStatus.ACTIVE, BookingStatus.WAITLISTED)
                    and u % 3 == 0
                ):
                    await svc.cancel(u, bid)
                elif booking.status in (BookingStatus.CANCELLED, BookingStatus.DECLINED):
                    await svc.book(u, session.id)
            except (OfferUnavailable, StaleAction):
                pass

    await asyncio.gather(*(churn(u) for u in users))

    stored = await storage.sessions.get(session.id)
    assert stored is not None
    holders = await storage.bookings.count_seat_holders(session.id)
    assert stored.booked == holders
    assert holders <= 5
    counts = await storage.bookings.count_by_status(session.id)
    if counts.get(BookingStatus.WAITLISTED):
        assert holders == 5  # nobody waits while a seat is free


async def test_concurrent_staff_decisions_apply_once(
    storage: Storage, instances: list[Services]
) -> None:
    await add_catalog(storage)
    await add_resident(storage, 5)
    await add_staff(storage, 900, Role.ADMIN)
    submitted = await instances[0].applications.submit(5, "d1-c00", "swim")
    app_id = submitted.application.id

    targets = [ApplicationStatus.ACCEPTED, ApplicationStatus.REJECTED] * 5
    results = await asyncio.gather(
        *(
            instances[i % INSTANCES].applications.staff_transition(
                900, app_id, target, expected_status=ApplicationStatus.PENDING
            )
            for i, target in enumerate(targets)
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, StaleAction) for r in results if isinstance(r, BaseException))
    stored = await storage.applications.get(app_id)
    assert stored is not None
    assert stored.status is winners[0].status  # type: ignore[union-attr]
    assert len(stored.history) == 2
    assert await storage.db.outbox.count_documents({"kind": "application_status"}) == 1
    assert Counter([d["action"] async for d in storage.db.audit_log.find()]) == Counter(
        {f"application.{stored.status.value}": 1}
    )
