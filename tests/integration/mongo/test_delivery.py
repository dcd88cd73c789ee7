"""Outbox notices and reminders are delivered once each, with retries and user preferences."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.bootstrap import Services, Storage
from bot.domain.applications import ApplicationStatus
from bot.domain.reminders import Reminder
from bot.domain.users import NotificationPreferences, Role, User
from bot.services.delivery import MAX_NOTICE_ATTEMPTS, DeliveryService
from bot.services.ports.system import DeliveryResult, OutboxEntry
from tests.fakes.clock import FakeClock
from tests.integration.mongo.seed import add_catalog, add_resident, add_session, add_staff

pytestmark = pytest.mark.integration


class RecordingSender:
    """A fake of our own NoticeSender port: records and answers what the test says."""

    def __init__(self, answer: DeliveryResult = DeliveryResult.SENT) -> None:
        self.answer = answer
        self.notices: list[tuple[str, int]] = []
        self.reminders: list[str] = []

    async def send_notice(self, notice: OutboxEntry, user: User) -> DeliveryResult:
        await asyncio.sleep(0)
        self.notices.append((notice.key, user.telegram_id))
        return self.answer

    async def send_reminder(self, reminder: Reminder, user: User) -> DeliveryResult:
        self.reminders.append(reminder.id)
        return self.answer


def delivery(storage: Storage, services: Services, sender: RecordingSender) -> DeliveryService:
    return DeliveryService(
        storage.outbox, services.reminders, storage.users, storage.bookings, sender
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


async def test_retry_then_give_up(storage: Storage, services: Services, clock: FakeClock) -> None:
    await _three_status_changes(storage, services)
    sender = RecordingSender(DeliveryResult.RETRY)
    worker = delivery(storage, services, sender)
    for _ in range(MAX_NOTICE_ATTEMPTS):
        assert (await worker.deliver_notices()).retried == 3
    assert (await worker.deliver_notices()).retried == 0
    assert await storage.db.outbox.count_documents({"status": "failed"}) == 3


async def test_unreachable_and_preferences(storage: Storage, services: Services) -> None:
    await _three_status_changes(storage, services)
    quiet = await storage.users.get(2)
    assert quiet is not None
    await storage.users.save(
        replace(quiet, notifications=NotificationPreferences(application_updates=False))
    )
    sender = RecordingSender(DeliveryResult.UNREACHABLE)
    report = await delivery(storage, services, sender).deliver_notices()
    assert (report.unreachable, report.skipped) == (2, 1)
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
