"""Ports of the backup use case (``bot.services.backup``): read a database consistently, load one.

Documents and collection definitions cross these ports as opaque bytes: a document is one encoded
document (BSON, self-delimiting), a definition is the adapter's encoding of a collection's options
and index definitions. Only the adapter (``bot.infra.mongo.backup``) decodes them; the service
moves, counts and checksums them, so a restore gives back exactly the bytes a backup read.

Standard library only, like every port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class CollectionDefinition:
    name: str
    metadata: bytes  # options and index definitions, as the adapter encodes them
    indexes: int  # secondary indexes (besides _id), for reports


class Snapshot(Protocol):
    """One point-in-time view of the database: every read through it sees the same instant."""

    async def schema_version(self) -> int:
        """The highest schema migration applied, as of the snapshot (0: none)."""
        ...

    async def collections(self) -> Sequence[CollectionDefinition]:
        """The collections to back up (no system or staging collections), by name."""
        ...

    async def estimated_count(self, name: str) -> int:
        """About how many documents ``name`` holds (progress only)."""
        ...

    def documents(self, name: str) -> AsyncIterator[bytes]:
        """Every document of ``name`` as of the snapshot, encoded, in ``_id`` order."""
        ...


class Staging(Protocol):
    """A restore in progress: the live collections change only at ``commit``.

    What was created and not committed is dropped when the block ends.
    """

    async def create(self, definition: CollectionDefinition) -> None:
        """Where ``definition.name`` will be loaded, with its options (no indexes yet).

        A collection the target lacks may be created in place; one it has is never touched.
        """
        ...

    async def insert(self, name: str, documents: Sequence[bytes]) -> None: ...

    async def finish(self, name: str) -> int:
        """Build the indexes of ``name``; return how many documents its staging copy holds."""
        ...

    async def commit(self, *, drop_others: bool) -> None:
        """Put every staged collection in place of the live one of its name.

        ``drop_others`` also drops the live collections that were not staged.
        """
        ...


class BackupDatabase(Protocol):
    """The database a backup reads or a restore writes."""

    def supported_schema_version(self) -> int:
        """The highest schema version this code knows (its latest migration)."""
        ...

    def snapshot(self) -> AbstractAsyncContextManager[Snapshot]: ...

    async def document_counts(self) -> Mapping[str, int]:
        """Documents per existing collection (system and staging collections left out)."""
        ...

    def staging(self) -> AbstractAsyncContextManager[Staging]:
        """Start a restore; what is not committed when the block ends is dropped."""
        ...

    def split_documents(self, stream: BinaryIO) -> Iterator[bytes]:
        """The encoded documents in ``stream``, one by one; ``ValueError`` if it is malformed."""
        ...

    def read_definition(self, name: str, metadata: bytes) -> CollectionDefinition:
        """Check that ``metadata`` is a well-formed definition; ``ValueError`` if not."""
        ...


class Progress(Protocol):
    """How far a long operation is (a progress bar on a terminal, nothing elsewhere)."""

    def begin(self, description: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...

    def end(self) -> None: ...


class NoProgress:
    def begin(self, description: str, total: int) -> None:
        return None

    def advance(self, count: int) -> None:
        return None

    def end(self) -> None:
        return None


NO_PROGRESS: Progress = NoProgress()
