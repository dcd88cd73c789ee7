"""The MongoDB client: one per process, created after fork (design §4 rule 7)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from bson.codec_options import CodecOptions
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

Document = dict[str, Any]


def create_mongo_client(
    url: str, *, app_name: str, timeout_ms: int = 5000, operation_timeout_ms: int | None = None
) -> AsyncMongoClient[Document]:
    """``operation_timeout_ms`` bounds every operation, retries and server selection included
    (PyMongo's client-side operation timeout, ``timeoutMS``): past it the operation raises a
    ``PyMongoError`` whose ``timeout`` is true (``NetworkTimeout``, ``ExecutionTimeout``...),
    which ``bot.infra.faults`` counts as transient. ``None``: no bound beyond the socket's."""
    options: dict[str, Any] = {}
    if operation_timeout_ms is not None:
        options["timeoutMS"] = operation_timeout_ms
    return AsyncMongoClient(
        url,
        appname=app_name,
        tz_aware=True,
        tzinfo=UTC,
        retryWrites=True,
        retryReads=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        **options,
    )


def database(client: AsyncMongoClient[Document], name: str) -> AsyncDatabase[Document]:
    """Majority writes and reads: the database, not Redis, is the source of truth."""
    return client.get_database(
        name,
        codec_options=CodecOptions(tz_aware=True, tzinfo=UTC),
        write_concern=WriteConcern(w="majority"),
        read_concern=ReadConcern("majority"),
    )
