"""A thousand reminders due in the same minute: each delivered once, within the send budget as
Telegram counts it, and a worker SIGKILLed in the middle of the batch changes none of that."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.e2e.workers.conftest import FAST, Fleet, until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

BATCH = 1000
BUDGET = int(FAST["LIMITS_GLOBAL_SENDS_PER_SECOND"])
# The budget holds in every second as the emulator counts the arrivals while their delays on the
# way differ by at most this (the limiter's window is 1 s plus it). The default 25 ms is for a
# quiet host; this test's four worker processes share two cores with the rest of the suite, and CI
# once saw 26 in one second with it: 250 ms is ten times that margin.
JITTER = {"LIMITS_GLOBAL_SEND_JITTER_SECONDS": "0.25"}


async def test_a_thousand_reminders_go_once_each_within_budget_though_a_worker_is_killed(
    fleet: Fleet,
) -> None:
    people = fleet.people(BATCH)
    await fleet.register(people)
    session = await fleet.session(starts_in=timedelta(hours=1))
    await fleet.book(session, people, due_in=timedelta(seconds=-30))  # all due in this minute
    victim, _, _ = await asyncio.gather(
        fleet.start_worker("victim", **JITTER),
        fleet.start_worker("survivor", **JITTER),
        fleet.start_beats(),
    )
    counters = fleet.bot.counters
    client = fleet.client

    async def sent(at_least: int) -> bool:
        return counters.sent >= at_least

    await until(lambda: sent(BATCH // 3), "a third of the batch sent", 240)

    # Stop every worker process exactly while it waits for Telegram (each sends one at a time),
    # so the one killed has nothing half-done: its requests never reach the chat.
    await client.set_fault(502, methods=["sendMessage"], hold=True)

    async def all_held() -> bool:
        return int((await client.fault())["held"]) == 4  # two workers, two processes each

    await until(all_held, "all four worker processes waiting on Telegram", 30, 0.02)
    await asyncio.to_thread(victim.kill)

    async def dropped() -> bool:
        return counters.faults_abandoned == 2

    await until(dropped, "the killed worker's two requests dropped", 15, 0.02)
    await client.clear_fault()  # the survivor's two get a 502 and are retried later

    async def all_sent() -> bool:
        return counters.sent >= BATCH

    await until(all_sent, "every reminder sent", 300)
    await fleet.client.wait_idle(5)

    per_chat = fleet.delivered(people)
    assert set(per_chat.values()) == {1}, {n: c for n, c in per_chat.items() if c != 1}
    assert counters.sent == BATCH  # none twice, in any chat
    assert (counters.faults_abandoned, counters.faults_injected) == (2, 2)
    # Telegram's side: no flood refusal, never more than the budget in any one second.
    assert counters.rejected_429 == 0
    assert counters.max_sends_per_second <= BUDGET, counters.max_sends_per_second
    # Sent by the workers on their own: bulk sends to Telegram, held to the global rate.
    assert (counters.bulk_sends, counters.reply_sends) == (BATCH, 0)
    statuses = await fleet.storage.db.reminders.distinct("status")
    assert statuses == ["sent"]
    retried = await fleet.storage.db.reminders.count_documents({"attempts": {"$gt": 0}})
    assert retried == 2  # the survivor's two 502s; the killed worker's two were only re-claimed
