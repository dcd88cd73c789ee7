"""BroadcastRepository and BroadcastAudiences: the fakes and the MongoDB adapters behave alike.

Every change is conditional (on the state, the runner, the lease), so a second runner, a stale
button or a dead worker's late write cannot make a message go twice; one record per (broadcast,
user). Audiences: who is "of" a complex, a sport or a session, and who may be reached at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from bot.bootstrap import build_storage
from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import BookingStatus, booking_id
from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastCounts,
    BroadcastState,
    RecipientState,
)
from bot.domain.paging import PageRequest
from bot.domain.users import NotificationPreferences, User
from bot.infra.mongo.migrations import migrate
from bot.services.ports.broadcasts import BroadcastAudiences, BroadcastRepository
from bot.services.ports.repositories import (
    ApplicationRepository,
    BookingRepository,
    SessionRepository,
    UserRepository,
)
from tests.contract.data import NOW, PRECISE, PRECISE_STORED, application, moved, session
from tests.fakes.clock import FakeClock
from tests.fakes.repositories import InMemoryStorage

S = RecipientState
B = BroadcastState
ALL = Audience(AudienceKind.ALL)
LEASE = timedelta(seconds=30)


@dataclass
class Ports:
    broadcasts: BroadcastRepository
    audiences: BroadcastAudiences
    users: UserRepository
    applications: ApplicationRepository
    sessions: SessionRepository
    bookings: BookingRepository


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
async def ports(request: pytest.FixtureRequest) -> AsyncIterator[Ports]:
    clock = FakeClock(NOW)
    if request.param == "memory":
        fake = InMemoryStorage(clock)
        yield Ports(
            fake.broadcasts,
            fake.audiences,
            fake.users,
            fake.applications,
            fake.sessions,
            fake.bookings,
        )
        return
    url = request.getfixturevalue("mongo_url")
    name = request.getfixturevalue("mongo_db_name")
    storage = build_storage(url, name, app_name="contract-broadcasts", clock=clock)
    await migrate(storage.db)
    try:
        yield Ports(
            storage.broadcasts,
            storage.audiences,
            storage.users,
            storage.applications,
            storage.sessions,
            storage.bookings,
        )
    finally:
        await storage.close()


def draft(bid: str = "b1", *, author: int = 50, audience: Audience = ALL) -> Broadcast:
    return Broadcast(
        id=bid,
        author_id=author,
        audience=audience,
        text="Бассейн <закрыт> & зал открыт",
        html="Бассейн &lt;закрыт&gt; &amp; <b>зал</b> открыт",
        state=B.DRAFT,
        created_at=PRECISE,
        updated_at=PRECISE,
        estimated=3,
    )


async def queued(ports: Ports, bid: str = "b1", *, at: timedelta = timedelta(0)) -> Broadcast:
    await ports.broadcasts.insert(draft(bid))
    moved_ = await ports.broadcasts.move(
        bid, frozenset({B.DRAFT}), B.QUEUED, NOW + at, sender=(50, 700)
    )
    assert moved_ is not None
    return moved_


def resident(uid: int, **changes: object) -> User:
    user = User(
        telegram_id=uid,
        name=f"Житель {uid}",
        language="ru",
        consent_at=NOW - timedelta(days=10),
        registered_at=NOW - timedelta(days=10),
    )
    return replace(user, **changes)  # type: ignore[arg-type]


# --- the broadcast ---------------------------------------------------------------------------


async def test_a_broadcast_round_trips_with_its_audience(ports: Ports) -> None:
    sport_scope = Audience(AudienceKind.SPORT, "swim", complexes=frozenset({"c2", "c1"}))
    for bid, audience in [
        ("b1", ALL),
        ("b2", Audience(AudienceKind.COMPLEX, "c1", complex_code="c1")),
        ("b3", sport_scope),
        ("b4", Audience(AudienceKind.SESSION, "s1", complex_code="c1")),
    ]:
        await ports.broadcasts.insert(draft(bid, audience=audience))
        got = await ports.broadcasts.get(bid)
        assert got == replace(
            draft(bid, audience=audience), created_at=PRECISE_STORED, updated_at=PRECISE_STORED
        )
    assert await ports.broadcasts.get("nope") is None


async def test_only_a_draft_has_its_text_replaced(ports: Ports) -> None:
    await ports.broadcasts.insert(draft())
    later = NOW + timedelta(minutes=1)
    updated = await ports.broadcasts.update_draft(
        "b1", text="Новый", html="<i>Новый</i>", estimated=7, now=later
    )
    assert updated is not None
    assert (updated.text, updated.html, updated.estimated, updated.updated_at) == (
        "Новый",
        "<i>Новый</i>",
        7,
        later,
    )
    await ports.broadcasts.move("b1", frozenset({B.DRAFT}), B.QUEUED, later, sender=(1, 2))
    assert (
        await ports.broadcasts.update_draft("b1", text="x", html="x", estimated=1, now=later)
        is None
    )
    assert (await ports.broadcasts.get("b1")).text == "Новый"  # type: ignore[union-attr]


async def test_state_changes_are_conditional_and_record_when_and_who(ports: Ports) -> None:
    await ports.broadcasts.insert(draft())
    assert await ports.broadcasts.move("b1", frozenset({B.QUEUED}), B.CANCELLED, NOW) is None
    q = await ports.broadcasts.move("b1", frozenset({B.DRAFT}), B.QUEUED, PRECISE, sender=(50, 700))
    assert q is not None
    assert (q.state, q.queued_at, q.sender_chat_id, q.sender_message_id) == (
        B.QUEUED,
        PRECISE_STORED,
        50,
        700,
    )
    assert q.finished_at is None
    later = NOW + timedelta(minutes=5)
    c = await ports.broadcasts.move(
        "b1", frozenset({B.QUEUED, B.RUNNING}), B.CANCELLED, later, cancelled_by=51
    )
    assert c is not None
    assert (c.state, c.finished_at, c.cancelled_by, c.queued_at) == (
        B.CANCELLED,
        later,
        51,
        PRECISE_STORED,
    )
    # A second cancel of the same (a stale button) changes nothing.
    assert await ports.broadcasts.move("b1", frozenset({B.QUEUED}), B.CANCELLED, later) is None


async def test_recent_lists_what_left_the_draft_stage_newest_first(ports: Ports) -> None:
    await queued(ports, "b1", at=timedelta(minutes=1))
    await queued(ports, "b2", at=timedelta(minutes=2))
    await ports.broadcasts.insert(draft("b3"))  # a draft: not listed
    await ports.broadcasts.insert(draft("b4", author=51))
    await ports.broadcasts.move("b4", frozenset({B.DRAFT}), B.QUEUED, NOW, sender=(51, 9))
    everyone = await ports.broadcasts.list_recent(None, PageRequest(size=2))
    assert [b.id for b in everyone.items] == ["b2", "b1"]
    assert everyone.total == 3
    mine = await ports.broadcasts.list_recent(51, PageRequest())
    assert [b.id for b in mine.items] == ["b4"]


async def test_broadcasts_run_one_after_another_under_a_lease(ports: Ports) -> None:
    repo = ports.broadcasts
    assert await repo.head() is None
    await queued(ports, "b2", at=timedelta(minutes=2))
    await queued(ports, "b1", at=timedelta(minutes=1))
    head = await repo.head()
    assert head is not None
    assert head.id == "b1"
    assert await repo.take("b1", "r1", NOW, NOW + LEASE)
    # Another runner cannot take it while the lease holds; it can once it lapsed.
    assert not await repo.take("b1", "r2", NOW + timedelta(seconds=29), NOW + LEASE * 2)
    running = await repo.get("b1")
    assert running is not None
    assert (running.state, running.runner, running.started_at) == (B.RUNNING, "r1", NOW)
    assert (await repo.head()).id == "b1"  # type: ignore[union-attr]
    assert await repo.renew("b1", "r2", NOW + LEASE) is None
    renewed = await repo.renew("b1", "r1", NOW + timedelta(seconds=50))
    assert renewed is not None
    assert renewed.runner_until == NOW + timedelta(seconds=50)
    assert not await repo.take("b1", "r2", NOW + timedelta(seconds=45), NOW + LEASE * 2)
    await repo.release("b1", "r2", NOW)  # not theirs: nothing
    assert not await repo.take("b1", "r2", NOW + timedelta(seconds=1), NOW + LEASE)
    await repo.release("b1", "r1", NOW + timedelta(seconds=2))
    assert await repo.take("b1", "r2", NOW + timedelta(seconds=3), NOW + LEASE)
    again = await repo.get("b1")
    assert again is not None
    assert again.started_at == NOW
    assert await repo.renew("b1", "r1", NOW + LEASE) is None  # r1 lost it
    assert await repo.finish("b1", "r1", NOW) is None
    done = await repo.finish("b1", "r2", NOW + timedelta(minutes=1))
    assert done is not None
    assert (done.state, done.finished_at) == (B.DONE, NOW + timedelta(minutes=1))
    assert (await repo.head()).id == "b2"  # type: ignore[union-attr]
    # A cancelled broadcast cannot be taken.
    await repo.move("b2", frozenset({B.QUEUED}), B.CANCELLED, NOW)
    assert not await repo.take("b2", "r3", NOW, NOW + LEASE)
    assert await repo.head() is None


async def test_final_counts_are_shown_once_and_not_undone(ports: Ports) -> None:
    repo = ports.broadcasts
    await queued(ports, "b1")
    await queued(ports, "b2")
    await repo.move("b2", frozenset({B.QUEUED}), B.CANCELLED, NOW)
    await ports.broadcasts.insert(draft("b3"))
    await repo.move("b3", frozenset({B.DRAFT}), B.CANCELLED, NOW)  # discarded: nothing to show
    assert [b.id for b in await repo.unreported(10)] == ["b2"]
    counts = BroadcastCounts(total=3, delivered=2, blocked=1)
    await repo.shown("b1", counts, PRECISE, final=False)
    got = await repo.get("b1")
    assert got is not None
    assert (got.counts, got.progress_at, got.final_shown) == (
        counts,
        PRECISE_STORED,
        False,
    )
    await repo.shown("b2", counts, NOW, final=True)
    assert await repo.unreported(10) == []
    await repo.shown("b2", BroadcastCounts(total=3), NOW, final=False)  # late: ignored
    final = await repo.get("b2")
    assert final is not None
    assert final.counts == counts
    assert final.final_shown


# --- recipients ------------------------------------------------------------------------------


async def test_one_record_per_broadcast_and_user(ports: Ports) -> None:
    repo = ports.broadcasts
    await queued(ports)
    assert await repo.add_recipients("b1", [3, 1, 2, 2]) == 3
    assert await repo.add_recipients("b1", [2, 3, 4]) == 1
    assert await repo.counts("b1") == BroadcastCounts(total=4)
    await repo.mark_expanded("b1")
    assert (await repo.get("b1")).expanded  # type: ignore[union-attr]


async def test_claims_are_due_records_by_user_and_only_the_runner_sends_them(
    ports: Ports,
) -> None:
    repo = ports.broadcasts
    await queued(ports)
    await repo.add_recipients("b1", [5, 1, 3, 2, 4])
    first = await repo.claim("b1", "r1", NOW, 2)
    assert [(r.user_id, r.state, r.runner) for r in first] == [
        (1, S.CLAIMED, "r1"),
        (2, S.CLAIMED, "r1"),
    ]
    assert [r.user_id for r in await repo.claim("b1", "r1", NOW, 10)] == [3, 4, 5]
    assert await repo.claim("b1", "r1", NOW, 10) == []
    assert not await repo.dispatching("b1", 1, "r2")
    assert await repo.dispatching("b1", 1, "r1")
    assert not await repo.dispatching("b1", 1, "r1")  # once
    await repo.settle("b1", 1, "r2", S.DELIVERED, NOW)  # not r2's: nothing
    await repo.settle("b1", 1, "r1", S.DELIVERED, NOW)
    await repo.settle("b1", 2, "r1", S.SKIPPED, NOW)
    await repo.settle("b1", 1, "r1", S.FAILED, NOW)  # settled already: stays delivered
    counts = await repo.counts("b1")
    assert (counts.total, counts.delivered, counts.skipped, counts.failed) == (5, 1, 1, 0)


async def test_retries_wait_and_count_attempts(ports: Ports) -> None:
    repo = ports.broadcasts
    await queued(ports)
    await repo.add_recipients("b1", [1, 2])
    await repo.claim("b1", "r1", NOW, 10)
    assert await repo.next_due("b1") is None
    await repo.retry_later("b1", 1, "r1", PRECISE + timedelta(seconds=10), "429")
    await repo.retry_later("b1", 2, "r2", NOW, "not r2's")  # nothing
    assert await repo.next_due("b1") == PRECISE_STORED + timedelta(seconds=10)
    assert await repo.claim("b1", "r1", NOW + timedelta(seconds=5), 10) == []
    again = await repo.claim("b1", "r3", NOW + timedelta(seconds=11), 10)
    assert [(r.user_id, r.attempts, r.error, r.runner) for r in again] == [(1, 1, "429", "r3")]
    assert (await repo.counts("b1")).unsettled == 2


async def test_a_dead_runners_records_are_recovered_and_never_sent_again(ports: Ports) -> None:
    repo = ports.broadcasts
    await queued(ports)
    await repo.add_recipients("b1", [1, 2, 3, 4])
    await repo.claim("b1", "dead", NOW, 3)  # 1, 2, 3
    assert await repo.dispatching("b1", 1, "dead")
    await repo.settle("b1", 3, "dead", S.DELIVERED, NOW)
    await repo.claim("b1", "new", NOW, 10)  # 4
    assert await repo.recover("b1", "new") == (1, 1)  # 2 pending again, 1 unconfirmed
    assert await repo.recover("b1", "new") == (0, 0)
    # The dead runner, were it only slow: cannot send 2 (no longer its own) ...
    assert not await repo.dispatching("b1", 2, "dead")
    # ... and what it learns of 1 is still recorded (it did reach Telegram).
    assert [r.user_id for r in await repo.claim("b1", "new", NOW, 10)] == [2]
    counts = await repo.counts("b1")
    assert (counts.unconfirmed, counts.delivered, counts.unsettled) == (1, 1, 2)
    await repo.settle("b1", 1, "dead", S.DELIVERED, NOW)
    assert (await repo.counts("b1")).delivered == 2
    # The author may send the unconfirmed again.
    await repo.claim("b1", "new", NOW, 10)
    assert await repo.dispatching("b1", 2, "new")
    await repo.settle("b1", 2, "new", S.UNCONFIRMED, NOW)
    assert await repo.requeue_unconfirmed("b1", NOW) == 1
    assert [(r.user_id, r.state) for r in await repo.claim("b1", "later", NOW, 10)] == [
        (2, S.CLAIMED)
    ]


# --- audiences -------------------------------------------------------------------------------


async def _people(ports: Ports) -> None:
    """1-3 residents, and people who may not be reached whatever the audience."""
    for uid in (1, 2, 3, 4, 5):
        await ports.users.save(resident(uid))
    await ports.users.save(User(telegram_id=10, language="ru"))  # never registered
    await ports.users.save(resident(11, blocked=True))
    await ports.users.save(resident(12, unreachable=True))
    await ports.users.save(resident(13, notifications=NotificationPreferences(broadcasts=False)))
    await ports.users.save(resident(14, deleted_at=NOW - timedelta(days=1)))


async def _book(ports: Ports, session_id: str, user_id: int, status: BookingStatus) -> None:
    bid = booking_id(session_id, user_id)
    assert await ports.bookings.claim(bid, session_id, user_id, NOW)
    if status is not BookingStatus.RESERVING:
        assert (
            await ports.bookings.move(bid, frozenset({BookingStatus.RESERVING}), status, NOW)
            is not None
        )


async def test_everyone_is_every_resident_who_allows_news(ports: Ports) -> None:
    await _people(ports)
    assert await ports.audiences.user_ids(ALL, NOW) == [1, 2, 3, 4, 5]
    assert await ports.audiences.reachable([1, 10, 11, 12, 13, 14, 5, 99]) == {1, 5}
    assert await ports.audiences.reachable([]) == set()


async def test_a_complex_sport_or_session_audience(ports: Ports) -> None:
    await _people(ports)
    # Applications: 1 at c1 swim (pending), 2 at c2 swim, 3 at c1 yoga (rejected: not counted),
    # 11 at c1 (blocked: never reached).
    await ports.applications.insert(application("a1", user_id=1, complex_code="c1"))
    await ports.applications.insert(application("a2", user_id=2, complex_code="c2"))
    rejected = application("a3", user_id=3, complex_code="c1", sport_code="yoga")
    await ports.applications.insert(rejected)
    assert await ports.applications.replace_if_version(
        rejected.version, moved(rejected, ApplicationStatus.REJECTED)
    )
    await ports.applications.insert(application("a4", user_id=11, complex_code="c1"))
    # Sessions: s1 c1 yoga soon, s2 c1 yoga 40 days ago (too old), s3 c2 swim.
    await ports.sessions.insert(session("s1", complex_code="c1", sport_code="yoga"))
    await ports.sessions.insert(
        session("s2", complex_code="c1", sport_code="yoga", starts_at=NOW - timedelta(days=40))
    )
    await ports.sessions.insert(session("s3", complex_code="c2", sport_code="swim"))
    await _book(ports, "s1", 4, BookingStatus.WAITLISTED)
    await _book(ports, "s1", 3, BookingStatus.CANCELLED)  # cancelled: not of the session
    await _book(ports, "s2", 5, BookingStatus.ACTIVE)  # too long ago for the complex
    await _book(ports, "s3", 5, BookingStatus.ACTIVE)

    def complex_(code: str) -> Audience:
        return Audience(AudienceKind.COMPLEX, code, complex_code=code)

    audiences = ports.audiences
    assert await audiences.user_ids(complex_("c1"), NOW) == [1, 4]
    assert await audiences.user_ids(complex_("c2"), NOW) == [2, 5]
    assert await audiences.user_ids(Audience(AudienceKind.SPORT, "swim"), NOW) == [1, 2, 5]
    c1_only = Audience(AudienceKind.SPORT, "swim", complexes=frozenset({"c1"}))
    assert await audiences.user_ids(c1_only, NOW) == [1]
    assert await audiences.user_ids(Audience(AudienceKind.SPORT, "yoga"), NOW) == [4]
    session_audience = Audience(AudienceKind.SESSION, "s1", complex_code="c1")
    assert await audiences.user_ids(session_audience, NOW) == [4]
    nobody = Audience(AudienceKind.SESSION, "s9", complex_code="c1")
    assert await audiences.user_ids(nobody, NOW) == []
