"""Backup, wipe, restore: the same collections, document for document and byte for byte."""

from __future__ import annotations

import hashlib
import stat
from datetime import datetime
from pathlib import Path

import bson
import pytest
from bson import Binary, Decimal128, Int64, ObjectId, Regex, Timestamp

from bot.bootstrap import Storage
from bot.infra.mongo.backup import STAGING_PREFIX, mongo_backup_service
from bot.infra.mongo.migrations import latest_version
from bot.services.backup import FORMAT, BackupService, TargetNotEmpty
from tests.fakes.clock import FakeClock
from tests.integration.backup.conftest import (
    NOW,
    PROBE_AT,
    PROBE_ID,
    RETENTION,
    contents,
    manifest_of,
    read_archive,
    without_options,
)

pytestmark = pytest.mark.integration

# What the bot writes in normal use: a backup that missed one of these would be no backup.
PRODUCT_COLLECTIONS = {
    "users",
    "districts",
    "sports",
    "complexes",
    "session_templates",
    "sessions",
    "applications",
    "bookings",
    "reminders",
    "outbox",
    "audit_log",
    "schema_migrations",
}


async def test_backup_wipe_restore_gives_back_identical_collections(
    populated: Storage, backups: BackupService, tmp_path: Path
) -> None:
    before = await contents(populated.db)
    assert PRODUCT_COLLECTIONS | {"type_probe"} <= set(before)
    empty = {name for name in PRODUCT_COLLECTIONS if not before[name].documents}
    assert not empty, f"the fixture left {sorted(empty)} empty: the test would prove less"

    report = await backups.create(tmp_path / "backups", RETENTION)
    await populated.client.drop_database(populated.db.name)
    assert await populated.db.list_collection_names() == []

    restored = await backups.restore(report.path)

    after = await contents(populated.db)
    assert set(after) == set(before)
    for name in before:
        assert after[name].documents == before[name].documents, f"documents of {name}"
        assert after[name].indexes == before[name].indexes, f"indexes of {name}"
        assert after[name].options == before[name].options, f"options of {name}"
    assert {c.name: c.documents for c in restored.collections} == {
        name: len(c.documents) for name, c in before.items()
    }
    assert restored.documents == report.manifest.documents


async def test_types_survive_decoded_as_well_as_byte_for_byte(
    populated: Storage, backups: BackupService, tmp_path: Path
) -> None:
    report = await backups.create(tmp_path, RETENTION)
    await populated.client.drop_database(populated.db.name)
    await backups.restore(report.path)

    probe = await populated.db.type_probe.find_one({"_id": PROBE_ID})
    assert probe is not None
    assert isinstance(probe["_id"], ObjectId)
    assert probe["at"] == PROBE_AT
    assert isinstance(probe["at"], datetime)
    assert probe["at"].tzinfo is not None
    assert type(probe["int32"]) is int
    assert isinstance(probe["int64"], Int64)
    assert probe["int64"] == 2**40
    assert probe["decimal"] == Decimal128("10.10")
    assert probe["text"] == "ФОК «Заречный» 🏊"
    assert probe["binary"] == b"\x00\xff\x10"
    assert probe["uuid"] == Binary(bytes(range(16)), 4)
    assert probe["regex"] == Regex("^fok", "i")
    assert probe["timestamp"] == Timestamp(1_700_000_000, 3)
    assert probe["none"] is None
    assert probe["n"]["x"][1]["deep"] == [[], {}, [PROBE_AT]]
    assert isinstance(probe["n"]["y"]["z"], ObjectId)
    assert list(probe) == [  # field order too
        "_id",
        "kind",
        "code",
        "at",
        "keep_until",
        "int32",
        "int64",
        "double",
        "decimal",
        "text",
        "binary",
        "uuid",
        "regex",
        "timestamp",
        "none",
        "flag",
        "n",
        "loc",
    ]
    assert await populated.db.type_probe.find_one({"_id": "string-id"}) == {
        "_id": "string-id",
        "kind": "sparse",
    }
    user = await populated.db.users.find_one({"_id": 101})
    assert user is not None
    assert isinstance(user["registered_at"], datetime)
    application = await populated.db.applications.find_one({"user_id": 101})
    assert application is not None
    assert isinstance(application["history"][0]["at"], datetime)


async def test_the_manifest_describes_the_archive_and_holds_no_settings(
    populated: Storage, backups: BackupService, tmp_path: Path, mongo_url: str
) -> None:
    directory = tmp_path / "backups"
    report = await backups.create(directory, RETENTION)
    before = await contents(populated.db)

    assert report.path.name == "fok-backup-20261123T090000.000000Z.tar.gz"
    assert stat.S_IMODE(report.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    members = read_archive(report.path)
    manifest = manifest_of(report.path)
    assert set(manifest) == {
        "format",
        "created_at",
        "schema_version",
        "consistency",
        "collections",
        "files",
    }
    assert manifest["format"] == FORMAT
    assert datetime.fromisoformat(manifest["created_at"]) == NOW
    assert manifest["schema_version"] == latest_version()
    assert manifest["consistency"] == "snapshot"
    assert {name: entry["documents"] for name, entry in manifest["collections"].items()} == {
        name: len(c.documents) for name, c in before.items()
    }
    assert {name: entry["indexes"] for name, entry in manifest["collections"].items()} == {
        name: len(c.indexes) - 1
        for name, c in before.items()  # _id_ comes with the collection
    }
    assert set(members) == set(manifest["files"]) | {"manifest.json"}
    for path, entry in manifest["files"].items():
        assert entry == {
            "sha256": hashlib.sha256(members[path]).hexdigest(),
            "bytes": len(members[path]),
        }, path
    for name, entry in manifest["collections"].items():
        assert set(entry) == {"documents", "indexes", "data", "metadata"}
        documents = bson.decode_all(members[entry["data"]])
        assert len(documents) == entry["documents"], name
        assert bson.decode(members[entry["metadata"]])["name"] == name

    # No settings, URLs or names of the deployment: not in the manifest, not anywhere.
    host_port = mongo_url.split("//", 1)[1].split("/", 1)[0]
    text = members["manifest.json"].decode("utf-8")
    for secret in ("://", "mongodb", host_port, populated.db.name, "MONGO", "TOKEN", "password"):
        assert secret not in text, secret
    everything = b"".join(members.values())
    for secret in (mongo_url, host_port, populated.db.name):
        assert secret.encode() not in everything, secret


async def test_restore_elsewhere_leaves_the_source_alone(
    populated: Storage, clock: FakeClock, tmp_path: Path, other_db_name: str
) -> None:
    source = mongo_backup_service(populated.db, clock=clock)
    report = await source.create(tmp_path, RETENTION)
    before = await contents(populated.db)

    elsewhere = mongo_backup_service(populated.db, database_name=other_db_name, clock=clock)
    restored = await elsewhere.restore(report.path)

    assert await contents(populated.client[other_db_name]) == before
    assert await contents(populated.db) == before
    assert restored.replaced is False
    assert restored.dropped == ()


async def test_a_database_with_documents_is_restored_over_only_with_replace(
    populated: Storage, backups: BackupService, tmp_path: Path
) -> None:
    report = await backups.create(tmp_path, RETENTION)
    backed_up = await contents(populated.db)
    # Life goes on after the backup: a change, a new collection, a new index.
    await populated.db.users.update_one({"_id": 101}, {"$set": {"language": "en"}})
    await populated.db.users.create_index([("language", 1)], name="by_language")
    await populated.db.scratch.insert_one({"_id": 1, "note": "made after the backup"})
    changed = await contents(populated.db)

    with pytest.raises(TargetNotEmpty) as refused:
        await backups.restore(report.path)
    assert refused.value.documents == sum(len(c.documents) for c in changed.values())
    assert await contents(populated.db) == changed

    restored = await backups.restore(report.path, replace=True)

    after = await contents(populated.db)
    # SecantusDB's renameCollection drops collection options (mongod keeps them), so a replaced
    # collection is compared by indexes and documents; a restore into a fresh database keeps the
    # options (test_backup_wipe_restore_gives_back_identical_collections).
    assert without_options(after) == without_options(backed_up)
    assert restored.replaced is True
    assert restored.dropped == ("scratch",)
    assert not [n for n in await populated.db.list_collection_names() if STAGING_PREFIX in n]


async def test_a_database_with_only_empty_collections_counts_as_fresh(
    populated: Storage, backups: BackupService, tmp_path: Path
) -> None:
    """After ``db migrate`` on a new cluster the collections exist, with indexes and no data."""
    report = await backups.create(tmp_path, RETENTION)
    before = await contents(populated.db)
    for name in await populated.db.list_collection_names():
        await populated.db[name].delete_many({})

    await backups.restore(report.path)

    assert without_options(await contents(populated.db)) == without_options(before)
