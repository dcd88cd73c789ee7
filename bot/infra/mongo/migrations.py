"""Versioned, idempotent schema migrations (indexes). Applied by ``admin_tools.py db migrate``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from bot.infra.mongo.client import Document

MIGRATIONS_COLLECTION = "schema_migrations"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[AsyncDatabase[Document]], Awaitable[None]]


async def _initial_indexes(db: AsyncDatabase[Document]) -> None:
    await db.users.create_indexes(
        [
            IndexModel([("phone", ASCENDING)], name="phone"),
            IndexModel([("role", ASCENDING)], name="role", sparse=True),
            IndexModel([("name_lower", ASCENDING)], name="name_lower"),
        ]
    )
    await db.districts.create_indexes([IndexModel([("sort_order", ASCENDING)], name="order")])
    await db.complexes.create_indexes(
        [
            IndexModel(
                [("district", ASCENDING), ("featured", DESCENDING), ("sort_order", ASCENDING)],
                name="district_order",
            ),
            IndexModel([("sports", ASCENDING)], name="sports"),
        ]
    )
    await db.applications.create_indexes(
        [
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
        ]
    )
    await db.sessions.create_indexes(
        [
            IndexModel(
                [("complex_code", ASCENDING), ("starts_at", ASCENDING)], name="complex_time"
            ),
            IndexModel([("starts_at", ASCENDING)], name="time"),
        ]
    )
    await db.session_templates.create_indexes(
        [IndexModel([("complex_code", ASCENDING)], name="complex")]
    )
    await db.bookings.create_indexes(
        [
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
        ]
    )
    await db.reminders.create_indexes(
        [
            IndexModel([("status", ASCENDING), ("due_at", ASCENDING)], name="due"),
            IndexModel([("booking_id", ASCENDING)], name="booking"),
        ]
    )
    await db.audit_log.create_indexes([IndexModel([("at", DESCENDING)], name="recent")])


async def _checkin_codes_and_no_shows(db: AsyncDatabase[Document]) -> None:
    await db.bookings.create_indexes(
        [
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
    )


async def _application_numbers(db: AsyncDatabase[Document]) -> None:
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
    await db.applications.create_indexes(
        [
            IndexModel([("number", ASCENDING)], name="number", unique=True, sparse=True),
            IndexModel([("created_at", DESCENDING)], name="newest"),
        ]
    )
    await db.audit_log.create_indexes(
        [
            IndexModel([("actor_id", ASCENDING), ("at", DESCENDING)], name="by_actor"),
            IndexModel(
                [("target_type", ASCENDING), ("target_id", ASCENDING), ("at", DESCENDING)],
                name="by_target",
            ),
        ]
    )


async def _broadcasts(db: AsyncDatabase[Document]) -> None:
    """Broadcasts run in the order they were queued; each has one record per recipient, which
    the database keeps unique, so a broadcast resumed after a crash cannot send twice."""
    await db.broadcasts.create_indexes(
        [
            IndexModel([("state", ASCENDING), ("queued_at", ASCENDING)], name="queue"),
            IndexModel([("author_id", ASCENDING), ("queued_at", DESCENDING)], name="by_author"),
            IndexModel([("queued_at", DESCENDING)], name="recent"),
        ]
    )
    await db.broadcast_recipients.create_indexes(
        [
            IndexModel(
                [("broadcast_id", ASCENDING), ("user_id", ASCENDING)],
                name="one_per_broadcast_user",
                unique=True,
            ),
            IndexModel(
                [("broadcast_id", ASCENDING), ("state", ASCENDING), ("next_at", ASCENDING)],
                name="claim",
            ),
        ]
    )


async def _delivery_claims(db: AsyncDatabase[Document]) -> None:
    """Workers claim outbox entries that are pending past their next attempt (or whose claim
    lapsed), oldest first; the gauges count the backlog and the parked ones. The reminders'
    (status, due_at) index serves their claims already; the outbox had none."""
    await db.outbox.create_indexes(
        [
            IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="claimable"),
            IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="backlog"),
        ]
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial indexes and invariants", _initial_indexes),
    Migration(2, "check-in codes unique per session, no-shows", _checkin_codes_and_no_shows),
    Migration(3, "application numbers; audit log by actor and object", _application_numbers),
    Migration(4, "broadcasts: the queue, one record per broadcast and user", _broadcasts),
    Migration(5, "outbox: claims by next attempt, backlog by age", _delivery_claims),
)


async def applied_versions(db: AsyncDatabase[Document]) -> list[int]:
    return sorted([doc["_id"] async for doc in db[MIGRATIONS_COLLECTION].find({}, {"_id": 1})])


async def migrate(db: AsyncDatabase[Document]) -> list[int]:
    """Apply the migrations not applied yet, in order; return the versions applied now."""
    done = set(await applied_versions(db))
    applied: list[int] = []
    for migration in sorted(MIGRATIONS, key=lambda m: m.version):
        if migration.version in done:
            continue
        await migration.apply(db)
        await db[MIGRATIONS_COLLECTION].update_one(
            {"_id": migration.version},
            {"$setOnInsert": {"description": migration.description, "at": datetime.now(UTC)}},
            upsert=True,
        )
        applied.append(migration.version)
    return applied


def latest_version() -> int:
    return max(m.version for m in MIGRATIONS)
