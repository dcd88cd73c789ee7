"""Backups against a real SecantusDB: a database filled through the services, and ways to look.

``populated`` fills a fresh database the way the bot does (catalog import, generated sessions,
registrations, applications and a staff decision, bookings with reminders and a waitlist, the
outbox and the audit log) plus ``type_probe``: one document of every BSON type the product could
store, in a collection with a validator and unusual indexes (TTL, partial, sparse, compound
descending, 2dsphere, unique).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bson import Binary, Decimal128, Int64, ObjectId, Regex, Timestamp
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bot.bootstrap import Services, Storage, build_services, build_storage
from bot.domain.applications import ApplicationStatus
from bot.domain.users import Role
from bot.infra.mongo.backup import mongo_backup_service
from bot.infra.mongo.migrations import migrate
from bot.services.backup import BackupService, RetentionPolicy
from tests.fakes.clock import FakeClock

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "data" / "catalog" / "nizhny-novgorod.json"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RETENTION = RetentionPolicy(keep=14, max_age=timedelta(days=30))
STAFF_ID = 900
PROBE_ID = ObjectId("65a1b2c3d4e5f60718293a4b")
PROBE_AT = datetime(2026, 11, 20, 7, 30, 15, 123000, tzinfo=UTC)
KEEP_UNTIL = datetime(2100, 1, 1, tzinfo=UTC)
_RAW: CodecOptions[RawBSONDocument] = CodecOptions(
    document_class=RawBSONDocument, tz_aware=True, tzinfo=UTC
)

Document = dict[str, Any]


@dataclass(frozen=True)
class Resident:
    telegram_id: int
    name: str
    phone: str  # E.164, as stored
    raw_phone: str  # as the contact card gives it


RESIDENTS = (
    Resident(101, "Анна Бэкапова", "+79161110101", "79161110101"),
    Resident(102, "Борис Архивов", "+79161110102", "79161110102"),
    Resident(103, "Вера Снимкова", "+79161110103", "79161110103"),
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def storage(mongo_url: str, mongo_db_name: str, clock: FakeClock) -> AsyncIterator[Storage]:
    store = build_storage(mongo_url, mongo_db_name, app_name="tests-backup", clock=clock)
    await migrate(store.db)
    yield store
    await store.close()


@pytest.fixture
def services(storage: Storage, clock: FakeClock) -> Services:
    return build_services(storage, clock)


@pytest.fixture
def backups(storage: Storage, clock: FakeClock) -> BackupService:
    """The backup service over the test's database, on the test's clock."""
    return mongo_backup_service(storage.db, clock=clock)


@pytest.fixture
def other_db_name(mongo_url: str, mongo_db_name: str) -> Iterator[str]:
    """A second database name for restores elsewhere; dropped after the test."""
    name = f"{mongo_db_name}_other"
    yield name
    client: MongoClient[dict[str, Any]]
    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(name)


async def register(services: Services, resident: Resident) -> None:
    await services.users.touch(resident.telegram_id, "ru")
    await services.users.set_name(resident.telegram_id, resident.name)
    await services.users.set_phone_from_contact(
        resident.telegram_id, resident.telegram_id, resident.raw_phone
    )
    await services.users.complete_registration(resident.telegram_id, consent=True)


async def populate(storage: Storage, services: Services, clock: FakeClock) -> None:
    document = json.loads(SEED.read_text(encoding="utf-8"))
    await services.catalog.import_file(None, document)
    await services.schedule.staff_generate(None, clock.now().date(), 3)
    await services.users.set_role(None, STAFF_ID, Role.ADMIN)
    for resident in RESIDENTS:
        await register(services, resident)

    anna, boris, vera = RESIDENTS
    complexes = await storage.catalog.list_complexes()
    first = complexes[0]
    submitted = await services.applications.submit(
        anna.telegram_id, first.code, first.sports[0], "после 18:00, пожалуйста"
    )
    await services.applications.submit(boris.telegram_id, first.code, first.sports[0])
    await services.applications.staff_transition(
        STAFF_ID, submitted.application.id, ApplicationStatus.ACCEPTED, comment="ждём вас"
    )

    session = await storage.db.sessions.find_one(
        {"starts_at": {"$gt": clock.now() + timedelta(hours=30)}}, sort=[("starts_at", 1)]
    )
    assert session is not None, "the seed catalog generated no sessions"
    await storage.db.sessions.update_one({"_id": session["_id"]}, {"$set": {"capacity": 1}})
    assert (await services.bookings.book(anna.telegram_id, session["_id"])).booked
    assert (await services.bookings.book(vera.telegram_id, session["_id"])).waitlisted

    await storage.db.create_collection(
        "type_probe", validator={"$jsonSchema": {"bsonType": "object", "required": ["kind"]}}
    )
    probe = storage.db.type_probe
    # A TTL index on a time far ahead: the server's TTL monitor must not delete the probe while a
    # test compares the database before and after.
    await probe.create_index([("keep_until", 1)], name="ttl", expireAfterSeconds=0)
    await probe.create_index(
        [("kind", 1), ("n.x", -1)], name="partial", partialFilterExpression={"kind": "full"}
    )
    await probe.create_index([("code", 1)], name="code_unique", unique=True, sparse=True)
    await probe.create_index([("loc", "2dsphere")], name="geo")
    await probe.insert_many(
        [
            {
                "_id": PROBE_ID,
                "kind": "full",
                "code": "p1",
                "at": PROBE_AT,
                "keep_until": KEEP_UNTIL,
                "int32": 7,
                "int64": Int64(2**40),
                "double": 0.1,
                "decimal": Decimal128("10.10"),
                "text": "ФОК «Заречный» 🏊",
                "binary": Binary(b"\x00\xff\x10", 0),
                "uuid": Binary(bytes(range(16)), 4),
                "regex": Regex("^fok", "i"),
                "timestamp": Timestamp(1_700_000_000, 3),
                "none": None,
                "flag": False,
                "n": {"x": [1, {"deep": [[], {}, [PROBE_AT]]}], "y": {"z": ObjectId()}},
                "loc": {"type": "Point", "coordinates": [44.0, 56.3]},
            },
            {"_id": "string-id", "kind": "sparse"},
            {"_id": 42, "kind": "int-id", "code": "p2", "empty": {}},
        ]
    )


@pytest.fixture
async def populated(storage: Storage, services: Services, clock: FakeClock) -> Storage:
    await populate(storage, services, clock)
    return storage


# --------------------------------------------------------------------------------------------------
# Looking at a database and at an archive
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionContents:
    options: Document
    indexes: tuple[Document, ...]  # by name, without the legacy "ns"
    documents: tuple[bytes, ...]  # raw BSON in _id order: equal bytes = equal values and types


async def contents(db: AsyncDatabase[Any]) -> dict[str, CollectionContents]:
    raw = db.with_options(codec_options=_RAW)
    found: dict[str, CollectionContents] = {}
    async for info in await db.list_collections():
        name = info["name"]
        indexes = [
            {k: v for k, v in dict(spec).items() if k != "ns"}
            async for spec in await db[name].list_indexes()
        ]
        documents = [bytes(d.raw) async for d in raw[name].find({}, sort=[("_id", 1)])]
        found[name] = CollectionContents(
            options=dict(info.get("options") or {}),
            indexes=tuple(sorted(indexes, key=lambda spec: str(spec["name"]))),
            documents=tuple(documents),
        )
    return found


def without_options(snapshot: dict[str, CollectionContents]) -> dict[str, Any]:
    return {name: (c.indexes, c.documents) for name, c in snapshot.items()}


def read_archive(path: Path) -> dict[str, bytes]:
    """Every member of a backup archive by name."""
    with tarfile.open(path, "r:gz") as tar:
        members: dict[str, bytes] = {}
        for member in tar:
            source = tar.extractfile(member)
            assert source is not None
            members[member.name] = source.read()
    return members


def write_archive(path: Path, members: dict[str, bytes]) -> None:
    """A tar.gz with these members, in this order (to forge or damage an archive)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def manifest_of(path: Path) -> Document:
    manifest: Document = json.loads(read_archive(path)["manifest.json"])
    return manifest


def today() -> date:
    return NOW.date()
