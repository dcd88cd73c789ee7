"""Faults under a steady stream of residents registering: nothing confirmed is lost.

Each test runs three bot instances behind HAProxy over TLS, residents registering and asking for
help in waves (tests/e2e/cluster/traffic.py), and breaks one part of the cluster while they do:
a bot instance killed and restarted again and again, HAProxy reloaded with an edited
configuration, the database stopped and started, the database's disk filled up, a Redis Cluster
master killed. Afterwards every update has been delivered with a 200, every resident is registered
with their own name and phone, and no reply is missing; a repeated reply only ever comes from an
update whose first delivery the fault interrupted.

`make test` runs a short version of each; `make chaos` the long one (FOK_CHAOS_ROUNDS=10 kills,
FOK_CHAOS_DB_OUTAGE_S=30), the figures of which docs/reliability.md quotes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from devcluster.redis import RedisClusterServer
from devcluster.secantus import SecantusServer
from telegram_emulator.client import EmulatorClient
from tests.e2e.cluster.traffic import Crowd, bot_message_counts, create_crowd, registered_users
from tests.e2e.conftest import BotStack, StackFactory, StackOptions

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROUNDS = int(os.environ.get("FOK_CHAOS_ROUNDS", "3"))
DB_OUTAGE_S = float(os.environ.get("FOK_CHAOS_DB_OUTAGE_S", "8"))
DISK_FULL_S = float(os.environ.get("FOK_CHAOS_DISK_FULL_S", "6"))
THREE_BEHIND_HAPROXY = StackOptions(instances=3, haproxy=True)
WAVE_GAP_S = 1.0


@dataclass
class Stream:
    """Residents registering, then asking /help once a wave until told to stop."""

    client: EmulatorClient
    crowd: Crowd
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    waves: int = 0
    _wave_done: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def until_waves(self, count: int) -> None:
        async with self._wave_done:
            await self._wave_done.wait_for(lambda: self.waves >= count)

    async def run(self) -> None:
        steps: list[Callable[..., object]] = [
            lambda r: self.client.send_text(r.user_id, "/start"),
            lambda r: self.client.send_text(r.user_id, r.name),
            lambda r: self.client.send_contact(r.user_id),
        ]
        index = 0
        while index < len(steps) or not self.stop.is_set():
            step = steps[index] if index < len(steps) else steps_help(self.client)
            results = await asyncio.gather(*(step(r) for r in self.crowd.residents))  # type: ignore[misc]
            for resident, result in zip(self.crowd.residents, results, strict=True):
                resident.update_ids.append(result["update_id"])
            index += 1
            async with self._wave_done:
                self.waves += 1
                self._wave_done.notify_all()
            await asyncio.sleep(WAVE_GAP_S)


def steps_help(client: EmulatorClient) -> Callable[..., object]:
    return lambda r: client.send_text(r.user_id, "/help")


_running: list[asyncio.Task[None]] = []


@pytest.fixture(autouse=True)
async def _streams_end_with_the_test() -> AsyncIterator[None]:
    yield
    for task in _running:
        task.cancel()
    await asyncio.gather(*_running, return_exceptions=True)
    _running.clear()


async def start_stream(stack: BotStack, residents: int) -> tuple[Stream, asyncio.Task[None]]:
    crowd = await create_crowd(stack.client, residents, help_requests=0)
    stream = Stream(stack.client, crowd)
    task = asyncio.create_task(stream.run())
    _running.append(task)
    # Everyone is past registration's first step before the fault.
    await stream.until_waves(2)
    return stream, task


async def finish(stream: Stream, task: asyncio.Task[None], *, waves_after: int = 2) -> None:
    """A few more waves after the fault, then wait until the emulator has nothing pending."""
    await stream.until_waves(stream.waves + waves_after)
    stream.stop.set()
    await task
    await stream.client.wait_idle(timeout=240)


@dataclass(frozen=True)
class Outcome:
    updates: int
    failed_attempts: int
    repeated_replies: int


async def assert_nothing_lost(
    stack: BotStack, stream: Stream, fault_windows: list[tuple[float, float]]
) -> Outcome:
    """Every update answered 200, every resident registered, no reply missing; extra replies
    only in chats that had an update in flight while a fault was on."""
    client = stack.client
    crowd = stream.crowd
    counters = await client.counters()
    assert counters["webhook_dropped"] == 0
    deliveries = await client.deliveries()
    delivered = {d["update_id"] for d in deliveries if d["outcome"] == "ok"}
    every_update = {u for r in crowd.residents for u in r.update_ids}
    assert delivered == every_update, f"{len(every_update - delivered)} updates never answered 200"

    users = await registered_users(stack.mongo(), crowd)
    assert len(users) == len(crowd.residents)
    for resident in crowd.residents:
        assert (users[resident.user_id]["name"], users[resident.user_id]["phone"]) == (
            resident.name,
            resident.phone,
        )

    counts = await bot_message_counts(client, crowd)
    expected = {r.user_id: len(r.update_ids) for r in crowd.residents}
    missing = {chat: (counts[chat], want) for chat, want in expected.items() if counts[chat] < want}
    assert not missing, f"replies missing (got, want): {missing}"
    chat_of = {u: r.user_id for r in crowd.residents for u in r.update_ids}
    interrupted = {
        chat_of[d["update_id"]]
        for d in deliveries
        if d["outcome"] != "ok"
        and any(
            d["started_at"] <= end and (d["finished_at"] or end) >= begin
            for begin, end in fault_windows
        )
    }
    repeated = {chat for chat, want in expected.items() if counts[chat] > want}
    assert repeated <= interrupted, (repeated - interrupted, "a reply repeated without a fault")
    return Outcome(
        updates=len(every_update),
        failed_attempts=sum(1 for d in deliveries if d["outcome"] != "ok"),
        repeated_replies=sum(counts[chat] - expected[chat] for chat in repeated),
    )


@pytest.mark.parametrize("bot_stack", [THREE_BEHIND_HAPROXY], indirect=True)
async def test_instances_killed_and_restarted_again_and_again(bot_stack: BotStack) -> None:
    edge = bot_stack.edge
    assert edge is not None
    stream, task = await start_stream(bot_stack, residents=15)
    windows = []
    for round_ in range(ROUNDS):
        index = round_ % 3
        name = f"bot{index + 1}"
        began = time.time()
        await bot_stack.kill_instance(index)
        await edge.wait_for_states({name: "DOWN"})
        await bot_stack.start_instance(index)
        await edge.wait_for_states({name: "UP"})
        # In-flight marks of the killed process expire 10 s after it took the update.
        windows.append((began, time.time() + 10))
    await finish(stream, task)
    outcome = await assert_nothing_lost(bot_stack, stream, windows)
    print(
        f"\n{ROUNDS} SIGKILLs and restarts under {outcome.updates} updates: 0 lost, "
        f"{outcome.failed_attempts} delivery attempts retried, "
        f"{outcome.repeated_replies} replies repeated for interrupted updates"
    )


@pytest.mark.parametrize(
    "bot_stack", [StackOptions(instances=3, haproxy=True, reloadable_edge=True)], indirect=True
)
async def test_haproxy_reloaded_with_an_edited_configuration_fails_no_delivery(
    bot_stack: BotStack,
) -> None:
    edge = bot_stack.edge
    assert edge is not None
    stream, task = await start_stream(bot_stack, residents=15)
    config = edge.config_path
    config.write_text(
        config.read_text().replace('stats realm "FOK Bot HAProxy"', 'stats realm "FOK Bot edited"')
    )
    began = time.time()
    for _ in range(2):  # twice: a reload after a reload is what a deploy does
        await asyncio.to_thread(edge.reload)

        async def realm_is_edited() -> bool:
            async with httpx.AsyncClient(timeout=5) as http:
                response = await http.get(edge.stats_url)
            return "FOK Bot edited" in response.headers.get("www-authenticate", "")

        deadline = time.monotonic() + 20
        while not await realm_is_edited():
            assert time.monotonic() < deadline, "the reload did not apply the edited config"
            await asyncio.sleep(0.1)
        await asyncio.sleep(WAVE_GAP_S)
    await finish(stream, task)
    counters = await bot_stack.client.counters()
    assert counters["webhook_failures"] == 0, [
        (d["update_id"], d["attempt"], d["outcome"], d["status_code"], d["error"])
        for d in await bot_stack.client.deliveries()
        if d["outcome"] != "ok"
    ]
    assert counters["webhook_retries"] == 0
    outcome = await assert_nothing_lost(bot_stack, stream, [(began, time.time())])
    assert outcome.repeated_replies == 0
    print(f"\ntwo HAProxy reloads under {outcome.updates} updates: 0 failed deliveries")


async def test_database_stopped_and_started_again(
    make_secantus: Callable[..., SecantusServer],
    make_bot_stack: StackFactory,
    tmp_path: Path,
) -> None:
    database = make_secantus(storage_path=tmp_path / "db")
    stack = await make_bot_stack(StackOptions(instances=3, haproxy=True, mongo_url=database.url))
    edge = stack.edge
    assert edge is not None
    stream, task = await start_stream(stack, residents=15)
    began = time.time()
    await asyncio.to_thread(database.stop)
    # Readiness fails everywhere: HAProxy takes every instance out; Telegram (the emulator)
    # keeps retrying with its backoff.
    await edge.wait_for_states({"bot1": "DOWN", "bot2": "DOWN", "bot3": "DOWN"}, within_s=30)
    await asyncio.sleep(DB_OUTAGE_S)
    await asyncio.to_thread(database.start)
    await edge.wait_for_states({"bot1": "UP", "bot2": "UP", "bot3": "UP"}, within_s=60)
    ended = time.time()
    await finish(stream, task)
    outcome = await assert_nothing_lost(stack, stream, [(began, ended)])
    assert outcome.failed_attempts > 0, "the outage was never seen by a delivery"
    print(
        f"\nSecantusDB down {ended - began:.0f} s under {outcome.updates} updates: 0 lost, "
        f"{outcome.failed_attempts} delivery attempts retried by the emulator, "
        f"{outcome.repeated_replies} replies repeated"
    )


async def test_redis_cluster_master_killed(
    make_redis_cluster: Callable[[], RedisClusterServer],
    make_bot_stack: StackFactory,
) -> None:
    cluster = make_redis_cluster()
    stack = await make_bot_stack(
        StackOptions(instances=3, haproxy=True, redis_nodes=tuple(cluster.startup_nodes))
    )
    pids = [instance.pid for instance in stack.instances]
    stream, task = await start_stream(stack, residents=15)
    began = time.time()
    await asyncio.to_thread(cluster.kill_master)
    # Its replica is promoted after the cluster's node timeout; the bots answer 503 meanwhile
    # for what needs the lost slots, and Telegram (the emulator) redelivers.
    await asyncio.to_thread(cluster.wait_until_healthy, 60)
    ended = time.time()
    await finish(stream, task, waves_after=4)
    # The bots recovered without a restart.
    assert [instance.pid for instance in stack.instances] == pids
    outcome = await assert_nothing_lost(stack, stream, [(began, ended + 15)])
    print(
        f"\nRedis master SIGKILLed under {outcome.updates} updates: 0 lost, "
        f"{outcome.failed_attempts} delivery attempts retried, "
        f"{outcome.repeated_replies} replies repeated"
    )


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs of its own (mounting needs root, as CI and `make test` run here), so that
    the database's disk can be filled without touching the machine's."""
    mount = tmp_path / "small-fs"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert mounted.returncode == 0, f"cannot mount a size-limited tmpfs: {mounted.stderr}"
    try:
        yield mount
    finally:
        # Lazy: the database of the test may still be stopping when the fixture ends.
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write zeros into ``directory`` until its filesystem has no byte left."""
    filler = directory / "filler"
    block = bytes(1 << 20)
    with filler.open("wb") as out:
        try:
            while True:
                out.write(block)
                out.flush()
        except OSError:
            pass
    assert shutil.disk_usage(directory).free < len(block)
    return filler


async def create_the_scratch_collection(url: str) -> None:
    """Before the disk is full: creating a collection needs space of its own."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url, timeoutMS=20_000)
    try:
        await client["fok_disk_full_scratch"]["padding"].insert_one({"_id": "created"})
    finally:
        await client.close()


async def exhaust_the_log(url: str) -> int:
    """Write padding through a client of its own until the database refuses: WiredTiger's log
    file was preallocated, so small writes would still fit in it for a while. Returns how many
    padding documents were accepted."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url, timeoutMS=20_000)
    try:
        scratch = client["fok_disk_full_scratch"]["padding"]
        for accepted in range(10_000):
            try:
                await scratch.insert_one({"_id": accepted, "pad": "x" * 50_000})
            except PyMongoError:
                return accepted
        raise AssertionError("the database never refused a write on a full disk")
    finally:
        await client.close()


async def test_database_disk_full(
    small_filesystem: Path,
    make_secantus: Callable[..., SecantusServer],
    make_bot_stack: StackFactory,
) -> None:
    """The database's filesystem fills up under traffic: the bots answer 5xx (Telegram, here the
    emulator, redelivers), never 200 with the write lost; once space is freed and the database
    restarted, every journey completes and every write acknowledged before is still there."""
    # Synced commits, as mongod's journal gives the bot's `w: majority` writes: what was
    # acknowledged is on disk, and a write that needs space is refused at once.
    database = make_secantus(storage_path=small_filesystem / "db", sync_on_commit=True)
    await create_the_scratch_collection(database.url)
    stack = await make_bot_stack(StackOptions(instances=3, haproxy=True, mongo_url=database.url))
    stream, task = await start_stream(stack, residents=15)
    began = time.time()
    filler = await asyncio.to_thread(fill, small_filesystem)
    padding = await exhaust_the_log(database.url)

    async def a_delivery_failed() -> bool:
        deliveries = await stack.client.deliveries()
        return any(d["outcome"] != "ok" and d["started_at"] >= began for d in deliveries)

    deadline = time.monotonic() + 120
    while not await a_delivery_failed():
        assert time.monotonic() < deadline, "no delivery failed while the disk was full"
        await asyncio.sleep(0.5)
    await asyncio.sleep(DISK_FULL_S)
    # The operator frees space and restarts the database; WiredTiger recovers from its log.
    filler.unlink()
    await asyncio.to_thread(database.process.kill)
    await asyncio.to_thread(database.start)
    ended = time.time()
    await finish(stream, task, waves_after=3)
    outcome = await assert_nothing_lost(stack, stream, [(began, ended + 15)])
    assert outcome.failed_attempts > 0
    print(
        f"\ndisk full for {ended - began:.0f} s ({padding} padding writes accepted first) under "
        f"{outcome.updates} updates: 0 lost, {outcome.failed_attempts} delivery attempts "
        f"refused and retried, {outcome.repeated_replies} replies repeated"
    )
