"""Every migration goes up, down and up again on SecantusDB and leaves the same collections,
documents and indexes; an interrupted migration leaves the database dirty, which ``status``
shows and every later run refuses, until the operator records the version (``force``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect

from bot.bootstrap import Storage, build_storage
from bot.infra.mongo.client import Document
from bot.infra.mongo.migrations import (
    DIRTY_COLLECTION,
    MIGRATIONS,
    MIGRATIONS_COLLECTION,
    DirtyDatabase,
    Migration,
    MigrationError,
    applied_versions,
    force,
    latest_version,
    migrate,
    rollback,
    status,
)
from tests.integration.mongo.seed import NOW

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
VERSIONS = [m.version for m in MIGRATIONS]
# Migration 3's down drops its indexes and keeps the numbers it gave, and the counter they came
# from (residents and staff have seen them); every other down gives back the documents exactly.
# Fields by collection, "*" for the whole collection.
KEPT_BY_DOWN: dict[int, dict[str, set[str]]] = {3: {"applications": {"number"}, "counters": {"*"}}}

Snapshot = dict[str, tuple[list[Document], list[str]]]


async def snapshot(db: AsyncDatabase[Document]) -> Snapshot:
    """Documents (by _id) and index definitions of every collection but the bookkeeping ones;
    a collection with no documents and only the _id index counts as absent."""
    result: Snapshot = {}
    for name in sorted(await db.list_collection_names()):
        if name in (MIGRATIONS_COLLECTION, DIRTY_COLLECTION):
            continue
        documents = [doc async for doc in db[name].find({}).sort("_id", ASCENDING)]
        indexes = sorted(
            [
                json.dumps({k: v for k, v in index.items() if k not in ("v", "ns")}, sort_keys=True)
                async for index in await db[name].list_indexes()
            ]
        )
        if not documents and indexes == [json.dumps({"key": {"_id": 1}, "name": "_id_"})]:
            continue
        result[name] = (documents, indexes)
    return result


def indexes_of(state: Snapshot) -> dict[str, list[str]]:
    return {name: indexes for name, (_, indexes) in state.items() if len(indexes) > 1}


def documents_of(state: Snapshot, without: dict[str, set[str]] | None = None) -> dict[str, Any]:
    without = without or {}
    return {
        name: [{k: v for k, v in doc.items() if k not in without.get(name, set())} for doc in docs]
        for name, (docs, _) in state.items()
        if docs and "*" not in without.get(name, set())
    }


async def seed_version_zero(db: AsyncDatabase[Document]) -> None:
    """Documents as an old database holds them: applications without numbers, out of order."""
    await db.users.insert_many(
        [{"_id": 101, "name": "Анна", "name_lower": "анна", "phone": "+79160000001"}]
    )
    await db.applications.insert_many(
        [
            {
                "_id": f"app-{index}",
                "user_id": 101,
                "complex_code": "c1",
                "sport_code": sport,
                "status": "pending",
                "active": True,
                "created_at": NOW + timedelta(minutes=minutes),
            }
            for index, (sport, minutes) in enumerate((("swim", 30), ("gym", 10), ("tennis", 20)))
        ]
    )
    await db.bookings.insert_one(
        {"_id": "s1:101", "session_id": "s1", "user_id": 101, "status": "active", "created_at": NOW}
    )
    await db.outbox.insert_one({"_id": "n1", "status": "pending", "created_at": NOW})


@pytest.fixture
async def storage(mongo_url: str, mongo_db_name: str) -> AsyncIterator[Storage]:
    store = build_storage(mongo_url, mongo_db_name, app_name="tests")
    await seed_version_zero(store.db)
    yield store
    await store.close()


@pytest.fixture
async def reference(mongo_url: str) -> AsyncIterator[AsyncDatabase[Document]]:
    """A second database, seeded the same and migrated straight to the latest version."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    store = build_storage(mongo_url, name, app_name="tests")
    await seed_version_zero(store.db)
    await migrate(store.db)
    yield store.db
    await store.client.drop_database(name)
    await store.close()


async def test_every_migration_goes_up_down_and_up_again(storage: Storage) -> None:
    db = storage.db
    for position, migration in enumerate(MIGRATIONS):
        before = await snapshot(db)
        assert await migrate(db, to=migration.version) == [migration.version]
        after_up = await snapshot(db)
        assert indexes_of(after_up) != indexes_of(before), f"{migration.version} added nothing"

        assert await rollback(db) == [migration.version]
        after_down = await snapshot(db)
        assert await applied_versions(db) == VERSIONS[:position]
        assert indexes_of(after_down) == indexes_of(before), migration.version
        kept = KEPT_BY_DOWN.get(migration.version)
        assert documents_of(after_down, kept) == documents_of(before, kept), migration.version

        assert await migrate(db, to=migration.version) == [migration.version]
        assert await snapshot(db) == after_up, migration.version
    assert await applied_versions(db) == VERSIONS


async def test_the_whole_schema_rolls_back_to_nothing_and_up_again(
    storage: Storage, reference: AsyncDatabase[Document]
) -> None:
    db = storage.db
    assert await migrate(db) == VERSIONS
    migrated = await snapshot(db)
    assert migrated == await snapshot(reference)
    numbers = {d["_id"]: d["number"] for d in migrated["applications"][0]}
    assert numbers == {"app-1": 1, "app-2": 2, "app-0": 3}  # oldest first

    assert await rollback(db, to=0) == VERSIONS[::-1]
    assert await applied_versions(db) == []
    assert indexes_of(await snapshot(db)) == {}
    # The numbers stay through the rollback, and the migration does not renumber them.
    assert await db.applications.count_documents({"number": {"$exists": True}}) == 3

    assert await migrate(db) == VERSIONS
    assert await snapshot(db) == migrated


async def test_targets_outside_the_known_versions_are_refused(storage: Storage) -> None:
    db = storage.db
    with pytest.raises(MigrationError, match="nothing to roll back"):
        await rollback(db)
    with pytest.raises(MigrationError, match=f"no migration has version {latest_version() + 1}"):
        await migrate(db, to=latest_version() + 1)
    assert await migrate(db, to=2) == [1, 2]
    with pytest.raises(MigrationError, match="db rollback --to 1"):
        await migrate(db, to=1)
    with pytest.raises(MigrationError, match="db migrate --to 4"):
        await rollback(db, to=4)
    assert await applied_versions(db) == [1, 2]


def interrupted(version: int) -> list[Migration]:
    """The migrations with ``version``'s up failing midway: part of its work done, then the
    connection lost, as a killed run or a failover leaves it."""
    real = next(m for m in MIGRATIONS if m.version == version)

    async def up_then_fail(db: AsyncDatabase[Document]) -> None:
        await db.broadcasts.create_indexes([IndexModel([("state", ASCENDING)], name="half_done")])
        raise AutoReconnect("connection lost (injected)")

    return [replace(real, up=up_then_fail) if m is real else m for m in MIGRATIONS]


async def test_an_interrupted_migration_is_dirty_until_forced(
    storage: Storage, reference: AsyncDatabase[Document]
) -> None:
    db = storage.db
    with pytest.raises(AutoReconnect):
        await migrate(db, migrations=interrupted(4))
    state = await status(db)
    assert state.applied == [1, 2, 3]
    assert state.pending == [v for v in VERSIONS if v > 3]
    assert state.dirty is not None
    assert (state.dirty.version, state.dirty.direction) == (4, "up")

    for refused in (migrate(db), rollback(db), migrate(db, to=4)):
        with pytest.raises(DirtyDatabase, match="--force VERSION"):
            await refused
    assert await applied_versions(db) == [1, 2, 3]

    # The operator looked: migration 4 did not finish, so the schema is at 3.
    await db.broadcasts.drop_index("half_done")
    await force(db, 3)
    assert (await status(db)).dirty is None
    assert await migrate(db) == [v for v in VERSIONS if v > 3]
    assert await snapshot(db) == await snapshot(reference)


async def test_forcing_records_exactly_the_given_version(storage: Storage) -> None:
    db = storage.db
    await force(db, 4)
    assert await applied_versions(db) == [1, 2, 3, 4]
    await force(db, 2)
    assert await applied_versions(db) == [1, 2]
    with pytest.raises(MigrationError, match="no migration has version"):
        await force(db, latest_version() + 1)


def admin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "admin_tools.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def refused(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]


async def test_the_operator_cli_reports_recovers_and_rolls_back(
    storage: Storage, mongo_url: str, mongo_db_name: str
) -> None:
    """``admin_tools.py db ...`` as the operator runs it (each call is a process start, so the
    cases the functions above cover are not repeated here)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MONGO_", "TELEGRAM_"))}
    env = clean | {"MONGO_URL": mongo_url, "MONGO_DATABASE": mongo_db_name}
    later = [v for v in VERSIONS if v > 3]

    fresh = admin(env, "db", "status")
    assert fresh.returncode == 1
    assert f"schema version 0, latest {latest_version()}" in fresh.stdout
    assert f"pending: {', '.join(map(str, VERSIONS))}" in fresh.stdout
    assert "dirty: no" in fresh.stdout
    refused(admin(env, "db", "rollback", "--to", "-1"), 2, "not a schema version")

    # A run that dies inside migration 4 (here: in this process, through the same code).
    await migrate(storage.db, to=3)
    with pytest.raises(AutoReconnect):
        await migrate(storage.db, migrations=interrupted(4))
    dirty = admin(env, "db", "status")
    assert dirty.returncode == 3, dirty.stdout
    assert "dirty: migration 4 (up)" in dirty.stdout
    assert "applied: 1, 2, 3" in dirty.stdout
    refused(admin(env, "db", "migrate"), 1, "dirty", "migration 4 (up)", "--force VERSION")

    await storage.db.broadcasts.drop_index("half_done")
    forced = admin(env, "db", "migrate", "--force", "3")
    assert forced.returncode == 0, forced.stderr
    assert "recorded schema version 3" in forced.stdout
    assert f"pending: {', '.join(map(str, later))}" in forced.stdout
    finished = admin(env, "db", "migrate")
    assert finished.returncode == 0, finished.stderr
    assert f"applied migrations: {', '.join(map(str, later))}" in finished.stdout

    back = admin(env, "db", "rollback", "--to", "3")
    assert back.returncode == 0, back.stderr
    reverted = ", ".join(map(str, reversed(later)))
    assert f"rolled back migrations: {reverted} (now version 3)" in back.stdout
    assert await applied_versions(storage.db) == [1, 2, 3]
