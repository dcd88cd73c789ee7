"""A damaged or forged archive is refused before the target database is touched at all.

Every case restores with ``replace=True`` over a database that holds data, so a restore that got
past its checks would visibly change it; and once into an empty database, which must stay empty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bson
import pytest

from bot.bootstrap import Storage
from bot.infra.mongo.backup import mongo_backup_service
from bot.infra.mongo.migrations import latest_version
from bot.services.backup import BackupReport, BackupService, RestoreRefused
from tests.fakes.clock import FakeClock
from tests.integration.backup.conftest import (
    RETENTION,
    contents,
    read_archive,
    write_archive,
)

pytestmark = pytest.mark.integration

Members = dict[str, bytes]


@pytest.fixture
async def archive(populated: Storage, backups: BackupService, tmp_path: Path) -> BackupReport:
    report = await backups.create(tmp_path / "backups", RETENTION)
    # The target now differs from the archive: a restore that went ahead would show.
    await populated.db.users.delete_many({})
    await populated.db.scratch.insert_one({"_id": 1, "made": "after the backup"})
    return report


async def refuse(backups: BackupService, storage: Storage, path: Path) -> str:
    """Restore ``path`` with replace; assert it is refused and nothing changed; the message."""
    before = await contents(storage.db)
    with pytest.raises(RestoreRefused) as refused:
        await backups.restore(path, replace=True)
    assert await contents(storage.db) == before
    message = str(refused.value)
    assert "\n" not in message
    return message


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


# Offsets into the gzip file: the deflate stream at a quarter, half and 90 %, and the trailer
# (CRC-32 and length). Flipping a byte of the gzip header's time stamp changes nothing restored
# and is not detected; every byte that carries data is.
@pytest.mark.parametrize("where", [0.25, 0.5, 0.9, -8, -1])
async def test_one_flipped_byte_is_refused(
    populated: Storage, backups: BackupService, archive: BackupReport, where: float
) -> None:
    size = archive.path.stat().st_size
    offset = int(size * where) if where > 0 else size + int(where)
    flip_byte(archive.path, offset)

    message = await refuse(backups, populated, archive.path)

    assert ("corrupt" in message) or ("checksum mismatch" in message), message


def edit_manifest(edit: Callable[[dict[str, Any]], None]) -> Callable[[Members], None]:
    def forge(members: Members) -> None:
        manifest = json.loads(members["manifest.json"])
        edit(manifest)
        members["manifest.json"] = json.dumps(manifest).encode()

    return forge


def add_document_to_count(manifest: dict[str, Any]) -> None:
    manifest["collections"]["complexes"]["documents"] += 1


def change_checksum(manifest: dict[str, Any]) -> None:
    manifest["files"]["collections/sessions.bson"]["sha256"] = "0" * 64


def newer_format(manifest: dict[str, Any]) -> None:
    manifest["format"] = "fok-backup/2"


def newer_schema(manifest: dict[str, Any]) -> None:
    manifest["schema_version"] = latest_version() + 1


def drop_member(members: Members) -> None:
    del members["collections/bookings.bson"]


def add_member(members: Members) -> None:
    members["collections/extra.bson"] = b""


def swap_documents(members: Members) -> None:
    """Right checksums for the wrong data: another collection's documents under this name."""
    members["collections/sports.bson"], members["collections/districts.bson"] = (
        members["collections/districts.bson"],
        members["collections/sports.bson"],
    )


@pytest.mark.parametrize(
    ("forge", "expected"),
    [
        # The check before anything is written names the file ("holds"); the count after
        # loading, a second line of defence, would name the collection.
        (edit_manifest(add_document_to_count), "collections/complexes.bson holds"),
        (edit_manifest(change_checksum), "checksum mismatch for collections/sessions.bson"),
        (edit_manifest(newer_format), "unsupported backup format 'fok-backup/2'"),
        (edit_manifest(newer_schema), f"schema version {latest_version() + 1}"),
        (drop_member, "collections/bookings.bson is in the manifest but missing"),
        (add_member, "collections/extra.bson is in the archive but not in the manifest"),
        (swap_documents, "checksum mismatch"),
    ],
    ids=["count", "checksum", "format", "schema", "missing", "extra", "swapped"],
)
async def test_a_manifest_mismatch_is_refused(
    populated: Storage,
    backups: BackupService,
    archive: BackupReport,
    tmp_path: Path,
    forge: Callable[[Members], None],
    expected: str,
) -> None:
    members = read_archive(archive.path)
    forge(members)
    forged = tmp_path / "forged.tar.gz"
    write_archive(forged, members)

    message = await refuse(backups, populated, forged)

    assert expected in message


async def test_a_document_slipped_in_is_refused_even_with_its_checksum_fixed(
    populated: Storage, backups: BackupService, archive: BackupReport, tmp_path: Path
) -> None:
    """A document appended to the data and the checksum edited to match: the count gives it away."""
    members = read_archive(archive.path)
    manifest = json.loads(members["manifest.json"])
    data = members["collections/districts.bson"] + bson.encode({"_id": "forged"})
    members["collections/districts.bson"] = data
    manifest["files"]["collections/districts.bson"] = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }
    members["manifest.json"] = json.dumps(manifest).encode()
    forged = tmp_path / "forged.tar.gz"
    write_archive(forged, members)

    message = await refuse(backups, populated, forged)

    assert "collections/districts.bson holds" in message
    assert "the manifest says" in message


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.write_text("not an archive\n"), "corrupt or not a backup archive"),
        (lambda p: p.write_bytes(b""), "corrupt or not a backup archive"),
        (lambda p: None, "no such archive"),
    ],
    ids=["text", "empty", "absent"],
)
async def test_what_is_no_archive_at_all_is_refused(
    populated: Storage,
    backups: BackupService,
    tmp_path: Path,
    make: Callable[[Path], Any],
    expected: str,
) -> None:
    path = tmp_path / "fok-backup-20261123T090000.000000Z.tar.gz"
    make(path)

    assert expected in await refuse(backups, populated, path)


async def test_a_truncated_archive_is_refused(
    populated: Storage, backups: BackupService, archive: BackupReport
) -> None:
    data = archive.path.read_bytes()
    archive.path.write_bytes(data[: len(data) // 2])

    assert "corrupt" in await refuse(backups, populated, archive.path)


async def test_an_empty_target_stays_empty_after_a_refusal(
    populated: Storage,
    archive: BackupReport,
    clock: FakeClock,
    other_db_name: str,
    tmp_path: Path,
) -> None:
    members = read_archive(archive.path)
    edit_manifest(add_document_to_count)(members)
    forged = tmp_path / "forged.tar.gz"
    write_archive(forged, members)
    target = mongo_backup_service(populated.db, database_name=other_db_name, clock=clock)

    with pytest.raises(RestoreRefused):
        await target.restore(forged)

    assert await populated.client[other_db_name].list_collection_names() == []
    # The good archive restores into it: the refusal was about the forgery, not the target.
    restored = await target.restore(archive.path)
    assert restored.documents == archive.manifest.documents
