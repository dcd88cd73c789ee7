"""Telegram fails for a while — 5xx, then 429 with a long retry_after — and comes back: every
notice and reminder still due is delivered once after it recovers, none after it went stale; a
booking cancelled before its reminder, or a session cancelled, gets no reminder."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.applications import ApplicationStatus
from bot.domain.users import Role
from tests.e2e.workers.conftest import COMPLEX, FIRST_USER, Fleet, until

pytestmark = pytest.mark.e2e

STAFF = 900
RETRY_AFTER_S = 6  # long beside the 1-3 s retry delays the workers run with here
REMINDER_TEXT = "Напоминание"


async def test_everything_still_due_is_delivered_once_after_telegram_recovers(
    fleet: Fleet,
) -> None:
    client, services, db = fleet.client, fleet.services, fleet.storage.db
    counters = fleet.bot.counters
    await client.set_fault(502, methods=["sendMessage"])  # Telegram is failing from the start
    await services.users.set_role(None, STAFF, Role.ADMIN)
    fleet.people(1, first=STAFF)

    reminded = fleet.people(12)
    told = fleet.people(8, first=FIRST_USER + 100)
    cancelled_booking, cancelled_session = fleet.people(2, first=FIRST_USER + 200)
    too_late = fleet.people(4, first=FIRST_USER + 300)
    await fleet.register([*reminded, *told, cancelled_booking, cancelled_session, *too_late])

    later = await fleet.session(starts_in=timedelta(minutes=30))
    await fleet.book(later, reminded)
    for person in told:
        application = (await services.applications.submit(person, COMPLEX, "swim")).application
        await services.applications.staff_transition(
            STAFF, application.id, ApplicationStatus.ACCEPTED
        )
    tomorrow = await fleet.session(starts_in=timedelta(days=1))
    (skipped,) = await fleet.book(tomorrow, [cancelled_booking], due_in=timedelta(minutes=1))
    await services.bookings.cancel(cancelled_booking, f"{tomorrow.id}:{cancelled_booking}")
    await db.reminders.update_one(  # time travel: it would be due now
        {"_id": skipped}, {"$set": {"due_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    doomed = await fleet.session(starts_in=timedelta(minutes=30))
    await fleet.book(doomed, [cancelled_session], due_in=timedelta(seconds=1))
    await services.bookings.cancel_session(STAFF, doomed.id, "ремонт бассейна")

    await asyncio.gather(fleet.start_worker("w1"), fleet.start_beats())
    # The session of the last four starts while Telegram is away: their reminders go stale.
    soon = await fleet.session(starts_in=timedelta(seconds=8))
    await fleet.book(soon, too_late)

    async def tried_twice() -> bool:
        # Whatever their status: one being sent right now (claimed, its attempt not counted yet
        # on a busy machine) has not been tried twice either.
        waiting = {"attempts": {"$lt": 2}}
        return (
            await db.reminders.count_documents({**waiting, "session_id": later.id}) == 0
            and await db.outbox.count_documents({**waiting, "kind": "application_status"}) == 0
        )

    await until(tried_twice, "every reminder and notice tried twice against the 5xx", 60)
    await client.set_fault(429, retry_after=RETRY_AFTER_S, methods=["sendMessage"])

    async def throttled() -> bool:
        return (
            await db.outbox.count_documents({"last_error": {"$regex": "[Ff]lood"}})
            + (await db.reminders.count_documents({"last_error": {"$regex": "[Ff]lood"}}))
            > 0
        )

    await until(throttled, "a 429 seen and recorded", 30)

    async def soon_started() -> bool:
        return datetime.now(UTC) >= soon.starts_at

    await until(soon_started, "the last session started during the outage", 30)
    await client.clear_fault()

    live = [*reminded, *told]

    async def all_delivered() -> bool:
        return all(fleet.delivered(live).values())

    await until(all_delivered, "everything still due delivered after the recovery", 90)

    async def stale_closed() -> bool:
        return await db.reminders.count_documents({"session_id": soon.id, "status": "stale"}) == 4

    await until(stale_closed, "the stale reminders dropped", 30)

    assert set(fleet.delivered(live).values()) == {1}  # once each
    for person in reminded:
        (message,) = fleet.messages_to(person)
        assert REMINDER_TEXT in (message.text or "")
        assert message.date < later.starts_at.timestamp()
    for person in told:
        assert "принят" in (fleet.messages_to(person)[0].text or "")
    assert fleet.delivered(too_late) == dict.fromkeys(too_late, 0)  # never after it was stale
    assert fleet.messages_to(cancelled_booking) == []
    assert all(REMINDER_TEXT not in (m.text or "") for m in fleet.messages_to(cancelled_session))
    assert (await db.reminders.find_one({"_id": skipped}) or {})["status"] == "cancelled"
    assert await db.reminders.count_documents({"session_id": doomed.id, "status": "cancelled"}) == 1
    sent = {"status": "sent", "attempts": {"$gte": 2}}
    assert await db.reminders.count_documents({**sent, "session_id": later.id}) == len(reminded)
    assert await db.outbox.count_documents({**sent, "kind": "application_status"}) == len(told)
    # Telegram's own limits never refused anything: every failure was the injected one.
    assert counters.rejected_429 == 0
    assert counters.faults_injected >= 2 * len(live)
