"""ReminderRepository: idempotent planning, claims one by one with a lease (renewed while a send
goes on), sent, retried later, parked, closed unsent or cancelled.

The port has no read method: everything is observed through what ``claim_due`` hands out, which is
also the only thing the workers see."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain.reminders import Reminder, ReminderKind, ReminderStatus
from tests.contract.conftest import Ports
from tests.contract.data import NOW, PRECISE, PRECISE_STORED, reminder

LEASE = timedelta(minutes=5)
K = ReminderKind
R = ReminderStatus
A = "a" * 24 + ":1"
C = "c" * 24 + ":3"
D = "d" * 24 + ":4"
E = "e" * 24 + ":2"


def ids(reminders: list[Reminder]) -> list[str]:
    return [r.id for r in reminders]


async def test_claim_hands_out_due_reminders_earliest_first(ports: Ports) -> None:
    await ports.reminders.insert_missing(
        [
            reminder(A, K.HOURS_BEFORE, due_at=NOW - timedelta(minutes=1)),
            reminder(A, K.DAY_BEFORE, due_at=NOW - timedelta(hours=1)),
            reminder(E, due_at=NOW),  # due exactly now
            reminder(C, due_at=NOW + timedelta(seconds=1)),  # not yet
        ]
    )
    claimed = await ports.reminders.claim_due(NOW, LEASE, 10)
    assert ids(claimed) == [f"{A}:day_before", f"{A}:hours_before", f"{E}:day_before"]
    first = claimed[0]
    assert first == replace(
        reminder(A, K.DAY_BEFORE, due_at=NOW - timedelta(hours=1)),
        status=R.SENDING,
        claimed_until=NOW + LEASE,
    )
    assert await ports.reminders.claim_due(NOW, LEASE, 10) == []  # leased


async def test_claim_stops_at_the_limit_and_leaves_the_rest(ports: Ports) -> None:
    await ports.reminders.insert_missing(
        [reminder(f"{i:024d}:1", due_at=NOW - timedelta(minutes=10 - i)) for i in range(5)]
    )
    first = await ports.reminders.claim_due(NOW, LEASE, 2)
    rest = await ports.reminders.claim_due(NOW, LEASE, 10)
    assert ids(first) == [f"{0:024d}:1:day_before", f"{1:024d}:1:day_before"]
    assert len(rest) == 3
    assert not set(ids(first)) & set(ids(rest))


async def test_a_lapsed_lease_makes_a_reminder_claimable_again(ports: Ports) -> None:
    await ports.reminders.insert_missing([reminder(A)])
    (first,) = await ports.reminders.claim_due(NOW, LEASE, 10)
    assert await ports.reminders.claim_due(NOW + LEASE, LEASE, 10) == []  # lease still holds
    later = NOW + LEASE + timedelta(seconds=1)
    (again,) = await ports.reminders.claim_due(later, LEASE, 10)
    assert again.id == first.id
    assert again.claimed_until == later + LEASE
    assert again.attempts == 0


async def test_concurrent_workers_never_claim_the_same_reminder(ports: Ports) -> None:
    await ports.reminders.insert_missing(
        [reminder(f"{i:024d}:{i}", due_at=NOW - timedelta(seconds=i)) for i in range(1, 13)]
    )
    batches = await asyncio.gather(*(ports.reminders.claim_due(NOW, LEASE, 3) for _ in range(6)))
    claimed = [r.id for batch in batches for r in batch]
    assert len(claimed) == 12
    assert len(set(claimed)) == 12


async def test_planning_twice_keeps_one_reminder_and_its_progress(ports: Ports) -> None:
    planned = [reminder(A, due_at=PRECISE)]
    await ports.reminders.insert_missing(planned)
    await ports.reminders.insert_missing([])
    later = NOW + timedelta(seconds=1)
    (claimed,) = await ports.reminders.claim_due(later, LEASE, 10)
    assert claimed.due_at == PRECISE_STORED
    await ports.reminders.insert_missing(planned)  # a repeat does not reset the claim
    assert await ports.reminders.claim_due(later, LEASE, 10) == []


async def test_a_planned_reminder_starts_fresh_whatever_it_carried(ports: Ports) -> None:
    used = replace(reminder(A), attempts=3, claimed_until=NOW + LEASE, sent_at=NOW)
    await ports.reminders.insert_missing([used])
    (claimed,) = await ports.reminders.claim_due(NOW, LEASE, 10)
    assert (claimed.attempts, claimed.sent_at) == (0, None)


async def test_a_sent_reminder_is_never_handed_out_again(ports: Ports) -> None:
    await ports.reminders.insert_missing([reminder(A)])
    (claimed,) = await ports.reminders.claim_due(NOW, LEASE, 10)
    await ports.reminders.mark_sent(claimed.id, NOW)
    assert await ports.reminders.claim_due(NOW + timedelta(days=1), LEASE, 10) == []
    assert await ports.reminders.cancel_for_booking(A) == 0  # sent is final


async def test_a_retried_reminder_waits_until_its_next_attempt(ports: Ports) -> None:
    await ports.reminders.insert_missing([reminder(A)])
    (claimed,) = await ports.reminders.claim_due(NOW, LEASE, 10)
    later = NOW + timedelta(minutes=1)
    await ports.reminders.retry_later(claimed.id, at=later, error="Bad Gateway", failure=False)
    assert await ports.reminders.claim_due(later - timedelta(seconds=1), LEASE, 10) == []
    (retry,) = await ports.reminders.claim_due(later, LEASE, 10)
    assert (retry.attempts, retry.failures, retry.last_error) == (1, 0, "Bad Gateway")
    assert retry.next_attempt_at == later
    await ports.reminders.retry_later(retry.id, at=later, error="Bad Request", failure=True)
    (third,) = await ports.reminders.claim_due(later, LEASE, 10)
    assert (third.attempts, third.failures) == (2, 1)


async def test_a_parked_reminder_is_never_handed_out_and_is_counted(ports: Ports) -> None:
    await ports.reminders.insert_missing([reminder(A), reminder(E)])
    first, second = await ports.reminders.claim_due(NOW, LEASE, 10)
    await ports.reminders.park(first.id, NOW, "Bad Request: can't parse entities")
    await ports.reminders.retry_later(second.id, at=NOW, error="Bad Gateway", failure=False)
    later = NOW + timedelta(days=1)
    assert ids(await ports.reminders.claim_due(later, LEASE, 10)) == [second.id]
    assert await ports.reminders.count_overdue(later) == 0  # parked is not overdue
    stats = await ports.reminders.stats(later)
    assert (stats.parked, stats.overdue) == (1, 0)


async def test_closed_reminders_are_never_handed_out(ports: Ports) -> None:
    await ports.reminders.insert_missing([reminder(A), reminder(E)])
    skipped, stale = await ports.reminders.claim_due(NOW, LEASE, 10)
    await ports.reminders.close(skipped.id, NOW, R.SKIPPED, "booking cancelled")
    await ports.reminders.close(stale.id, NOW, R.STALE, "the session has started")
    assert await ports.reminders.claim_due(NOW + timedelta(days=1), LEASE, 10) == []
    assert await ports.reminders.cancel_for_booking(A) == 0  # closed is final
    with pytest.raises(ValueError, match="skipped or stale"):
        await ports.reminders.close(skipped.id, NOW, R.SENT, "?")


async def test_a_renewed_claim_is_not_handed_out_again(ports: Ports) -> None:
    await ports.reminders.insert_missing([reminder(A)])
    (first,) = await ports.reminders.claim_due(NOW, LEASE, 10)
    await ports.reminders.renew(first.id, NOW + 2 * LEASE)  # the send is still going
    past_first = NOW + LEASE + timedelta(seconds=1)
    assert await ports.reminders.claim_due(past_first, LEASE, 10) == []
    after = NOW + 2 * LEASE + timedelta(seconds=1)
    assert ids(await ports.reminders.claim_due(after, LEASE, 10)) == [first.id]


async def test_stats_show_the_oldest_due_reminder_not_sent_yet(ports: Ports) -> None:
    await ports.reminders.insert_missing(
        [
            reminder(A, due_at=NOW - timedelta(minutes=30)),
            reminder(C, due_at=NOW - timedelta(minutes=10)),
            reminder(E, due_at=NOW + timedelta(hours=1)),  # not due
        ]
    )
    (oldest,) = await ports.reminders.claim_due(NOW, LEASE, 1)  # being sent: still waiting
    stats = await ports.reminders.stats(NOW)
    assert (stats.oldest_due_at, stats.overdue, stats.parked) == (
        NOW - timedelta(minutes=30),
        1,  # C; A is being sent
        0,
    )
    await ports.reminders.mark_sent(oldest.id, NOW)
    assert (await ports.reminders.stats(NOW)).oldest_due_at == NOW - timedelta(minutes=10)
    (rest,) = await ports.reminders.claim_due(NOW, LEASE, 10)
    await ports.reminders.mark_sent(rest.id, NOW)
    assert (await ports.reminders.stats(NOW)).oldest_due_at is None


async def test_cancelling_a_booking_closes_its_open_reminders(ports: Ports) -> None:
    await ports.reminders.insert_missing(
        [reminder(A, K.DAY_BEFORE), reminder(A, K.HOURS_BEFORE), reminder(E)]
    )
    claimed = await ports.reminders.claim_due(NOW, LEASE, 1)  # one of A's is being sent
    assert claimed[0].booking_id == A
    assert await ports.reminders.cancel_for_booking(A) == 2
    assert await ports.reminders.cancel_for_booking(A) == 0
    assert await ports.reminders.cancel_for_booking("missing:1") == 0
    remaining = await ports.reminders.claim_due(NOW + timedelta(hours=1), LEASE, 10)
    assert ids(remaining) == [f"{E}:day_before"]


async def test_planning_again_revives_cancelled_reminders(ports: Ports) -> None:
    planned = [reminder(A, K.DAY_BEFORE), reminder(A, K.HOURS_BEFORE)]
    await ports.reminders.insert_missing(planned)
    (claimed,) = await ports.reminders.claim_due(NOW, LEASE, 1)
    await ports.reminders.retry_later(claimed.id, at=NOW, error="Bad Gateway", failure=True)
    await ports.reminders.cancel_for_booking(A)
    await ports.reminders.insert_missing(planned)  # the same booking was made again
    revived = await ports.reminders.claim_due(NOW, LEASE, 10)
    assert sorted(ids(revived)) == sorted(r.id for r in planned)
    assert all((r.attempts, r.failures, r.last_error) == (0, 0, None) for r in revived)


async def test_a_reminder_planned_as_cancelled_is_revived_at_once(ports: Ports) -> None:
    await ports.reminders.insert_missing([replace(reminder(A), status=R.CANCELLED)])
    (claimed,) = await ports.reminders.claim_due(NOW, LEASE, 10)
    assert claimed.id == f"{A}:day_before"


async def test_overdue_counts_pending_reminders_more_than_five_minutes_late(ports: Ports) -> None:
    await ports.reminders.insert_missing(
        [
            reminder(A, due_at=NOW - timedelta(minutes=6)),
            reminder(C, due_at=NOW - timedelta(minutes=5)),  # exactly five: not overdue
            reminder(D, due_at=NOW - timedelta(hours=2)),
            reminder(E, due_at=NOW + timedelta(hours=1)),
        ]
    )
    assert await ports.reminders.count_overdue(NOW) == 2
    await ports.reminders.claim_due(NOW, LEASE, 1)  # D (earliest) is being sent
    assert await ports.reminders.count_overdue(NOW) == 1


async def test_reminders_of_bookings_are_read_in_every_status(ports: Ports) -> None:
    await ports.reminders.insert_missing(
        [
            reminder("s1:1"),
            reminder("s1:1", ReminderKind.HOURS_BEFORE),
            reminder("s1:2"),
            reminder("s2:1"),
        ]
    )
    await ports.reminders.cancel_for_booking("s1:2")
    found = await ports.reminders.for_bookings(["s1:2", "s1:1", "s1:1"])
    assert [(r.id, r.status) for r in found] == [
        ("s1:1:day_before", ReminderStatus.PENDING),
        ("s1:1:hours_before", ReminderStatus.PENDING),
        ("s1:2:day_before", ReminderStatus.CANCELLED),
    ]
    assert await ports.reminders.for_bookings([]) == []
    assert await ports.reminders.for_bookings(["none:3"]) == []
