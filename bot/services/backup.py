"""Backups of the whole database and restores from them: the archive, its manifest, retention.

An archive is ``fok-backup-<UTC time>.tar.gz`` in the backup directory. It is written under a
hidden temporary name and renamed once complete, so every file of that name is a finished backup;
it is created mode 600 (it holds personal data). Inside, in this order::

    collections/<name>.bson           the documents as BSON, one after another (as mongodump does)
    collections/<name>.metadata.bson  the collection's options and index definitions
    manifest.json                     format, created time, schema version, counts, SHA-256 sums

All documents are read from one snapshot of the database (``BackupDatabase.snapshot``). The
manifest holds exactly the fields written by :meth:`Manifest.to_json`: no settings, URLs, host or
database names.

A restore checks the whole archive first (gzip integrity, format, every file's SHA-256 and size,
the document counts, the schema version), unpacking it into a private temporary directory. Only
then does it look at the target, and it refuses one that holds documents unless told to replace
it. The target's own collections are replaced only once everything is loaded and indexed, and
what a failed restore created is dropped, so a restore that fails on the way leaves the target as
it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from bot.domain.errors import DomainError
from bot.services.ports.backup import (
    NO_PROGRESS,
    BackupDatabase,
    CollectionDefinition,
    Progress,
)
from bot.services.ports.system import Clock

FORMAT = "fok-backup/1"
MANIFEST_NAME = "manifest.json"
ARCHIVE_PREFIX = "fok-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
_STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
_ARCHIVE_NAME = re.compile(r"^fok-backup-(\d{8}T\d{6}\.\d{6}Z)\.tar\.gz$")
_PARTIAL_PREFIX = ".fok-backup-"
_CHUNK = 1 << 20
_BATCH_DOCUMENTS = 1000
_BATCH_BYTES = 8 << 20
_MAX_MANIFEST_BYTES = 16 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BackupFailed(DomainError):
    """A backup could not be written (the directory, the disk, a server without snapshots)."""

    code = "backup_failed"


class RestoreRefused(DomainError):
    """The archive is unreadable or does not match its manifest, or the target is not fit.

    Raised before the target database is changed.
    """

    code = "restore_refused"


class TargetNotEmpty(RestoreRefused):
    code = "target_not_empty"

    def __init__(self, counts: Mapping[str, int]) -> None:
        self.documents = sum(counts.values())
        self.collections = sum(1 for n in counts.values() if n)
        super().__init__(
            f"the target database is not empty "
            f"({self.documents} documents in {self.collections} collections)"
        )


# --------------------------------------------------------------------------------------------------
# The manifest
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int


@dataclass(frozen=True)
class CollectionEntry:
    name: str
    documents: int
    indexes: int
    data: str  # member holding the documents
    metadata: str  # member holding options and indexes


@dataclass(frozen=True)
class Manifest:
    created_at: datetime
    schema_version: int
    collections: tuple[CollectionEntry, ...]
    files: Mapping[str, FileEntry]
    format: str = FORMAT

    @property
    def documents(self) -> int:
        return sum(c.documents for c in self.collections)

    def to_json(self) -> bytes:
        document = {
            "format": self.format,
            "created_at": self.created_at.astimezone(UTC).isoformat(),
            "schema_version": self.schema_version,
            "consistency": "snapshot",
            "collections": {
                c.name: {
                    "documents": c.documents,
                    "indexes": c.indexes,
                    "data": c.data,
                    "metadata": c.metadata,
                }
                for c in self.collections
            },
            "files": {
                path: {"sha256": entry.sha256, "bytes": entry.size}
                for path, entry in self.files.items()
            },
        }
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """The manifest of an archive; ``RestoreRefused`` naming the first thing wrong."""
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RestoreRefused("manifest.json is not valid JSON") from None
        if not isinstance(document, dict):
            raise RestoreRefused("manifest.json is not a JSON object")
        found = document.get("format")
        if found != FORMAT:
            raise RestoreRefused(
                f"unsupported backup format {found!r} (this release reads {FORMAT})"
            )
        created = _field(document, "created_at", str)
        try:
            created_at = datetime.fromisoformat(created)
        except ValueError:
            raise RestoreRefused(f"manifest created_at {created!r} is not a time") from None
        if created_at.tzinfo is None:
            raise RestoreRefused("manifest created_at has no time zone")
        schema_version = _count(document, "schema_version")
        files: dict[str, FileEntry] = {}
        for path, entry in _field(document, "files", dict).items():
            if not isinstance(entry, dict):
                raise RestoreRefused(f"manifest entry of {path} is not an object")
            digest = _field(entry, "sha256", str)
            if not _SHA256.match(digest):
                raise RestoreRefused(f"manifest checksum of {path} is not a SHA-256")
            files[str(path)] = FileEntry(digest, _count(entry, "bytes"))
        collections: list[CollectionEntry] = []
        referenced: list[str] = []
        for name, entry in _field(document, "collections", dict).items():
            if not isinstance(entry, dict):
                raise RestoreRefused(f"manifest entry of collection {name} is not an object")
            collection = CollectionEntry(
                name=str(name),
                documents=_count(entry, "documents"),
                indexes=_count(entry, "indexes"),
                data=_field(entry, "data", str),
                metadata=_field(entry, "metadata", str),
            )
            for path in (collection.data, collection.metadata):
                if path not in files:
                    raise RestoreRefused(f"manifest names {path} but lists no checksum for it")
                referenced.append(path)
            collections.append(collection)
        if len(referenced) != len(set(referenced)) or set(referenced) != set(files):
            raise RestoreRefused("manifest files and collections do not match one to one")
        return cls(created_at, schema_version, tuple(collections), files, FORMAT)


def _field(document: Mapping[str, Any], key: str, kind: type[Any]) -> Any:
    value = document.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise RestoreRefused(f"manifest field {key!r} is missing or not a {kind.__name__}")
    return value


def _count(document: Mapping[str, Any], key: str) -> int:
    value: int = _field(document, key, int)
    if value < 0:
        raise RestoreRefused(f"manifest field {key!r} is negative")
    return value


def member_paths(collection: str) -> tuple[str, str]:
    """Where a collection's documents and definition live inside the archive."""
    stem = "collections/" + quote(collection, safe="")
    return f"{stem}.bson", f"{stem}.metadata.bson"


# --------------------------------------------------------------------------------------------------
# Archive names and retention
# --------------------------------------------------------------------------------------------------


def archive_name(created_at: datetime) -> str:
    return ARCHIVE_PREFIX + created_at.astimezone(UTC).strftime(_STAMP_FORMAT) + ARCHIVE_SUFFIX


def archive_time(name: str) -> datetime | None:
    """When the archive called ``name`` was made, or None if it is not a backup archive's name."""
    match = _ARCHIVE_NAME.match(name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), _STAMP_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class RetentionPolicy:
    """Keep the newest ``keep`` archives, minus those older than ``max_age``; never the newest."""

    keep: int
    max_age: timedelta

    def __post_init__(self) -> None:
        if self.keep < 1:
            raise ValueError("retention must keep at least one archive")
        if self.max_age <= timedelta(0):
            raise ValueError("retention age must be positive")

    def expired(
        self, archives: Sequence[tuple[datetime, Path]], now: datetime
    ) -> list[tuple[datetime, Path]]:
        newest_first = sorted(archives, key=lambda item: item[0], reverse=True)
        return [
            item
            for position, item in enumerate(newest_first)
            if position > 0 and (position >= self.keep or now - item[0] > self.max_age)
        ]


def list_archives(directory: Path) -> list[tuple[datetime, Path]]:
    """The backup archives in ``directory``, newest first (other files are not looked at)."""
    found: list[tuple[datetime, Path]] = []
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return []
    for path in entries:
        at = archive_time(path.name)
        if at is not None and path.is_file():
            found.append((at, path))
    return sorted(found, key=lambda item: item[0], reverse=True)


def latest_backup_time(directory: Path) -> datetime | None:
    """When the newest archive in ``directory`` was made (None: there is none)."""
    archives = list_archives(directory)
    return archives[0][0] if archives else None


@dataclass(frozen=True)
class PruneResult:
    removed: tuple[Path, ...] = ()
    failed: tuple[tuple[Path, str], ...] = ()


def prune(
    directory: Path, policy: RetentionPolicy, now: datetime, *, keep: Path | None = None
) -> PruneResult:
    """Remove the archives ``policy`` no longer keeps (``keep`` is never removed)."""
    removed: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for _, path in policy.expired(list_archives(directory), now):
        if keep is not None and path == keep:
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue  # another run pruned it first
        except OSError as error:
            failed.append((path, error.strerror or str(error)))
        else:
            removed.append(path)
    return PruneResult(tuple(removed), tuple(failed))


# --------------------------------------------------------------------------------------------------
# The use case
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupReport:
    path: Path
    manifest: Manifest
    pruned: PruneResult = field(default_factory=PruneResult)


@dataclass(frozen=True)
class RestoredCollection:
    name: str
    documents: int
    indexes: int


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    collections: tuple[RestoredCollection, ...]
    replaced: bool
    dropped: tuple[str, ...]  # live collections the archive does not have (replace only)

    @property
    def documents(self) -> int:
        return sum(c.documents for c in self.collections)


@dataclass(frozen=True)
class _Unpacked:
    manifest: Manifest
    files: Mapping[str, Path]  # member path -> its verified copy in the scratch directory
    definitions: Mapping[str, CollectionDefinition]


class BackupService:
    """``admin_tools.py backup|restore`` and the ``fok.backup`` task: the one implementation."""

    def __init__(self, database: BackupDatabase, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    # --- backup ------------------------------------------------------------------------------

    async def create(
        self, directory: Path, retention: RetentionPolicy, progress: Progress = NO_PROGRESS
    ) -> BackupReport:
        """Write a backup of every collection into ``directory``, then apply ``retention``."""
        created_at = self._clock.now()
        final = directory / archive_name(created_at)
        try:
            partial = await asyncio.to_thread(_open_partial, directory)
        except OSError as error:
            raise BackupFailed(f"cannot write to {directory}: {_reason(error)}") from None
        try:
            async with self._db.snapshot() as snapshot:
                schema_version = await snapshot.schema_version()
                definitions = sorted(await snapshot.collections(), key=lambda d: d.name)
                total = sum([await snapshot.estimated_count(d.name) for d in definitions])
                progress.begin("backup", total)
                writer = await asyncio.to_thread(_ArchiveWriter, partial, created_at)
                try:
                    entries = []
                    for definition in definitions:
                        data, metadata = member_paths(definition.name)
                        count = await writer.add_documents(
                            data, snapshot.documents(definition.name), progress
                        )
                        await asyncio.to_thread(writer.add_bytes, metadata, definition.metadata)
                        entries.append(
                            CollectionEntry(
                                definition.name, count, definition.indexes, data, metadata
                            )
                        )
                    manifest = Manifest(
                        created_at, schema_version, tuple(entries), dict(writer.files)
                    )
                    await asyncio.to_thread(writer.add_bytes, MANIFEST_NAME, manifest.to_json())
                    await asyncio.to_thread(writer.close)
                finally:
                    await asyncio.to_thread(writer.abort)
            await asyncio.to_thread(_publish, partial, final)
        except OSError as error:
            raise BackupFailed(
                f"cannot write the backup in {directory}: {_reason(error)}"
            ) from None
        finally:
            progress.end()
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(partial.unlink)
        pruned = await asyncio.to_thread(prune, directory, retention, self._clock.now(), keep=final)
        return BackupReport(final, manifest, pruned)

    # --- restore -----------------------------------------------------------------------------

    async def verify(self, archive: Path) -> Manifest:
        """Check ``archive`` as a restore would (nothing is written); its manifest if it is good."""
        scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="fok-restore-"))
        try:
            unpacked = await asyncio.to_thread(self._unpack, archive, scratch)
            self._check_schema(unpacked.manifest)
            return unpacked.manifest
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)

    async def restore(
        self, archive: Path, *, replace: bool = False, progress: Progress = NO_PROGRESS
    ) -> RestoreReport:
        """Restore ``archive`` into the database, verified in full before anything is written.

        A database holding any document is refused unless ``replace``; with ``replace`` its
        collections become the archive's and those the archive lacks are dropped.
        """
        scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="fok-restore-"))
        try:
            unpacked = await asyncio.to_thread(self._unpack, archive, scratch)
            manifest = unpacked.manifest
            self._check_schema(manifest)
            existing = await self._db.document_counts()
            if not replace and any(existing.values()):
                raise TargetNotEmpty(existing)
            restored: list[RestoredCollection] = []
            progress.begin("restore", manifest.documents)
            try:
                async with self._db.staging() as staging:
                    for entry in manifest.collections:
                        definition = unpacked.definitions[entry.name]
                        await staging.create(definition)
                        async for batch in self._batches(unpacked.files[entry.data]):
                            await staging.insert(entry.name, batch)
                            progress.advance(len(batch))
                        loaded = await staging.finish(entry.name)
                        if loaded != entry.documents:
                            raise RestoreRefused(
                                f"{entry.name}: {loaded} documents loaded, "
                                f"the manifest says {entry.documents}"
                            )
                        restored.append(RestoredCollection(entry.name, loaded, entry.indexes))
                    await staging.commit(drop_others=replace)
            finally:
                progress.end()
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        names = {c.name for c in manifest.collections}
        dropped = tuple(sorted(set(existing) - names)) if replace else ()
        return RestoreReport(manifest, tuple(restored), replace, dropped)

    def _check_schema(self, manifest: Manifest) -> None:
        supported = self._db.supported_schema_version()
        if manifest.schema_version > supported:
            raise RestoreRefused(
                f"the backup has schema version {manifest.schema_version}, this release knows "
                f"up to {supported}: restore it with the release that made it"
            )

    def _unpack(self, archive: Path, scratch: Path) -> _Unpacked:
        """Copy every member into ``scratch`` while hashing it, then check it all (blocking)."""
        if not archive.is_file():
            raise RestoreRefused(f"no such archive: {archive}")
        copies: dict[str, tuple[Path, FileEntry]] = {}
        manifest_raw: bytes | None = None
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for number, member in enumerate(tar):
                    if not member.isfile():
                        raise RestoreRefused(f"unexpected entry {member.name!r} in the archive")
                    if member.name in copies or (
                        member.name == MANIFEST_NAME and manifest_raw is not None
                    ):
                        raise RestoreRefused(f"{member.name} appears twice in the archive")
                    source = tar.extractfile(member)
                    if source is None:  # pragma: no cover - isfile() members always have data
                        raise RestoreRefused(f"cannot read {member.name} from the archive")
                    if member.name == MANIFEST_NAME:
                        if member.size > _MAX_MANIFEST_BYTES:
                            raise RestoreRefused("manifest.json is implausibly large")
                        manifest_raw = source.read()
                        continue
                    copy = scratch / f"{number:06d}"
                    copies[member.name] = (copy, _copy_hashing(source, copy))
                # Read the gzip stream to its end: its CRC and length are checked only there.
                fileobj = tar.fileobj
                if fileobj is not None:
                    while fileobj.read(_CHUNK):
                        pass
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise RestoreRefused(
                f"{archive.name} is corrupt or not a backup archive: {_reason(error)}"
            ) from None
        if manifest_raw is None:
            raise RestoreRefused(f"{archive.name} has no {MANIFEST_NAME}")
        manifest = Manifest.from_json(manifest_raw)
        missing = sorted(set(manifest.files) - set(copies))
        if missing:
            raise RestoreRefused(f"{missing[0]} is in the manifest but missing from the archive")
        unexpected = sorted(set(copies) - set(manifest.files))
        if unexpected:
            raise RestoreRefused(f"{unexpected[0]} is in the archive but not in the manifest")
        for path, expected in sorted(manifest.files.items()):
            actual = copies[path][1]
            if actual != expected:
                raise RestoreRefused(
                    f"checksum mismatch for {path}: the file is not the one backed up"
                )
        definitions: dict[str, CollectionDefinition] = {}
        for entry in manifest.collections:
            try:
                count = _count_documents(self._db, copies[entry.data][0])
            except ValueError as error:
                raise RestoreRefused(f"{entry.data}: {error}") from None
            if count != entry.documents:
                raise RestoreRefused(
                    f"{entry.data} holds {count} documents, the manifest says {entry.documents}"
                )
            try:
                metadata = copies[entry.metadata][0].read_bytes()
                definition = self._db.read_definition(entry.name, metadata)
            except ValueError as error:
                raise RestoreRefused(f"{entry.metadata}: {error}") from None
            if definition.indexes != entry.indexes:
                raise RestoreRefused(
                    f"{entry.metadata} defines {definition.indexes} indexes, "
                    f"the manifest says {entry.indexes}"
                )
            definitions[entry.name] = definition
        return _Unpacked(manifest, {path: copy for path, (copy, _) in copies.items()}, definitions)

    async def _batches(self, path: Path) -> AsyncIterator[list[bytes]]:
        stream = await asyncio.to_thread(path.open, "rb")
        try:
            documents = self._db.split_documents(stream)
            while batch := await asyncio.to_thread(_take_batch, documents):
                yield batch
        finally:
            stream.close()


# --------------------------------------------------------------------------------------------------
# Files (blocking: called through asyncio.to_thread)
# --------------------------------------------------------------------------------------------------


class _ArchiveWriter:
    """A tar.gz being written; every member's SHA-256 and size are kept for the manifest."""

    def __init__(self, path: Path, created_at: datetime) -> None:
        self._path = path
        self._mtime = int(created_at.timestamp())
        # Open across calls (one member at a time); ``close`` or ``abort`` ends it.
        self._tar: tarfile.TarFile | None = tarfile.open(path, "w:gz", compresslevel=6)  # noqa: SIM115
        self.files: dict[str, FileEntry] = {}

    def _member(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = self._mtime
        info.mode = 0o600
        return info

    def _add(self, name: str, source: IO[bytes], size: int, digest: str) -> None:
        assert self._tar is not None, "the archive is closed"
        self._tar.addfile(self._member(name, size), source)
        self.files[name] = FileEntry(digest, size)

    def add_bytes(self, name: str, data: bytes) -> None:
        self._add(name, io.BytesIO(data), len(data), hashlib.sha256(data).hexdigest())

    async def add_documents(
        self, name: str, documents: AsyncIterator[bytes], progress: Progress
    ) -> int:
        """Spool the documents to a temporary file (hashing them), then add it as ``name``."""
        spool = await asyncio.to_thread(_spool, self._path.parent)
        try:
            digest = hashlib.sha256()
            count = size = 0
            pending: list[bytes] = []
            pending_bytes = 0
            async for document in documents:
                pending.append(document)
                pending_bytes += len(document)
                count += 1
                if pending_bytes >= _CHUNK:
                    await asyncio.to_thread(_write_hashing, spool, pending, digest)
                    progress.advance(len(pending))
                    size += pending_bytes
                    pending, pending_bytes = [], 0
            await asyncio.to_thread(_write_hashing, spool, pending, digest)
            progress.advance(len(pending))
            size += pending_bytes
            await asyncio.to_thread(spool.seek, 0)
            await asyncio.to_thread(self._add, name, spool, size, digest.hexdigest())
        finally:
            spool.close()
        return count

    def close(self) -> None:
        """Finish the archive and flush it to disk."""
        assert self._tar is not None, "the archive is closed"
        tar, self._tar = self._tar, None
        tar.close()
        with self._path.open("rb") as written:
            os.fsync(written.fileno())

    def abort(self) -> None:
        """Close without finishing (after a failure); nothing after ``close``."""
        if self._tar is not None:
            tar, self._tar = self._tar, None
            with contextlib.suppress(Exception):
                tar.close()


def _spool(directory: Path) -> IO[bytes]:
    """An anonymous temporary file beside the archive (gone on close, even after a crash)."""
    return tempfile.TemporaryFile("w+b", dir=directory)


def _write_hashing(spool: IO[bytes], chunks: Sequence[bytes], digest: Any) -> None:
    for chunk in chunks:
        spool.write(chunk)
        digest.update(chunk)


def _open_partial(directory: Path) -> Path:
    """A new private file in ``directory`` (made if missing, mode 700) to write the archive to."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=directory, prefix=_PARTIAL_PREFIX, suffix=".partial")
    os.close(handle)  # mkstemp made it mode 600
    return Path(name)


def _publish(partial: Path, final: Path) -> None:
    """Give the finished archive its name (never over another archive) and persist the rename."""
    if final.exists():
        raise FileExistsError(f"{final.name} already exists")
    os.replace(partial, final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _copy_hashing(source: IO[bytes], target: Path) -> FileEntry:
    """Copy a member out of the archive; errors reading it propagate (the archive is bad),
    errors writing the copy are refused as such."""
    digest = hashlib.sha256()
    size = 0
    try:
        out = target.open("wb")
    except OSError as error:
        raise RestoreRefused(f"cannot unpack into {target.parent}: {_reason(error)}") from None
    with out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            try:
                out.write(chunk)
            except OSError as error:
                raise RestoreRefused(
                    f"cannot unpack into {target.parent}: {_reason(error)}"
                ) from None
    return FileEntry(digest.hexdigest(), size)


def _count_documents(database: BackupDatabase, path: Path) -> int:
    with path.open("rb") as stream:
        return sum(1 for _ in database.split_documents(stream))


def _take_batch(documents: Iterator[bytes]) -> list[bytes]:
    batch: list[bytes] = []
    size = 0
    for document in documents:
        batch.append(document)
        size += len(document)
        if len(batch) >= _BATCH_DOCUMENTS or size >= _BATCH_BYTES:
            break
    return batch


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
