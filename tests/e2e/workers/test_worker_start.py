"""A worker started while the cluster is down stays up and works once it is back: it waits for
the broker, a task that finds MongoDB, Redis or Telegram away fails without taking a worker
process with it, and the next one delivers."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.domain.applications import ApplicationStatus
from bot.domain.users import Role
from bot.settings import CelerySettings
from devcluster.ports import free_port
from tests.e2e.workers.conftest import COMPLEX, Fleet, until
from workers.config import create_celery
from workers.schedule import DELIVER_NOTICES

pytestmark = pytest.mark.e2e

STAFF = 900


class Gate:
    """A local port that refuses connections until opened, then forwards them to ``target``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[Any]] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            writer.close()
            return
        pipes = [
            asyncio.create_task(self._copy(reader, upstream_writer)),
            asyncio.create_task(self._copy(upstream_reader, writer)),
        ]
        self._pipes.update(pipes)
        await asyncio.gather(*pipes, return_exceptions=True)
        self._pipes.difference_update(pipes)

    @staticmethod
    async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def through(url: str, gate: Gate) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{gate.port}"))


async def test_a_worker_started_with_the_cluster_down_delivers_once_it_is_back(
    fleet: Fleet,
) -> None:
    env = fleet.base_env
    broker = Gate(urlsplit(env["CELERY_BROKER_URL"]).port or 6379)
    mongo = Gate(urlsplit(env["MONGO_URL"]).port or 27017)
    first_node = env["REDIS_CLUSTER_NODES"].split(",")[0]
    cluster = Gate(int(first_node.rpartition(":")[2]))
    telegram = Gate(urlsplit(env["TELEGRAM_API_BASE_URL"]).port or 80)
    gates = [broker, mongo, cluster, telegram]

    await fleet.services.users.set_role(None, STAFF, Role.ADMIN)
    (person,) = fleet.people(1)
    await fleet.register([person])
    application = (await fleet.services.applications.submit(person, COMPLEX, "swim")).application
    await fleet.services.applications.staff_transition(
        STAFF, application.id, ApplicationStatus.ACCEPTED
    )
    try:
        worker = await fleet.start_worker(
            "cold",
            wait=False,
            CELERY_BROKER_URL=through(env["CELERY_BROKER_URL"], broker),
            MONGO_URL=through(env["MONGO_URL"], mongo),
            MONGO_TIMEOUT_MS="1500",
            REDIS_CLUSTER_NODES=f"127.0.0.1:{cluster.port}",
            TELEGRAM_API_BASE_URL=through(env["TELEGRAM_API_BASE_URL"], telegram),
        )

        async def waits_for_the_broker() -> bool:
            return "Cannot connect to redis://" in worker.process.log_tail(200)

        await until(waits_for_the_broker, "the worker waiting for the broker", 60)
        assert worker.process.is_running()
        await broker.open()
        await asyncio.to_thread(worker.wait_ready)
        producer = create_celery(CelerySettings(broker_url=fleet.broker_url))
        pool_before = await asyncio.to_thread(_pool, producer)

        producer.send_task(DELIVER_NOTICES)  # MongoDB, Redis and Telegram are still away

        async def failed_for_now() -> bool:
            return "the next task tries again" in worker.process.log_tail(400)

        try:
            await until(failed_for_now, "a task failing while the cluster is away", 60)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{worker.process.log_tail(60)}") from None
        assert await asyncio.to_thread(_pool, producer) == pool_before  # no process lost

        for gate in (mongo, cluster, telegram):
            await gate.open()

        async def delivered() -> bool:
            if fleet.delivered([person])[person]:
                return True
            producer.send_task(DELIVER_NOTICES)  # what beat would do every period
            return False

        await until(delivered, "the notice delivered once the cluster is back", 60, 1.0)
        assert fleet.delivered([person]) == {person: 1}
        assert "принят" in (fleet.messages_to(person)[0].text or "")
        assert await asyncio.to_thread(_pool, producer) == pool_before
        producer.close()
    finally:
        await asyncio.to_thread(_stop_all, fleet)
        for gate in gates:
            await gate.close()


def _pool(producer: Any) -> list[int]:
    """The worker's pool processes (pids), as the worker reports them."""
    stats = producer.control.inspect(destination=["cold@localhost"], timeout=5.0).stats() or {}
    return sorted(stats["cold@localhost"]["pool"]["processes"])


def _stop_all(fleet: Fleet) -> None:
    for worker in fleet.workers:
        worker.stop()
