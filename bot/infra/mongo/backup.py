"""The backup port over PyMongo: snapshot reads, raw BSON out and in, staged collections.

Documents are read and written as raw BSON (``RawBSONDocument``), never decoded and re-encoded, so
a restore stores exactly the bytes a backup read: every type (datetimes, ObjectIds, Int64,
Decimal128, binary, nested documents and arrays) and the field order survive as they were.

Consistency: every collection is read in one snapshot session (``readConcern: snapshot``, MongoDB
5.0+ replica sets), so the backup shows the database at a single instant. A standalone server
cannot do that and the backup is refused rather than made inconsistent. mongod keeps snapshot
history for ``minSnapshotHistoryWindowInSeconds`` (300 s by default): a backup reading for longer
fails with SnapshotTooOld and must be retried (or the window raised).

Restore creates a collection the target lacks in place, with its options; one the target has is
loaded under a staging name (``_fok_restore_<token>_<name>``) and renamed over the live one
(``renameCollection`` with ``dropTarget``) only once every collection is loaded and indexed. What
a failed restore created is dropped; the target's own collections are untouched until the end.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Any, BinaryIO

import bson
from bson.codec_options import CodecOptions
from bson.errors import InvalidBSON
from bson.raw_bson import RawBSONDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from bot.infra.clock import SystemClock
from bot.infra.mongo.client import Document, database
from bot.infra.mongo.migrations import MIGRATIONS_COLLECTION, latest_version
from bot.services.backup import BackupFailed, BackupService
from bot.services.ports.backup import CollectionDefinition
from bot.services.ports.system import Clock

log = logging.getLogger(__name__)

STAGING_PREFIX = "_fok_restore_"
_CODEC: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True, tzinfo=UTC)
_RAW_CODEC: CodecOptions[RawBSONDocument] = CodecOptions(
    document_class=RawBSONDocument, tz_aware=True, tzinfo=UTC
)
# mongod accepts documents up to 16 MiB plus a little internal headroom.
_MAX_DOCUMENT_BYTES = 16 * 1024 * 1024 + 16 * 1024
_SNAPSHOT_UNAVAILABLE = 246
_SNAPSHOT_TOO_OLD = 239


def _backed_up(name: str) -> bool:
    return not name.startswith(("system.", STAGING_PREFIX))


class MongoBackupDatabase:
    """``BackupDatabase`` over one database of an ``AsyncMongoClient``."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db
        self._raw = db.with_options(codec_options=_RAW_CODEC)

    def supported_schema_version(self) -> int:
        return latest_version()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[_MongoSnapshot]:
        async with self._db.client.start_session(snapshot=True) as session:
            yield _MongoSnapshot(self._db, self._raw, session)

    async def document_counts(self) -> Mapping[str, int]:
        names = sorted(n for n in await self._db.list_collection_names() if _backed_up(n))
        return {name: await self._db[name].count_documents({}) for name in names}

    @asynccontextmanager
    async def staging(self) -> AsyncIterator[_MongoStaging]:
        for name in await self._db.list_collection_names():
            if name.startswith(STAGING_PREFIX):  # left by a restore that was killed
                log.warning("dropping %s, left by an interrupted restore", name)
                await self._db.drop_collection(name)
        live = {n for n in await self._db.list_collection_names() if _backed_up(n)}
        staging = _MongoStaging(self._db, self._raw, secrets.token_hex(4), live)
        try:
            yield staging
        finally:
            await staging.discard()

    def split_documents(self, stream: BinaryIO) -> Iterator[bytes]:
        while head := stream.read(4):
            if len(head) < 4:
                raise ValueError("truncated BSON document at the end")
            size = int.from_bytes(head, "little", signed=True)
            if not 5 <= size <= _MAX_DOCUMENT_BYTES:
                raise ValueError(f"BSON document length {size} is not plausible")
            body = stream.read(size - 4)
            if len(body) != size - 4:
                raise ValueError("truncated BSON document at the end")
            document = head + body
            try:
                bson.decode(document, codec_options=_CODEC)
            except (InvalidBSON, ValueError) as error:
                raise ValueError(f"invalid BSON document: {error}") from None
            yield document

    def read_definition(self, name: str, metadata: bytes) -> CollectionDefinition:
        definition = _decode_definition(metadata)
        if definition.get("name") != name:
            raise ValueError(f"the definition is of {definition.get('name')!r}, not {name!r}")
        return CollectionDefinition(name, metadata, len(definition["indexes"]))


def _encode_definition(name: str, options: Mapping[str, Any], indexes: Sequence[Any]) -> bytes:
    return bson.encode({"name": name, "options": dict(options), "indexes": list(indexes)})


def _decode_definition(metadata: bytes) -> dict[str, Any]:
    try:
        definition: dict[str, Any] = bson.decode(metadata, codec_options=_CODEC)
    except (InvalidBSON, ValueError) as error:
        raise ValueError(f"invalid collection definition: {error}") from None
    options = definition.get("options")
    indexes = definition.get("indexes")
    if not isinstance(options, dict) or not isinstance(indexes, list):
        raise ValueError("a collection definition needs options and indexes")
    for index in indexes:
        if not (
            isinstance(index, dict)
            and isinstance(index.get("key"), dict)
            and isinstance(index.get("name"), str)
        ):
            raise ValueError("an index definition needs a key and a name")
    return definition


class _MongoSnapshot:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        raw: AsyncDatabase[RawBSONDocument],
        session: AsyncClientSession,
    ) -> None:
        self._db = db
        self._raw = raw
        self._session = session

    async def schema_version(self) -> int:
        applied = self._db[MIGRATIONS_COLLECTION].find({}, {"_id": 1}, session=self._session)
        return max([int(doc["_id"]) async for doc in applied], default=0)

    async def collections(self) -> Sequence[CollectionDefinition]:
        # listCollections and listIndexes do not take a snapshot read concern: the definitions
        # are read beside the snapshot (the schema changes only through migrations).
        definitions = []
        async for info in await self._db.list_collections():
            name = str(info["name"])
            if info.get("type", "collection") != "collection" or not _backed_up(name):
                continue
            indexes = []
            async for spec in await self._db[name].list_indexes():
                if spec.get("name") == "_id_":
                    continue  # made with every collection
                indexes.append({k: v for k, v in spec.items() if k != "ns"})
            metadata = _encode_definition(name, info.get("options") or {}, indexes)
            definitions.append(CollectionDefinition(name, metadata, len(indexes)))
        return definitions

    async def estimated_count(self, name: str) -> int:
        return await self._db[name].estimated_document_count()

    async def documents(self, name: str) -> AsyncIterator[bytes]:
        cursor = self._raw[name].find({}, session=self._session, sort=[("_id", 1)], batch_size=1000)
        try:
            async for document in cursor:
                yield bytes(document.raw)
        except OperationFailure as error:
            if error.code == _SNAPSHOT_UNAVAILABLE:
                raise BackupFailed(
                    "the server cannot read a snapshot (a standalone mongod?): "
                    "backups need a replica set"
                ) from None
            if error.code == _SNAPSHOT_TOO_OLD:
                raise BackupFailed(
                    "the backup read for longer than the server keeps snapshots "
                    "(minSnapshotHistoryWindowInSeconds): retry, or raise that window"
                ) from None
            raise
        finally:
            await cursor.close()


class _MongoStaging:
    """A collection the target lacks is created in place, under its own name, with its options;
    one the target has is loaded beside it (staging name) and swapped in at ``commit``.

    Creating in place keeps every option exactly (SecantusDB's renameCollection drops collection
    options; mongod's keeps them). Whatever was created and not committed is dropped.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        raw: AsyncDatabase[RawBSONDocument],
        token: str,
        live: set[str],
    ) -> None:
        self._db = db
        self._raw = raw
        self._token = token
        self._live = live  # collections the target had when the restore began
        self._indexes: dict[str, list[dict[str, Any]]] = {}
        self._targets: dict[str, str] = {}  # archive name -> where it is being loaded
        self._committed = False

    async def create(self, definition: CollectionDefinition) -> None:
        decoded = _decode_definition(definition.metadata)
        name = definition.name
        target = f"{STAGING_PREFIX}{self._token}_{name}" if name in self._live else name
        await self._db.command({"create": target, **decoded["options"]})
        self._targets[name] = target
        self._indexes[name] = decoded["indexes"]

    async def insert(self, name: str, documents: Sequence[bytes]) -> None:
        if documents:
            await self._raw[self._targets[name]].insert_many(
                [RawBSONDocument(d, codec_options=_RAW_CODEC) for d in documents],
                ordered=True,
                bypass_document_validation=True,
            )

    async def finish(self, name: str) -> int:
        target = self._targets[name]
        indexes = self._indexes[name]
        if indexes:
            await self._db.command({"createIndexes": target, "indexes": indexes})
        return await self._db[target].count_documents({})

    async def commit(self, *, drop_others: bool) -> None:
        db_name = self._db.name
        for name, target in self._targets.items():
            if target != name:
                await self._db.client.admin.command(
                    "renameCollection",
                    f"{db_name}.{target}",
                    to=f"{db_name}.{name}",
                    dropTarget=True,
                )
        self._committed = True
        if drop_others:
            for name in await self._db.list_collection_names():
                if _backed_up(name) and name not in self._targets:
                    await self._db.drop_collection(name)

    async def discard(self) -> None:
        """After a failure: drop what this restore created (live collections stay as they were)."""
        if self._committed:
            return
        for name, target in self._targets.items():
            try:
                await self._db.drop_collection(target)
            except Exception:
                log.exception("could not drop %s after the failed restore of %s", target, name)


def mongo_backup_service(
    db: AsyncDatabase[Document], *, database_name: str | None = None, clock: Clock | None = None
) -> BackupService:
    """The backup service over ``db``, or over the database ``database_name`` of its client.

    The one way the CLI and the worker build it, so both back up and restore alike.
    """
    target = db if database_name is None else database(db.client, database_name)
    return BackupService(MongoBackupDatabase(target), clock or SystemClock())
