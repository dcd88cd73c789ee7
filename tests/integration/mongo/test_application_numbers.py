"""Migration 3 numbers the applications stored before numbers existed, oldest first, once; new
applications continue the sequence; a number is unique in the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pymongo.errors import DuplicateKeyError

from bot.bootstrap import Storage, build_storage
from bot.infra.mongo.migrations import MIGRATIONS, MIGRATIONS_COLLECTION, migrate
from tests.fakes.clock import FakeClock
from tests.integration.mongo.seed import NOW

pytestmark = pytest.mark.integration


@pytest.fixture
async def old_storage(mongo_url: str, mongo_db_name: str) -> AsyncIterator[Storage]:
    """A database at schema version 2, before application numbers."""
    store = build_storage(mongo_url, mongo_db_name, app_name="tests", clock=FakeClock(NOW))
    for migration in MIGRATIONS:
        if migration.version < 3:
            await migration.up(store.db)
            await store.db[MIGRATIONS_COLLECTION].insert_one(
                {"_id": migration.version, "description": migration.description, "at": NOW}
            )
    yield store
    await store.close()


def old_document(app_id: str, minutes: int, user_id: int) -> dict[str, object]:
    at = NOW + timedelta(minutes=minutes)
    return {
        "_id": app_id,
        "user_id": user_id,
        "complex_code": "c1",
        "sport_code": "swim",
        "status": "pending",
        "active": True,
        "version": 1,
        "created_at": at,
        "updated_at": at,
        "comment": None,
        "applicant_name": f"Житель {user_id}",
        "applicant_phone": None,
        "history": [
            {
                "from": None,
                "to": "pending",
                "actor_id": user_id,
                "actor_kind": "applicant",
                "at": at,
                "comment": None,
            }
        ],
    }


async def test_old_applications_are_numbered_oldest_first_and_new_ones_follow(
    old_storage: Storage,
) -> None:
    db = old_storage.db
    # Stored out of order; the same moment twice (then by id).
    for app_id, minutes, user in (("c", 5, 3), ("a", 0, 1), ("d", 5, 4), ("b", 2, 2)):
        await db.applications.insert_one(old_document(app_id, minutes, user))

    applied = await migrate(db)
    assert applied[0] == 3  # and whatever came after it
    numbers = {d["_id"]: d["number"] async for d in db.applications.find()}
    assert numbers == {"a": 1, "b": 2, "c": 3, "d": 4}
    stored = await old_storage.applications.get("c")
    assert stored is not None
    assert stored.number == 3

    assert await migrate(db) == []  # applied once
    assert {d["_id"]: d["number"] async for d in db.applications.find()} == numbers
    assert await old_storage.applications.next_number() == 5  # the counter went on

    copy = old_document("e", 9, 5) | {"number": 4}
    with pytest.raises(DuplicateKeyError):  # one number, one application
        await db.applications.insert_one(copy)
