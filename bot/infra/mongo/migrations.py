"""Versioned, reversible schema migrations: ``admin_tools.py db migrate | rollback | status``.

Every migration has an ``up`` and a ``down``, both idempotent, so a step interrupted midway can
be run again. The applied versions are documents of ``schema_migrations`` (``_id``: the version).
While a step runs, a single document in ``schema_migrations_dirty`` marks the database dirty:
a step that fails or is killed leaves it behind, and every later ``migrate`` or ``rollback``
refuses until the operator has looked at the database and recorded the version it is really at
(``db migrate --force VERSION``). The mark doubles as a lock: two runs at once cannot both set it.

A new migration is one more ``Migration`` at the end of ``MIGRATIONS`` with the next version; a
migration that only adds indexes is ``Migration.of_indexes(version, description, {...})``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from bot.infra.mongo.client import Document

MIGRATIONS_COLLECTION = "schema_migrations"
DIRTY_COLLECTION = "schema_migrations_dirty"
_DIRTY_ID = "dirty"
# What dropping an index that is not there answers: the collection or the index is missing.
_NAMESPACE_NOT_FOUND = 26
_INDEX_NOT_FOUND = 27

Step = Callable[[AsyncDatabase[Document]], Awaitable[None]]
Direction = Literal["up", "down"]


@dataclass(frozen=True)
class IndexSet:
    """Indexes by collection: created by an ``up``, dropped by name by its ``down``."""

    by_collection: Mapping[str, Sequence[IndexModel]]

    async def create(self, db: AsyncDatabase[Document]) -> None:
        for collection, indexes in self.by_collection.items():
            await db[collection].create_indexes(list(indexes))

    async def drop(self, db: AsyncDatabase[Document]) -> None:
        for collection, indexes in self.by_collection.items():
            for index in indexes:
                try:
                    await db[collection].drop_index(index.document["name"])
                except OperationFailure as error:
                    if error.code not in (_NAMESPACE_NOT_FOUND, _INDEX_NOT_FOUND):
                        raise


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    up: Step
    down: Step

    @classmethod
    def of_indexes(
        cls, version: int, description: str, indexes: Mapping[str, Sequence[IndexModel]]
    ) -> Migration:
        index_set = IndexSet(indexes)
        return cls(version, description, index_set.create, index_set.drop)


@dataclass(frozen=True)
class DirtyMark:
    version: int
    direction: Direction
    at: datetime


@dataclass(frozen=True)
class SchemaStatus:
    applied: list[int]
    pending: list[int]
    dirty: DirtyMark | None
    latest: int

    @property
    def current(self) -> int:
        return max(self.applied, default=0)


class MigrationError(Exception):
    """A request the migrations refuse; the message says what to do."""


class DirtyDatabase(MigrationError):
    def __init__(self, mark: DirtyMark | None) -> None:
        self.mark = mark
        where = (
            f"migration {mark.version} ({mark.direction}) did not finish, started {mark.at:%Y-%m-%d %H:%M:%S} UTC"
            if mark
            else "another migration is running"
        )
        super().__init__(
            f"the database is dirty: {where}. Check the database, then record the version it is "
            "at with `db migrate --force VERSION`"
        )


_INITIAL = IndexSet(
    {
        "users": [
            IndexModel([("phone", ASCENDING)], name="phone"),
            IndexModel([("role", ASCENDING)], name="role", sparse=True),
            IndexModel([("name_lower", ASCENDING)], name="name_lower"),
        ],
        "districts": [IndexModel([("sort_order", ASCENDING)], name="order")],
        "complexes": [
            IndexModel(
                [("district", ASCENDING), ("featured", DESCENDING), ("sort_order", ASCENDING)],
                name="district_order",
            ),
            IndexModel([("sports", ASCENDING)], name="sports"),
        ],
        "applications": [
            # One active application per user, complex and sport: enforced by the database.
            IndexModel(
                [("user_id", ASCENDING), ("complex_code", ASCENDING), ("sport_code", ASCENDING)],
                name="one_active_per_user_complex_sport",
                unique=True,
                partialFilterExpression={"active": True},
            ),
            IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING)], name="by_user"),
            IndexModel(
                [("status", ASCENDING), ("complex_code", ASCENDING), ("created_at", ASCENDING)],
                name="inbox",
            ),
        ],
        "sessions": [
            IndexModel(
                [("complex_code", ASCENDING), ("starts_at", ASCENDING)], name="complex_time"
            ),
            IndexModel([("starts_at", ASCENDING)], name="time"),
        ],
        "session_templates": [IndexModel([("complex_code", ASCENDING)], name="complex")],
        "bookings": [
            # _id is "<session>:<user>", which already makes a second booking impossible;
            # this index states the invariant independently of how ids are built.
            IndexModel(
                [("session_id", ASCENDING), ("user_id", ASCENDING)],
                name="one_per_user_session",
                unique=True,
            ),
            IndexModel(
                [("session_id", ASCENDING), ("status", ASCENDING), ("queued_at", ASCENDING)],
                name="waitlist_order",
            ),
            IndexModel([("user_id", ASCENDING), ("created_at", DESCENDING)], name="by_user"),
            IndexModel([("status", ASCENDING), ("offer_expires_at", ASCENDING)], name="offers"),
        ],
        "reminders": [
            IndexModel([("status", ASCENDING), ("due_at", ASCENDING)], name="due"),
            IndexModel([("booking_id", ASCENDING)], name="booking"),
        ],
        "audit_log": [IndexModel([("at", DESCENDING)], name="recent")],
    }
)

_CHECKIN_CODES_AND_NO_SHOWS = {
    "bookings": [
        # A check-in code names one booking of its session: staff type it at the door.
        IndexModel(
            [("session_id", ASCENDING), ("checkin_code", ASCENDING)],
            name="one_checkin_code_per_session",
            unique=True,
            partialFilterExpression={"checkin_code": {"$exists": True}},
        ),
        # A resident's no-shows by when they were marked (the no-show rule at booking).
        IndexModel(
            [("user_id", ASCENDING), ("attendance", ASCENDING), ("attendance_at", ASCENDING)],
            name="attendance_by_user",
        ),
    ]
}

_APPLICATION_NUMBER_INDEXES = IndexSet(
    {
        "applications": [
            IndexModel([("number", ASCENDING)], name="number", unique=True, sparse=True),
            IndexModel([("created_at", DESCENDING)], name="newest"),
        ],
        "audit_log": [
            IndexModel([("actor_id", ASCENDING), ("at", DESCENDING)], name="by_actor"),
            IndexModel(
                [("target_type", ASCENDING), ("target_id", ASCENDING), ("at", DESCENDING)],
                name="by_target",
            ),
        ],
    }
)


async def _number_applications(db: AsyncDatabase[Document]) -> None:
    """Every application gets a sequential number from the counter, oldest first; new ones draw
    theirs at submit (``MongoApplicationRepository.next_number``). Staff look applications up by
    number, and audit entries by actor and object."""
    cursor = db.applications.find({"number": {"$exists": False}}, {"_id": 1}).sort(
        [("created_at", ASCENDING), ("_id", ASCENDING)]
    )
    async for doc in cursor:
        counter = await db.counters.find_one_and_update(
            {"_id": "applications"},
            {"$inc": {"seq": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if counter is None:
            raise RuntimeError("the application number counter returned nothing")
        await db.applications.update_one(
            {"_id": doc["_id"], "number": {"$exists": False}}, {"$set": {"number": counter["seq"]}}
        )
    await _APPLICATION_NUMBER_INDEXES.create(db)


async def _unindex_application_numbers(db: AsyncDatabase[Document]) -> None:
    """The indexes go; the numbers stay on the applications (and the counter where it is): staff
    and residents have seen them, version-2 code ignores the field, and applying the migration
    again keeps every number an application already has."""
    await _APPLICATION_NUMBER_INDEXES.drop(db)


_BROADCASTS = {
    # Broadcasts run in the order they were queued; each has one record per recipient, which
    # the database keeps unique, so a broadcast resumed after a crash cannot send twice.
    "broadcasts": [
        IndexModel([("state", ASCENDING), ("queued_at", ASCENDING)], name="queue"),
        IndexModel([("author_id", ASCENDING), ("queued_at", DESCENDING)], name="by_author"),
        IndexModel([("queued_at", DESCENDING)], name="recent"),
    ],
    "broadcast_recipients": [
        IndexModel(
            [("broadcast_id", ASCENDING), ("user_id", ASCENDING)],
            name="one_per_broadcast_user",
            unique=True,
        ),
        IndexModel(
            [("broadcast_id", ASCENDING), ("state", ASCENDING), ("next_at", ASCENDING)],
            name="claim",
        ),
    ],
}

_DELIVERY_CLAIMS = {
    # Workers claim outbox entries that are pending past their next attempt (or whose claim
    # lapsed), oldest first; the gauges count the backlog and the parked ones. The reminders'
    # (status, due_at) index serves their claims already; the outbox had none.
    "outbox": [
        IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="claimable"),
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="backlog"),
    ]
}


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial indexes and invariants", _INITIAL.create, _INITIAL.drop),
    Migration.of_indexes(
        2, "check-in codes unique per session, no-shows", _CHECKIN_CODES_AND_NO_SHOWS
    ),
    Migration(
        3,
        "application numbers; audit log by actor and object",
        _number_applications,
        _unindex_application_numbers,
    ),
    Migration.of_indexes(
        4, "broadcasts: the queue, one record per broadcast and user", _BROADCASTS
    ),
    Migration.of_indexes(5, "outbox: claims by next attempt, backlog by age", _DELIVERY_CLAIMS),
)


def latest_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return max(m.version for m in migrations)


async def applied_versions(db: AsyncDatabase[Document]) -> list[int]:
    return sorted([doc["_id"] async for doc in db[MIGRATIONS_COLLECTION].find({}, {"_id": 1})])


async def dirty_mark(db: AsyncDatabase[Document]) -> DirtyMark | None:
    doc = await db[DIRTY_COLLECTION].find_one({"_id": _DIRTY_ID})
    if doc is None:
        return None
    return DirtyMark(version=int(doc["version"]), direction=doc["direction"], at=doc["at"])


async def status(
    db: AsyncDatabase[Document], migrations: Sequence[Migration] = MIGRATIONS
) -> SchemaStatus:
    applied = await applied_versions(db)
    known = sorted(m.version for m in migrations)
    return SchemaStatus(
        applied=applied,
        pending=[v for v in known if v not in applied],
        dirty=await dirty_mark(db),
        latest=latest_version(migrations),
    )


def _target(version: int, migrations: Sequence[Migration]) -> int:
    known = {m.version for m in migrations}
    if version != 0 and version not in known:
        raise MigrationError(
            f"no migration has version {version} (known: 0 for none, "
            f"{', '.join(map(str, sorted(known)))})"
        )
    return version


async def _run(db: AsyncDatabase[Document], migration: Migration, direction: Direction) -> None:
    """One step under the dirty mark: the mark is removed only once the step and its record are
    written, so a failure or a kill anywhere in between leaves it for ``status`` to show."""
    try:
        await db[DIRTY_COLLECTION].insert_one(
            {
                "_id": _DIRTY_ID,
                "version": migration.version,
                "direction": direction,
                "at": datetime.now(UTC),
            }
        )
    except DuplicateKeyError:
        raise DirtyDatabase(await dirty_mark(db)) from None
    if direction == "up":
        await migration.up(db)
        await db[MIGRATIONS_COLLECTION].update_one(
            {"_id": migration.version},
            {"$setOnInsert": {"description": migration.description, "at": datetime.now(UTC)}},
            upsert=True,
        )
    else:
        await migration.down(db)
        await db[MIGRATIONS_COLLECTION].delete_one({"_id": migration.version})
    await db[DIRTY_COLLECTION].delete_one({"_id": _DIRTY_ID})


async def migrate(
    db: AsyncDatabase[Document],
    to: int | None = None,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[int]:
    """Apply the migrations not applied yet, in order, up to ``to`` (default: all); return the
    versions applied now."""
    mark = await dirty_mark(db)
    if mark is not None:
        raise DirtyDatabase(mark)
    target = latest_version(migrations) if to is None else _target(to, migrations)
    done = set(await applied_versions(db))
    beyond = sorted(v for v in done if v > target)
    if beyond:
        raise MigrationError(
            f"version {beyond[-1]} is applied, above {target}: "
            f"use `db rollback --to {target}` to go back"
        )
    applied: list[int] = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version in done or migration.version > target:
            continue
        await _run(db, migration, "up")
        applied.append(migration.version)
    return applied


async def rollback(
    db: AsyncDatabase[Document],
    to: int | None = None,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> list[int]:
    """Revert the applied migrations above ``to`` (default: the last one), newest first; return
    the versions reverted now."""
    mark = await dirty_mark(db)
    if mark is not None:
        raise DirtyDatabase(mark)
    done = await applied_versions(db)
    if not done:
        raise MigrationError("no migration is applied: nothing to roll back")
    by_version = {m.version: m for m in migrations}
    unknown = [v for v in done if v not in by_version]
    if unknown:
        raise MigrationError(
            f"version {unknown[-1]} is applied but this code does not know it: "
            "roll back with the release that added it"
        )
    if to is None:
        target = done[-2] if len(done) > 1 else 0
    else:
        target = _target(to, migrations)
        if target > done[-1]:
            raise MigrationError(
                f"the schema is at version {done[-1]}, below {target}: use `db migrate --to {target}`"
            )
    reverted: list[int] = []
    for version in reversed(done):
        if version <= target:
            break
        await _run(db, by_version[version], "down")
        reverted.append(version)
    return reverted


async def force(
    db: AsyncDatabase[Document],
    version: int,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> None:
    """Record that the schema is exactly at ``version`` (every migration up to it applied, none
    above) and clear the dirty mark; nothing is run. For after an operator has checked."""
    target = _target(version, migrations)
    now = datetime.now(UTC)
    for migration in migrations:
        if migration.version <= target:
            await db[MIGRATIONS_COLLECTION].update_one(
                {"_id": migration.version},
                {
                    "$setOnInsert": {
                        "description": migration.description,
                        "at": now,
                        "forced": True,
                    }
                },
                upsert=True,
            )
    await db[MIGRATIONS_COLLECTION].delete_many({"_id": {"$gt": target}})
    await db[DIRTY_COLLECTION].delete_one({"_id": _DIRTY_ID})
