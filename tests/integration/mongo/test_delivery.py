"""Outbox notices and reminders are delivered once each, with retries, parking, staleness and
user preferences, on the MongoDB adapters."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.bootstrap import Services, Storage
from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import BookingStatus
from bot.domain.paging import PageRequest
from bot.domain.reminders import plan_reminders
from bot.domain.users import NotificationPreferences, Role
from bot.services.delivery import DeliveryPolicy, DeliveryService
from bot.services.ports.system import (
    DeliveryResult,
    OutboxNotice,
    ReminderNotice,
    SeatOfferNotice,
    SendOutcome,
)
from tests.fakes.clock import FakeClock
from tests.integration.mongo.seed import NOW, add_catalog, add_resident, add_session, add_staff

pytestmark = pytest.mark.integration


class RecordingSender:
    """A fake of our own NoticeSender port: records and answers what the test says."""

    def __init__(self, answer: DeliveryResult | SendOutcome = DeliveryResult.SENT) -> None:
        self.answer = answer if isinstance(answer, SendOutcome) else SendOutcome(answer)
        self.notices: list[tuple[str, int]] = []
        self.reminders: list[str] = []
        self.sent: list[OutboxNotice | ReminderNotice] = []
        self.not_after: list[datetime | None] = []

    async def send_notice(
        self, notice: OutboxNotice, *, not_after: datetime | None = None
    ) -> SendOutcome:
        await asyncio.sleep(0)
        self.notices.append((notice.entry.key, notice.user.telegram_id))
        self.sent.append(notice)
        self.not_after.append(not_after)
        return self.answer

    async def send_reminder(
        self, notice: ReminderNotice, *, not_after: datetime | None = None
    ) -> SendOutcome:
        self.reminders.append(notice.reminder.id)
        self.sent.append(notice)
        self.not_after.append(not_after)
        return self.answer


# Deterministic delays: with no jitter a retry waits half the doubled delay.
POLICY = DeliveryPolicy(
    retry_initial=timedelta(seconds=10), retry_max=timedelta(seconds=160), poison_attempts=3
)


def delivery(
    storage: Storage,
    services: Services,
    sender: RecordingSender,
    policy: DeliveryPolicy = POLICY,
) -> DeliveryService:
    return DeliveryService(
        storage.outbox,
        services.reminders,
        storage.users,
        storage.bookings,
        sender,
        applications=storage.applications,
        sessions=storage.sessions,
        catalog=storage.catalog,
        policy=policy,
        jitter=lambda: 0.0,
    )


async def _three_status_changes(storage: Storage, services: Services) -> None:
    await add_catalog(storage)
    await add_staff(storage, 900, Role.ADMIN)
    for user in (1, 2, 3):
        await add_resident(storage, user)
        app = (await services.applications.submit(user, "d1-c00", "swim")).application
        await services.applications.staff_transition(900, app.id, ApplicationStatus.ACCEPTED)


async def test_each_notice_is_sent_once_by_racing_workers(
    storage: Storage, services: Services
) -> None:
    await _three_status_changes(storage, services)
    sender = RecordingSender()
    workers = [delivery(storage, services, sender) for _ in range(4)]
    reports = await asyncio.gather(*(w.deliver_notices(limit=2) for w in workers))
    assert sum(r.sent for r in reports) == 3
    assert sorted(user for _, user in sender.notices) == [1, 2, 3]
    assert (await workers[0].deliver_notices()).sent == 0


async def test_transient_failures_wait_longer_each_time_and_are_never_given_up(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _three_status_changes(storage, services)
    sender = RecordingSender(SendOutcome(DeliveryResult.RETRY, "Bad Gateway"))
    worker = delivery(storage, services, sender)
    waits = []
    for _ in range(8):
        assert (await worker.deliver_notices()).retried == 3
        doc = await storage.db.outbox.find_one({"user_id": 1})
        assert doc is not None
        assert (doc["status"], doc["last_error"]) == ("pending", "Bad Gateway")
        waits.append((doc["next_attempt_at"] - clock.now()).total_seconds())
        assert (await worker.deliver_notices()).retried == 0  # nothing is due before then
        clock.advance(timedelta(seconds=waits[-1]))
    # 10 s doubling, half of it without jitter, capped at 160 s: never parked, never dropped.
    assert waits == [5, 10, 20, 40, 80, 80, 80, 80]
    assert await storage.db.outbox.count_documents({"status": "pending", "failures": 0}) == 3


async def test_a_429_waits_at_least_its_retry_after(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _three_status_changes(storage, services)
    throttled = SendOutcome(DeliveryResult.RETRY, "Too Many Requests", retry_after_s=600)
    await delivery(storage, services, RecordingSender(throttled)).deliver_notices()
    doc = await storage.db.outbox.find_one({"user_id": 1})
    assert doc is not None
    assert doc["next_attempt_at"] - clock.now() == timedelta(seconds=600)


async def test_a_refused_notice_keeps_telegrams_reason_and_is_parked_after_n_failures(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _three_status_changes(storage, services)
    refused = SendOutcome(DeliveryResult.FAILED, "Bad Request: can't parse entities")
    worker = delivery(storage, services, RecordingSender(refused))
    reports = []
    for _ in range(POLICY.poison_attempts):
        reports.append(await worker.deliver_notices())
        clock.advance(POLICY.retry_max)
    assert [(r.retried, r.parked) for r in reports] == [(3, 0), (3, 0), (0, 3)]
    parked = [d async for d in storage.db.outbox.find({"status": "parked"})]
    assert len(parked) == 3
    assert {d["last_error"] for d in parked} == {"Bad Request: can't parse entities"}
    assert {d["failures"] for d in parked} == {POLICY.poison_attempts}
    assert (await worker.deliver_notices()).retried == 0  # parked is left to an operator
    assert (await worker.backlog()).notices.parked == 3


class ExplodingSender(RecordingSender):
    """Renders one user's notices with a bug; everyone else's go out."""

    def __init__(self, broken_user: int) -> None:
        super().__init__()
        self.broken_user = broken_user

    async def send_notice(
        self, notice: OutboxNotice, *, not_after: datetime | None = None
    ) -> SendOutcome:
        if notice.user.telegram_id == self.broken_user:
            raise KeyError("notify.no_such_text")
        return await super().send_notice(notice, not_after=not_after)


async def test_a_poison_entry_neither_stops_its_batch_nor_is_retried_for_ever(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _three_status_changes(storage, services)  # users 1, 2, 3, oldest first
    await _put(storage, "mystery", 3)  # a kind this version does not know
    sender = ExplodingSender(broken_user=1)
    worker = delivery(storage, services, sender)
    first = await worker.deliver_notices()
    assert (first.sent, first.retried) == (2, 2)
    assert sorted(user for _, user in sender.notices) == [2, 3]
    for _ in range(POLICY.poison_attempts - 1):
        clock.advance(POLICY.retry_max)
        report = await worker.deliver_notices()
    assert (report.sent, report.parked) == (0, 2)
    errors = {
        d["kind"]: d["last_error"] async for d in storage.db.outbox.find({"status": "parked"})
    }
    assert errors == {
        "application_status": "KeyError: 'notify.no_such_text'",
        "mystery": "ValueError: unknown outbox kind 'mystery'",
    }


async def test_a_store_that_is_away_is_a_transient_failure(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _three_status_changes(storage, services)

    class AwaySender(RecordingSender):
        async def send_notice(
            self, notice: OutboxNotice, *, not_after: datetime | None = None
        ) -> SendOutcome:
            raise ConnectionError("redis cluster is down")

    report = await delivery(storage, services, AwaySender()).deliver_notices()
    assert (report.retried, report.parked) == (3, 0)
    assert await storage.db.outbox.count_documents({"failures": 0, "attempts": 1}) == 3


async def test_a_notice_too_old_is_dropped_as_stale(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _three_status_changes(storage, services)
    sender = RecordingSender(DeliveryResult.RETRY)
    worker = delivery(storage, services, sender)
    await worker.deliver_notices()
    clock.advance(POLICY.notice_max_age)
    report = await worker.deliver_notices()
    assert (report.stale, report.retried) == (3, 0)
    assert await storage.db.outbox.count_documents({"status": "stale"}) == 3
    # Each send was given the moment it goes stale, so a long wait for the limiter cannot
    # deliver it late.
    assert set(sender.not_after) == {NOW + POLICY.notice_max_age}


async def test_unreachable_and_preferences(storage: Storage, services: Services) -> None:
    await _three_status_changes(storage, services)
    quiet = await storage.users.get(2)
    assert quiet is not None
    await storage.users.save(
        replace(quiet, notifications=NotificationPreferences(application_updates=False))
    )
    sender = RecordingSender(DeliveryResult.UNREACHABLE)
    report = await delivery(storage, services, sender).deliver_notices()
    # Skipped: the quiet one's, and the admin's three new-application notices (each decided
    # before the delivery ran).
    assert (report.unreachable, report.skipped) == (2, 4)
    assert sorted(user for _, user in sender.notices) == [1, 3]
    user = await storage.users.get(1)
    assert user is not None
    assert user.unreachable


async def test_reminders_only_for_live_bookings(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await add_catalog(storage)
    kept = await add_session(storage, session_id="a" * 24, hours_ahead=30)
    dropped = await add_session(storage, session_id="b" * 24, hours_ahead=30)
    await add_resident(storage, 1)
    await services.bookings.book(1, kept.id)
    await services.bookings.book(1, dropped.id)
    await services.bookings.cancel(1, f"{dropped.id}:1")
    sender = RecordingSender()
    worker = delivery(storage, services, sender)
    assert (await worker.deliver_reminders()).sent == 0  # nothing due yet
    clock.advance(timedelta(hours=7))
    assert (await worker.deliver_reminders()).sent == 1
    assert sender.reminders == [f"{kept.id}:1:day_before"]
    clock.advance(timedelta(hours=22))
    assert (await worker.deliver_reminders()).sent == 1
    assert sender.reminders[-1] == f"{kept.id}:1:hours_before"


# --- whether a notice is still to be sent is decided by the delivery service alone ---------------


async def test_seat_offers_are_sent_while_they_stand(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    (complex_,) = await add_catalog(storage)
    session = await add_session(storage, capacity=1)
    for user in (1, 2, 3):
        await add_resident(storage, user)
        await services.bookings.book(user, session.id)
        clock.advance(timedelta(seconds=1))
    quiet = await storage.users.get(2)
    assert quiet is not None
    silent = NotificationPreferences(reminders=False, application_updates=False, broadcasts=False)
    await storage.users.save(replace(quiet, notifications=silent))
    await services.bookings.cancel(1, f"{session.id}:1")  # the seat is offered to 2
    sender = RecordingSender()
    worker = delivery(storage, services, sender)

    assert (await worker.deliver_notices()).sent == 1  # the answer to their own request
    (offer,) = sender.sent
    assert isinstance(offer, SeatOfferNotice)
    assert (offer.user.telegram_id, offer.booking.status) == (2, BookingStatus.OFFERED)
    assert (offer.session.id, offer.complex_) == (session.id, complex_)
    assert offer.offer_until == offer.booking.offer_expires_at

    await services.bookings.decline_offer(2, f"{session.id}:2")  # now offered to 3 ...
    await services.bookings.accept_offer(3, f"{session.id}:3")  # ... who takes it at once
    report = await worker.deliver_notices()
    assert (report.sent, report.skipped) == (0, 1)  # the offer no longer stands
    assert len(sender.sent) == 1
    assert await storage.db.outbox.count_documents({"status": {"$nin": ["sent", "skipped"]}}) == 0


async def test_nobody_unreachable_is_sent_anything(storage: Storage, services: Services) -> None:
    await _three_status_changes(storage, services)  # users 1, 2, 3
    for user_id, change in (
        (1, {"deleted_at": NOW, "registered_at": None}),  # deleted their data
        (2, {"blocked": True}),
        (3, {"unreachable": True}),  # blocked the bot
    ):
        user = await storage.users.get(user_id)
        assert user is not None
        await storage.users.save(replace(user, **change))  # type: ignore[arg-type]
    sender = RecordingSender()
    report = await delivery(storage, services, sender).deliver_notices()
    # Their three, and the admin's three new-application notices (decided meanwhile).
    assert (report.sent, report.skipped) == (0, 6)
    assert sender.sent == []

    unfinished = await add_resident(storage, 4)
    app = (await services.applications.submit(4, "d1-c00", "swim")).application
    await storage.users.save(replace(unfinished, registered_at=None))  # not registered (any more)
    await services.applications.staff_transition(900, app.id, ApplicationStatus.ACCEPTED)
    assert (await delivery(storage, services, sender).deliver_notices()).skipped == 2  # + admin's
    assert sender.sent == []


async def test_a_notice_about_someone_elses_things_is_not_sent(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _three_status_changes(storage, services)
    sender = RecordingSender()
    worker = delivery(storage, services, sender)
    assert (await worker.deliver_notices()).sent == 3
    (one_s,) = (await storage.applications.list_for_user(1, PageRequest())).items
    await _put(storage, "application_status", 2, application_id=one_s.id)
    session = await add_session(storage, capacity=5, hours_ahead=30)
    booked = await services.bookings.book(1, session.id)
    offer = await storage.bookings.move(
        booked.booking.id,
        frozenset({BookingStatus.ACTIVE}),
        BookingStatus.OFFERED,
        clock.now(),
        offer_expires_at=clock.now() + timedelta(minutes=30),
    )
    assert offer is not None  # a real offer, but user 1's
    await _put(storage, "seat_offer", 2, booking_id=offer.id)
    report = await worker.deliver_notices()
    assert (report.sent, report.skipped) == (0, 2)

    other = await add_session(storage, session_id="b" * 24, capacity=5, hours_ahead=30)
    active = await services.bookings.book(1, other.id)
    assert active.booked
    await storage.db.reminders.delete_many({})
    await storage.reminders.insert_missing(  # user 1's active booking, reminders for user 2
        plan_reminders(
            booking_id=active.booking.id,
            user_id=2,
            session_id=other.id,
            starts_at=other.starts_at,
            now=clock.now(),
        )
    )
    clock.advance(timedelta(hours=29))
    report = await worker.deliver_reminders()
    assert (report.sent, report.skipped) == (0, 2)
    assert len(sender.sent) == 3


async def test_reminders_follow_preferences_and_what_still_exists(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    (complex_,) = await add_catalog(storage)
    session = await add_session(storage, session_id="a" * 24, hours_ahead=30)
    for user in (1, 2):
        await add_resident(storage, user)
        await services.bookings.book(user, session.id)
    opted_out = await storage.users.get(2)
    assert opted_out is not None
    await storage.users.save(
        replace(opted_out, notifications=NotificationPreferences(reminders=False))
    )
    sender = RecordingSender()
    worker = delivery(storage, services, sender)
    clock.advance(timedelta(hours=7))  # the day-before reminders are due
    report = await worker.deliver_reminders()
    assert (report.sent, report.skipped) == (1, 1)
    (reminder,) = sender.sent
    assert isinstance(reminder, ReminderNotice)
    assert (reminder.user.telegram_id, reminder.booking.status) == (1, BookingStatus.ACTIVE)
    assert (reminder.session.id, reminder.complex_) == (session.id, complex_)

    # The complex closes before the last reminder: it is closed unsent, not retried for ever.
    await storage.catalog.upsert_complex(replace(complex_, active=False))
    clock.advance(timedelta(hours=22))
    report = await worker.deliver_reminders()
    assert (report.sent, report.skipped) == (0, 2)
    assert await services.reminders.claim_due() == []
    assert len(sender.sent) == 1


async def test_a_reminder_whose_session_started_is_dropped_as_stale(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await add_catalog(storage)
    session = await add_session(storage, session_id="a" * 24, hours_ahead=30)
    await add_resident(storage, 1)
    await services.bookings.book(1, session.id)
    sender = RecordingSender(DeliveryResult.RETRY)
    worker = delivery(storage, services, sender)
    clock.advance(timedelta(hours=29))  # both reminders due
    assert (await worker.deliver_reminders()).retried == 2
    assert set(sender.not_after) == {session.starts_at}  # not sent once the session starts
    clock.advance(timedelta(hours=1))  # the session starts while Telegram fails
    sender.answer = SendOutcome(DeliveryResult.SENT)
    report = await worker.deliver_reminders()
    assert (report.sent, report.stale) == (0, 2)
    assert await storage.db.reminders.count_documents({"status": "stale"}) == 2


async def test_no_reminder_for_a_cancelled_session(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await add_catalog(storage)
    session = await add_session(storage, session_id="a" * 24, hours_ahead=30)
    await add_resident(storage, 1)
    await services.bookings.book(1, session.id)
    assert await storage.sessions.cancel(session.id)
    sender = RecordingSender()
    clock.advance(timedelta(hours=29))
    report = await delivery(storage, services, sender).deliver_reminders()
    assert (report.sent, report.skipped) == (0, 2)
    assert sender.sent == []


async def test_sent_reminders_report_how_late_they_went(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await add_catalog(storage)
    session = await add_session(storage, session_id="a" * 24, hours_ahead=30)
    await add_resident(storage, 1)
    await services.bookings.book(1, session.id)
    clock.advance(timedelta(hours=6, minutes=3))  # the day-before one is 3 minutes late
    report = await delivery(storage, services, RecordingSender()).deliver_reminders()
    assert report.lags_s == (180.0,)


class BlockingSender(RecordingSender):
    """A send that waits (for the limiter, say) until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def send_notice(
        self, notice: OutboxNotice, *, not_after: datetime | None = None
    ) -> SendOutcome:
        self.started.set()
        await self.release.wait()
        return await super().send_notice(notice, not_after=not_after)


async def test_a_long_send_keeps_its_claim_renewed(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _three_status_changes(storage, services)
    policy = replace(POLICY, lease=timedelta(seconds=0.3))
    sender = BlockingSender()
    sending = asyncio.create_task(delivery(storage, services, sender, policy).deliver_notices())
    async with asyncio.timeout(10):
        await sender.started.wait()
    (claimed,) = [d async for d in storage.db.outbox.find({"status": "sending"})]
    clock.advance(timedelta(seconds=1))  # past the lease on the store's clock: only renewal helps
    async with asyncio.timeout(10):
        while True:  # the next renewal comes a third of the lease (real time) later
            doc = await storage.db.outbox.find_one({"_id": claimed["_id"]})
            assert doc is not None
            if doc["claimed_until"] > claimed["claimed_until"]:
                break
            await asyncio.sleep(0.02)
    others = await storage.outbox.claim(policy.lease, 100)  # another worker takes the rest
    assert others
    assert claimed["_id"] not in {e.key for e in others}
    sender.release.set()
    assert (await sending).sent == 1
    assert sender.notices == [(claimed["_id"], claimed["user_id"])]


async def _put(storage: Storage, kind: str, user_id: int, **payload: str) -> None:
    """An outbox entry as a (buggy or forged) producer might write it."""
    await storage.db.outbox.insert_one(
        {
            "_id": f"{kind}:{user_id}:{sorted(payload.items())}",
            "kind": kind,
            "user_id": user_id,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "created_at": NOW,
        }
    )


class BlockingReminderSender(RecordingSender):
    """The first reminder's send waits until the test lets it go; the rest go at once."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def send_reminder(
        self, notice: ReminderNotice, *, not_after: datetime | None = None
    ) -> SendOutcome:
        if not self.started.is_set():
            self.started.set()
            await self.release.wait()
        return await super().send_reminder(notice, not_after=not_after)


async def _two_reminders_due(storage: Storage, services: Services, clock: FakeClock) -> None:
    """Two residents' day-before reminders, both due: claimed together in one batch."""
    await add_catalog(storage)
    session = await add_session(storage, session_id="a" * 24, hours_ahead=30)
    for user in (1, 2):
        await add_resident(storage, user)
        await services.bookings.book(user, session.id)
    clock.advance(timedelta(hours=7))


async def test_reminders_waiting_behind_a_long_send_keep_their_claims(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _two_reminders_due(storage, services, clock)
    policy = replace(POLICY, lease=timedelta(seconds=0.3))
    sender = BlockingReminderSender()
    sending = asyncio.create_task(delivery(storage, services, sender, policy).deliver_reminders())
    async with asyncio.timeout(10):
        await sender.started.wait()
    claimed = [d async for d in storage.db.reminders.find({"status": "sending"})]
    assert len(claimed) == 2  # the one being sent and the one claimed with it
    clock.advance(timedelta(seconds=1))  # past the lease on the store's clock: only renewal helps
    async with asyncio.timeout(10):
        while True:
            docs = {d["_id"]: d async for d in storage.db.reminders.find({"status": "sending"})}
            if all(docs[c["_id"]]["claimed_until"] > c["claimed_until"] for c in claimed):
                break
            await asyncio.sleep(0.02)
    assert await services.reminders.claim_due(10, lease=policy.lease) == []  # none to another
    sender.release.set()
    assert (await sending).sent == 2
    assert sorted(sender.reminders) == sorted(c["_id"] for c in claimed)


class ClockJumpingSender(RecordingSender):
    """The first send takes longer than a lease, on the services' clock."""

    def __init__(self, clock: FakeClock, by: timedelta) -> None:
        super().__init__()
        self.clock, self.by = clock, by

    async def send_reminder(
        self, notice: ReminderNotice, *, not_after: datetime | None = None
    ) -> SendOutcome:
        if not self.reminders:
            self.clock.advance(self.by)
        return await super().send_reminder(notice, not_after=not_after)


async def test_a_reminder_whose_claim_lapsed_before_its_turn_is_left_to_the_next_run(
    storage: Storage, services: Services, clock: FakeClock
) -> None:
    await _two_reminders_due(storage, services, clock)
    sender = ClockJumpingSender(clock, POLICY.lease * 2)
    report = await delivery(storage, services, sender).deliver_reminders(limit=2)
    # The second was claimed with the first, but its claim ran out while the first was sent
    # (no renewal came: the send returned before a third of the lease passed in real time).
    assert report.sent == 1
    left = await storage.db.reminders.find_one({"status": "sending"})
    assert left is not None
    assert left["claimed_until"] <= clock.now()  # claimable by anyone again, untouched by us
    later = await delivery(storage, services, sender).deliver_reminders()
    assert later.sent == 1
    assert len(sender.reminders) == len(set(sender.reminders)) == 2  # each once
    assert await storage.db.reminders.count_documents({"status": "sent"}) == 2
