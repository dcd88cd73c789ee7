"""Replies are not held to the bulk send budget (issue 12).

Sixty residents send ``/start`` at once through one instance. The bot's bulk budget is set to 2 a
second and the emulator's global rate to 5, so if the replies still took bulk slots the bot would
answer at 2 a second (and its limiter would give up on most of them), and if the emulator counted
them as bulk sends it would refuse all but 5 a second with 429s. The emulator's counters are the
side that enforces the limits: every reply is counted as one, at a rate above both budgets, and
none was refused.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.cluster.traffic import bot_message_counts, create_crowd
from tests.e2e.conftest import BotStack, StackOptions

pytestmark = pytest.mark.e2e

BULK_BUDGET = 2
EMULATOR_GLOBAL_RATE = 5.0
RESIDENTS = 60

ONE_INSTANCE_LOW_BULK_BUDGET = StackOptions(
    instances=1,
    workers=2,
    emulator_global_rate=EMULATOR_GLOBAL_RATE,
    extra_env=(("LIMITS_GLOBAL_SENDS_PER_SECOND", str(BULK_BUDGET)),),
)


@pytest.mark.parametrize("bot_stack", [ONE_INSTANCE_LOW_BULK_BUDGET], indirect=True)
async def test_residents_answered_at_once_are_not_held_to_the_bulk_budget(
    bot_stack: BotStack,
) -> None:
    client = bot_stack.client
    crowd = await create_crowd(client, RESIDENTS, seed=12)
    await asyncio.gather(*(client.send_text(r.user_id, "/start") for r in crowd.residents))
    await client.wait_idle(timeout=60)

    counts = await bot_message_counts(client, crowd)
    assert set(counts.values()) == {1}, counts  # everyone got the first registration screen
    counters = await client.counters()
    assert counters["webhook_delivered"] == RESIDENTS
    assert counters["webhook_failures"] == 0
    assert (counters["reply_sends"], counters["bulk_sends"]) == (RESIDENTS, 0)
    assert counters["rejected_429"] == 0
    assert counters["rejected_429_global"] == 0
    # Faster than the bot's bulk budget and the emulator's global rate, in some second.
    assert counters["max_reply_sends_per_second"] > EMULATOR_GLOBAL_RATE > BULK_BUDGET
    print(
        f"\n{RESIDENTS} /start at once through one instance: "
        f"at most {counters['max_reply_sends_per_second']} replies in one second, 0 × 429"
    )
