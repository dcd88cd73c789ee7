"""SecantusDB is reachable through PyMongo's async client and stops cleanly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, MongoClient

from devcluster.ports import is_listening
from devcluster.process import pid_is_alive
from devcluster.secantus import SecantusServer


async def test_async_pymongo_round_trip(mongo_url: str, mongo_db_name: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    try:
        collection = client[mongo_db_name]["complexes"]
        await collection.create_index("slug", unique=True)
        await collection.insert_one({"slug": "fok-yug", "district": "Южный"})
        found = await collection.find_one({"slug": "fok-yug"})
        assert found is not None
        assert found["district"] == "Южный"
        assert mongo_db_name in await client.list_database_names()
    finally:
        await client.close()


async def test_each_test_gets_an_empty_database(mongo_url: str, mongo_db_name: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    try:
        assert await client[mongo_db_name]["complexes"].count_documents({}) == 0
    finally:
        await client.close()


def test_persistent_storage_survives_a_restart(
    make_secantus: Callable[..., SecantusServer], tmp_path: Path
) -> None:
    storage = tmp_path / "data"
    first = make_secantus(storage_path=storage)
    writer: MongoClient[dict[str, Any]]
    with MongoClient(first.url) as writer:
        writer["keep"]["things"].insert_one({"name": "стадион"})
    first.stop()
    second = make_secantus(storage_path=storage)
    reader: MongoClient[dict[str, Any]]
    with MongoClient(second.url) as reader:
        assert reader["keep"]["things"].find_one({"name": "стадион"}) is not None


def test_stop_waits_until_the_process_is_gone(make_secantus: Callable[..., SecantusServer]) -> None:
    server = make_secantus()
    pid = server.process.pid
    server.stop()
    assert pid is not None
    assert not pid_is_alive(pid)
    assert server.process.returncode == 0, server.process.log_tail()
    assert not is_listening(server.host, server.port)
