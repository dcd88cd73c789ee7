"""What the gate costs MongoDB: every update reads the sender, only a change writes.

The product application (the handler harness's ``BotHarness``) runs over the real MongoDB
adapters on SecantusDB, with a command listener on the client; flood control and dialog state
stay in memory, so every command counted is one the storage adapters sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from bot import bootstrap
from bot.bootstrap import Storage
from bot.infra.mongo.client import Document
from bot.infra.mongo.migrations import migrate
from tests.fakes.clock import FakeClock
from tests.fakes.repositories import InMemoryStorage
from tests.handlers import harness as harness_module
from tests.handlers.harness import NOW, BotHarness, seed_catalog

WRITE_COMMANDS = frozenset({"insert", "update", "delete", "findAndModify"})


@dataclass
class CommandLog(monitoring.CommandListener):
    commands: list[tuple[str, str]] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        collection = event.command.get(event.command_name)
        self.commands.append((event.command_name, str(collection)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None

    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.commands if c[0] in WRITE_COMMANDS]


@dataclass
class MongoHarness:
    harness: BotHarness
    log: CommandLog
    storage: Storage


@pytest.fixture
async def mongo_harness(
    mongo_url: str, mongo_db_name: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MongoHarness]:
    log = CommandLog()

    def listened_client(url: str, **options: Any) -> AsyncMongoClient[Document]:
        return AsyncMongoClient(url, tz_aware=True, tzinfo=UTC, event_listeners=[log])

    monkeypatch.setattr(bootstrap, "create_mongo_client", listened_client)
    clock = FakeClock(NOW)
    storage = bootstrap.build_storage(mongo_url, mongo_db_name, app_name="gate", clock=clock)
    try:
        await migrate(storage.db)
        catalog = InMemoryStorage(clock)
        await seed_catalog(catalog)
        for district in await catalog.catalog.list_districts(include_inactive=True):
            await storage.catalog.upsert_district(district)
        for sport in await catalog.catalog.list_sports(include_inactive=True):
            await storage.catalog.upsert_sport(sport)
        for complex_ in await catalog.catalog.list_complexes(include_inactive=True):
            await storage.catalog.upsert_complex(complex_)
        # The harness builds its services, application and people over this storage.
        monkeypatch.setattr(harness_module, "InMemoryStorage", lambda clock: storage)
        harness = BotHarness()
        await harness.start()
        try:
            yield MongoHarness(harness, log, storage)
        finally:
            await harness.stop()
    finally:
        await storage.close()


async def test_navigating_the_menu_and_the_catalog_writes_nothing(
    mongo_harness: MongoHarness,
) -> None:
    person = await mongo_harness.harness.resident("Анна")
    menu = await person.say("/menu")
    log = mongo_harness.log
    log.commands.clear()

    districts = await person.press(menu, "Каталог ФОК")
    district = await person.press(districts, "Автозаводский")
    await person.press(district, "Олимп")
    again = await person.press(district, "Главное меню")

    assert "Анна" in again.text
    assert log.writes() == []
    # Each update read its sender (the gate), nothing more of the users collection.
    assert log.commands.count(("find", "users")) == 4


async def test_first_contact_writes_the_record_once_and_a_return_after_a_block_clears_the_mark(
    mongo_harness: MongoHarness,
) -> None:
    harness = mongo_harness.harness
    log = mongo_harness.log
    person = harness.person("Борис")
    await person.say("/start")
    assert ("findAndModify", "users") in log.writes()  # the bare record, on first contact

    log.commands.clear()
    await person.say("/start")
    assert [w for w in log.writes() if w[1] == "users"] == []

    # Marked unreachable (they had blocked the bot); writing again is the one change to store.
    await mongo_harness.storage.users.set_unreachable(person.id, True)
    log.commands.clear()
    await person.say("/start")
    assert [w for w in log.writes() if w[1] == "users"] == [("update", "users")]
    stored = await mongo_harness.storage.users.get(person.id)
    assert stored is not None
    assert stored.unreachable is False
    log.commands.clear()
    await person.say("/start")
    assert [w for w in log.writes() if w[1] == "users"] == []


async def test_the_gate_keeps_the_language_the_person_chose(mongo_harness: MongoHarness) -> None:
    harness = mongo_harness.harness
    person = await harness.resident("Вера", language="ru")
    stored = await mongo_harness.storage.users.get(person.id)
    assert stored is not None
    await mongo_harness.storage.users.save(replace(stored, language="en"))
    mongo_harness.log.commands.clear()
    await person.say("/menu")  # Telegram still says "ru"
    assert mongo_harness.log.writes() == []
    again = await mongo_harness.storage.users.get(person.id)
    assert again is not None
    assert again.language == "en"
