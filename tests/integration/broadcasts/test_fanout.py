"""The fan-out over SecantusDB: the real MongoDB adapters, a recording sender.

A runner stuck in a send while another takes over, a runner that dies mid-batch, retries,
refusals and an audience larger than one insert: every resident gets the message at most once,
and exactly once unless it was in flight when its runner died (then it is unconfirmed, counted,
and sent again only when the author asks).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest

from bot.bootstrap import Storage, build_services, build_storage
from bot.domain.broadcasts import Audience, AudienceKind, Broadcast, BroadcastState, RecipientState
from bot.domain.users import NotificationPreferences, Role, User
from bot.infra.mongo.migrations import migrate
from bot.services.broadcasts import BroadcastFanout, FanoutPolicy
from bot.services.container import Services
from bot.services.ports.broadcasts import Dispatch, SendOutcome, SendResult
from tests.contract.data import NOW
from tests.fakes.clock import FakeClock

pytestmark = pytest.mark.integration
ADMIN = 7
EVERYONE = Audience(AudienceKind.ALL)


@dataclass
class Backend:
    storage: Storage
    services: Services
    clock: FakeClock


@pytest.fixture
async def backend(mongo_url: str, mongo_db_name: str) -> AsyncIterator[Backend]:
    clock = FakeClock(NOW)
    storage = build_storage(mongo_url, mongo_db_name, app_name="broadcast-fanout", clock=clock)
    await migrate(storage.db)
    await storage.users.save(resident(ADMIN, role=Role.ADMIN))
    try:
        yield Backend(storage, build_services(storage, clock), clock)
    finally:
        await storage.close()


def resident(uid: int, **changes: object) -> User:
    user = User(
        telegram_id=uid,
        name=f"Житель {uid}",
        consent_at=NOW - timedelta(days=1),
        registered_at=NOW - timedelta(days=1),
    )
    return replace(user, **changes)  # type: ignore[arg-type]


async def seed(backend: Backend, count: int, first: int = 1000) -> list[int]:
    ids = list(range(first, first + count))
    await backend.storage.db.users.insert_many(
        [
            {
                "_id": uid,
                "name": f"Житель {uid}",
                "language": "ru",
                "registered_at": NOW,
                "consent_at": NOW,
                "deleted_at": None,
                "blocked": False,
                "unreachable": False,
                "notifications": {
                    "reminders": True,
                    "application_updates": True,
                    "broadcasts": True,
                },
            }
            for uid in ids
        ]
    )
    return ids


async def queued(backend: Backend, text: str = "Объявление") -> Broadcast:
    broadcasts = backend.services.broadcasts
    draft = await broadcasts.compose(ADMIN, EVERYONE, text)
    return await broadcasts.confirm(ADMIN, draft.id, ADMIN, 1)


Hook = Callable[[int, Dispatch], Awaitable[SendOutcome | None]]


@dataclass
class RecordingSender:
    """Sends nothing anywhere: records each message that left (after ``dispatch`` said so)."""

    sent: Counter[int] = field(default_factory=Counter)
    hook: Hook | None = None
    progress: list[tuple[BroadcastState, int]] = field(default_factory=list)

    async def send(self, broadcast: Broadcast, user_id: int, *, dispatch: Dispatch) -> SendOutcome:
        if self.hook is not None:
            decided = await self.hook(user_id, dispatch)
            if decided is not None:
                return decided
        if not await dispatch():
            return SendOutcome(SendResult.NOT_OURS)
        self.sent[user_id] += 1
        return SendOutcome(SendResult.SENT)

    async def show_progress(self, broadcast: Broadcast, counts: object) -> bool:
        self.progress.append((broadcast.state, getattr(counts, "delivered", -1)))
        return True


def fanout(backend: Backend, sender: RecordingSender, **policy: object) -> BroadcastFanout:
    storage = backend.storage

    async def wait(seconds: float) -> None:  # waiting for a retry: time passes
        backend.clock.advance(timedelta(seconds=seconds))

    return BroadcastFanout(
        storage.broadcasts,
        storage.audiences,
        storage.users,
        sender,
        backend.clock,
        policy=FanoutPolicy(**policy),  # type: ignore[arg-type]
        sleep=wait,
    )


def until(backend: Backend) -> object:
    return backend.clock.now() + timedelta(hours=1)


async def run(backend: Backend, sender: RecordingSender, **policy: object) -> object:
    return await fanout(backend, sender, **policy).run(until=until(backend))  # type: ignore[arg-type]


async def states(backend: Backend, bid: str) -> Counter[str]:
    found: Counter[str] = Counter()
    async for doc in backend.storage.db.broadcast_recipients.find({"broadcast_id": bid}):
        found[doc["state"]] += 1
    return found


async def test_a_runner_stuck_in_a_send_is_taken_over_and_nothing_goes_twice(
    backend: Backend,
) -> None:
    people = await seed(backend, 120)
    broadcast = await queued(backend)
    stuck, release = asyncio.Event(), asyncio.Event()
    first = RecordingSender()

    async def hang_at_the_tenth(user_id: int, dispatch: Dispatch) -> SendOutcome | None:
        if user_id == people[9]:
            assert await dispatch()
            stuck.set()
            await release.wait()  # Telegram answers late
            first.sent[user_id] += 1
            return SendOutcome(SendResult.SENT)
        return None

    first.hook = hang_at_the_tenth
    slow = asyncio.ensure_future(run(backend, first, batch=20, concurrency=1))
    await stuck.wait()
    # The first runner's lease lapses; another takes the broadcast over meanwhile.
    backend.clock.advance(timedelta(seconds=31))
    second = RecordingSender()
    report = await run(backend, second, batch=20, concurrency=3)
    assert report.recovered_unconfirmed == 1  # type: ignore[attr-defined]
    assert report.requeued == 9  # type: ignore[attr-defined]  # the rest of the stuck batch
    release.set()
    await slow
    both = first.sent + second.sent
    assert set(both) == set(people) | {ADMIN}
    assert max(both.values()) == 1
    assert second.sent[people[9]] == 0
    # What the stuck runner learned late is recorded: delivered, not unconfirmed.
    assert await states(backend, broadcast.id) == Counter({"delivered": 121})
    done = await backend.storage.broadcasts.get(broadcast.id)
    assert done is not None
    assert done.state is BroadcastState.DONE


async def test_a_dead_runners_claims_resume_and_its_send_in_flight_is_not_repeated(
    backend: Backend,
) -> None:
    people = await seed(backend, 60)
    broadcast = await queued(backend)
    dying = RecordingSender()

    async def die_at_the_fifth(user_id: int, dispatch: Dispatch) -> SendOutcome | None:
        if user_id == people[4]:
            assert await dispatch()
            raise asyncio.CancelledError  # the process is gone; the request may have left
        return None

    dying.hook = die_at_the_fifth
    with pytest.raises(asyncio.CancelledError):
        await run(backend, dying, batch=25, concurrency=1)
    assert sum(dying.sent.values()) == 5  # ADMIN and people[0..3]

    backend.clock.advance(timedelta(seconds=31))
    after = RecordingSender()
    report = await run(backend, after, batch=25)
    assert report.recovered_unconfirmed == 1  # type: ignore[attr-defined]
    assert after.sent[people[4]] == 0
    both = dying.sent + after.sent
    assert max(both.values()) == 1
    assert set(both) == (set(people) | {ADMIN}) - {people[4]}
    assert await states(backend, broadcast.id) == Counter({"delivered": 60, "unconfirmed": 1})
    card = await backend.services.broadcasts.card(ADMIN, broadcast.id)
    assert (card.counts.delivered, card.counts.unconfirmed) == (60, 1)

    await backend.services.broadcasts.resend_unconfirmed(ADMIN, broadcast.id)
    again = RecordingSender()
    await run(backend, again)
    assert again.sent == Counter({people[4]: 1})
    assert await states(backend, broadcast.id) == Counter({"delivered": 61})


async def test_retries_refusals_opt_outs_and_blocks_are_each_counted(backend: Backend) -> None:
    people = await seed(backend, 10)
    flaky, refused, blocker, quitter = people[1], people[2], people[3], people[4]
    broadcast = await queued(backend)
    tries: Counter[int] = Counter()
    sender = RecordingSender()

    async def outcomes(user_id: int, dispatch: Dispatch) -> SendOutcome | None:
        tries[user_id] += 1
        if user_id == people[0]:
            # Between the expansion and this send, «quitter» turned broadcasts off.
            stored = await backend.storage.users.get(quitter)
            assert stored is not None
            await backend.storage.users.save(
                replace(stored, notifications=NotificationPreferences(broadcasts=False))
            )
        if user_id == flaky and tries[user_id] < 3:
            return SendOutcome(SendResult.RETRY, "Too Many Requests", retry_after_s=2)
        if user_id == refused:
            assert await dispatch()
            return SendOutcome(SendResult.FAILED, "Bad Request: chat not found")
        if user_id == blocker:
            assert await dispatch()
            return SendOutcome(SendResult.BLOCKED, "Forbidden: bot was blocked by the user")
        return None

    sender.hook = outcomes
    await run(backend, sender, batch=3, concurrency=1, retry_initial=timedelta(seconds=5))
    assert tries[flaky] == 3
    assert sender.sent[flaky] == 1
    assert await states(backend, broadcast.id) == Counter(
        {"delivered": 8, "failed": 1, "blocked": 1, "skipped": 1}  # the admin too
    )
    stored = await backend.storage.users.get(blocker)
    assert stored is not None
    assert stored.unreachable
    assert sender.progress[-1] == (BroadcastState.DONE, 8)


async def test_an_audience_larger_than_one_insert_is_expanded_once(backend: Backend) -> None:
    people = await seed(backend, 2500)
    broadcast = await queued(backend)
    repo = backend.storage.broadcasts
    # A runner that died while expanding had written part of it.
    assert await repo.add_recipients(broadcast.id, people[:1500]) == 1500
    assert await repo.add_recipients(broadcast.id, [*people, ADMIN]) == 1001
    assert (await repo.counts(broadcast.id)).total == 2501
    assert await backend.storage.db.broadcast_recipients.count_documents({}) == 2501
    duplicate = {"_id": "x", "broadcast_id": broadcast.id, "user_id": people[0], "state": "pending"}
    with pytest.raises(Exception, match="duplicate key"):
        await backend.storage.db.broadcast_recipients.insert_one(duplicate)
    assert RecipientState.PENDING.value == "pending"
