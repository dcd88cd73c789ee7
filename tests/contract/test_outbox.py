"""The outbox: ``Notifier`` records what happened once per event, ``Outbox`` hands entries out
one by one with a lease (renewed while a send goes on), then closes them sent, skipped, stale or
parked, or puts them back for a later attempt."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import Booking, BookingStatus
from bot.services.ports.system import OutboxEntry, OutboxStats, OutboxStatus
from tests.contract.conftest import Ports
from tests.contract.data import NOW, application, moved, session

LEASE = timedelta(minutes=2)


def offer(user_id: int, expires_minutes: int | None = 30) -> Booking:
    expiry = NOW + timedelta(minutes=expires_minutes) if expires_minutes is not None else None
    return Booking(
        id=f"{'s' * 24}:{user_id}",
        session_id="s" * 24,
        user_id=user_id,
        status=BookingStatus.OFFERED,
        created_at=NOW,
        updated_at=NOW,
        queued_at=NOW,
        offer_expires_at=expiry,
    )


async def test_a_status_change_is_recorded_once_per_version(ports: Ports) -> None:
    a = application("a" * 24, user_id=5)
    accepted = moved(a, ApplicationStatus.ACCEPTED)
    await ports.outbox.application_status_changed(accepted)
    await ports.outbox.application_status_changed(accepted)  # a retried update
    await ports.outbox.application_status_changed(moved(accepted, ApplicationStatus.TRANSFERRED))
    claimed = await ports.outbox.claim(LEASE, 10)
    assert claimed == [
        OutboxEntry(
            key=f"application:{a.id}:v2",
            kind="application_status",
            user_id=5,
            payload={"application_id": a.id, "status": "accepted"},
            attempts=0,
            created_at=NOW,
        ),
        OutboxEntry(
            key=f"application:{a.id}:v3",
            kind="application_status",
            user_id=5,
            payload={"application_id": a.id, "status": "transferred"},
            attempts=0,
            created_at=NOW,
        ),
    ]


async def test_a_seat_offer_is_recorded_once_per_expiry(ports: Ports) -> None:
    s = session("s" * 24)
    await ports.outbox.seat_offered(offer(7), s)
    await ports.outbox.seat_offered(offer(7), s)
    await ports.outbox.seat_offered(offer(7, 60), s)  # offered again later: a new event
    await ports.outbox.seat_offered(offer(8, None), s)
    claimed = await ports.outbox.claim(LEASE, 10)
    assert [e.key for e in claimed] == [
        f"offer:{'s' * 24}:7:2026-11-23T09:30:00+00:00",
        f"offer:{'s' * 24}:7:2026-11-23T10:00:00+00:00",
        f"offer:{'s' * 24}:8:",
    ]
    assert claimed[0].kind == "seat_offer"
    assert claimed[0].payload == {"booking_id": f"{'s' * 24}:7", "session_id": "s" * 24}


async def test_a_cancelled_session_is_recorded_once_per_booking(ports: Ports) -> None:
    s = session("s" * 24)
    closed = [
        Booking(
            id=f"{'s' * 24}:{user}",
            session_id=s.id,
            user_id=user,
            status=BookingStatus.CANCELLED,
            created_at=NOW,
            updated_at=NOW,
        )
        for user in (7, 8)
    ]
    for booking in (*closed, closed[0]):  # the first one twice: a retried cancellation
        await ports.outbox.session_cancelled(booking, s)
        ports.clock.advance(timedelta(seconds=1))
    claimed = await ports.outbox.claim(LEASE, 10)
    assert [(e.key, e.kind, e.user_id, dict(e.payload)) for e in claimed] == [
        (
            f"session_cancelled:{'s' * 24}:{user}",
            "session_cancelled",
            user,
            {"booking_id": f"{'s' * 24}:{user}", "session_id": "s" * 24},
        )
        for user in (7, 8)
    ]


async def test_entries_are_handed_out_oldest_first_up_to_the_limit(ports: Ports) -> None:
    for user in (3, 1, 2):
        await ports.outbox.application_status_changed(
            moved(application(f"{user:024d}", user_id=user), ApplicationStatus.ACCEPTED)
        )
        ports.clock.advance(timedelta(seconds=1))
    first = await ports.outbox.claim(LEASE, 2)
    rest = await ports.outbox.claim(LEASE, 10)
    assert [e.user_id for e in first] == [3, 1]
    assert [e.user_id for e in rest] == [2]
    assert await ports.outbox.claim(LEASE, 10) == []


async def test_a_lapsed_lease_hands_an_entry_out_again(ports: Ports) -> None:
    await ports.outbox.seat_offered(offer(7), session("s" * 24))
    (first,) = await ports.outbox.claim(LEASE, 10)
    ports.clock.advance(LEASE)
    assert await ports.outbox.claim(LEASE, 10) == []  # the lease still holds at its end
    ports.clock.advance(timedelta(seconds=1))
    (again,) = await ports.outbox.claim(LEASE, 10)
    assert again == first


async def test_done_is_final(ports: Ports) -> None:
    await ports.outbox.seat_offered(offer(1), session("s" * 24))
    (one,) = await ports.outbox.claim(LEASE, 10)
    await ports.outbox.done(one.key)
    ports.clock.advance(timedelta(days=1))
    assert await ports.outbox.claim(LEASE, 10) == []
    await ports.outbox.done("missing")  # unknown keys are ignored
    await ports.outbox.retry_later("missing", at=NOW, error="x", failure=True)
    await ports.outbox.park("missing", error="x")
    assert await ports.outbox.claim(LEASE, 10) == []


async def test_a_retried_entry_waits_until_its_next_attempt(ports: Ports) -> None:
    s = session("s" * 24)
    await ports.outbox.seat_offered(offer(1), s)
    await ports.outbox.seat_offered(offer(2), s)
    one, two = await ports.outbox.claim(LEASE, 10)
    await ports.outbox.retry_later(
        one.key, at=NOW + timedelta(minutes=1), error="Bad Gateway", failure=False
    )
    await ports.outbox.retry_later(
        two.key, at=NOW + timedelta(minutes=2), error="Bad Request: chat not found", failure=True
    )
    ports.clock.advance(timedelta(seconds=59))
    assert await ports.outbox.claim(LEASE, 10) == []  # neither is due yet
    ports.clock.advance(timedelta(seconds=1))
    (first,) = await ports.outbox.claim(LEASE, 10)
    assert (first.key, first.attempts, first.failures) == (one.key, 1, 0)
    ports.clock.advance(timedelta(minutes=1))
    (second,) = await ports.outbox.claim(LEASE, 10)
    assert (second.key, second.attempts, second.failures) == (two.key, 1, 1)


async def test_a_renewed_claim_is_not_handed_out_again(ports: Ports) -> None:
    await ports.outbox.seat_offered(offer(7), session("s" * 24))
    (first,) = await ports.outbox.claim(LEASE, 10)
    ports.clock.advance(LEASE - timedelta(seconds=10))
    await ports.outbox.renew(first.key, LEASE)  # the send is still going
    ports.clock.advance(timedelta(seconds=30))
    assert await ports.outbox.claim(LEASE, 10) == []  # past the first lease, within the renewed
    ports.clock.advance(LEASE)
    (again,) = await ports.outbox.claim(LEASE, 10)
    assert again.key == first.key


async def test_closed_and_parked_entries_are_never_handed_out_and_parked_ones_counted(
    ports: Ports,
) -> None:
    s = session("s" * 24)
    for user in (1, 2, 3, 4):
        await ports.outbox.seat_offered(offer(user), s)
        ports.clock.advance(timedelta(seconds=1))
    assert await ports.outbox.stats() == OutboxStats(4, NOW, 0)
    skipped, stale, parked, waiting = await ports.outbox.claim(LEASE, 10)
    await ports.outbox.close(skipped.key, status=OutboxStatus.SKIPPED, reason="offer gone")
    await ports.outbox.close(stale.key, status=OutboxStatus.STALE, reason="expired")
    await ports.outbox.park(parked.key, error="Bad Request: can't parse entities")
    assert await ports.outbox.stats() == OutboxStats(1, NOW + timedelta(seconds=3), 1)
    await ports.outbox.retry_later(waiting.key, at=NOW, error="Bad Gateway", failure=False)
    ports.clock.advance(timedelta(days=1))
    (again,) = await ports.outbox.claim(LEASE, 10)
    assert again.key == waiting.key
    await ports.outbox.done(again.key)
    assert await ports.outbox.stats() == OutboxStats(0, None, 1)


async def test_an_entry_is_closed_unsent_only_as_skipped_or_stale(ports: Ports) -> None:
    await ports.outbox.seat_offered(offer(1), session("s" * 24))
    (one,) = await ports.outbox.claim(LEASE, 10)
    with pytest.raises(ValueError, match="skipped or stale"):
        await ports.outbox.close(one.key, status=OutboxStatus.SENT, reason="?")


async def test_concurrent_deliverers_never_get_the_same_entry(ports: Ports) -> None:
    s = session("s" * 24)
    for user in range(1, 11):
        await ports.outbox.seat_offered(offer(user), s)
    batches = await asyncio.gather(*(ports.outbox.claim(LEASE, 3) for _ in range(5)))
    keys = [e.key for batch in batches for e in batch]
    assert len(keys) == 10
    assert len(set(keys)) == 10


async def test_each_write_answers_whether_it_recorded_the_notice_now(ports: Ports) -> None:
    a = moved(application("a" * 24, user_id=5), ApplicationStatus.ACCEPTED)
    o = offer(7)
    s = session("s" * 24)
    assert await ports.outbox.application_status_changed(a)
    assert not await ports.outbox.application_status_changed(a)
    assert await ports.outbox.seat_offered(o, s)
    assert not await ports.outbox.seat_offered(o, s)
    assert await ports.outbox.session_cancelled(o, s)
    assert not await ports.outbox.session_cancelled(o, s)
    assert await ports.outbox.new_application_for_staff(a, 9)
    assert not await ports.outbox.new_application_for_staff(a, 9)
    assert await ports.outbox.new_application_for_staff(a, 10)  # another staff member
    assert await ports.outbox.user_blocked(5, "e1", "spam")
    assert not await ports.outbox.user_blocked(5, "e1", "spam")
    assert (await ports.outbox.stats()).backlog == 6
