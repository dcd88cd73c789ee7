"""One contract for every storage port, run against the in-memory fakes and the MongoDB adapters.

The ``ports`` fixture is parametrised over ``memory`` (``tests.fakes.repositories``) and ``mongo``
(``bot.infra.mongo`` on a real SecantusDB, a fresh migrated database per test), so each test in
this folder runs twice and both implementations must behave the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import pytest

from bot.bootstrap import build_storage
from bot.infra.mongo.migrations import migrate
from bot.services.ports.repositories import (
    ApplicationRepository,
    AuditRepository,
    BookingRepository,
    CatalogRepository,
    ReminderRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import Notifier, Outbox
from tests.contract.data import NOW
from tests.fakes.clock import FakeClock
from tests.fakes.repositories import InMemoryStorage


class NotifierOutbox(Notifier, Outbox, Protocol):
    """The outbox is written through ``Notifier`` and read through ``Outbox``."""


@dataclass
class Ports:
    kind: str
    clock: FakeClock
    users: UserRepository
    catalog: CatalogRepository
    applications: ApplicationRepository
    sessions: SessionRepository
    bookings: BookingRepository
    reminders: ReminderRepository
    audit: AuditRepository
    outbox: NotifierOutbox


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
async def ports(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[Ports]:
    if request.param == "memory":
        fake = InMemoryStorage(clock)
        yield Ports(
            "memory",
            clock,
            fake.users,
            fake.catalog,
            fake.applications,
            fake.sessions,
            fake.bookings,
            fake.reminders,
            fake.audit,
            fake.outbox,
        )
        return
    url = request.getfixturevalue("mongo_url")
    name = request.getfixturevalue("mongo_db_name")
    storage = build_storage(url, name, app_name="contract", clock=clock)
    await migrate(storage.db)
    try:
        yield Ports(
            "mongo",
            clock,
            storage.users,
            storage.catalog,
            storage.applications,
            storage.sessions,
            storage.bookings,
            storage.reminders,
            storage.audit,
            storage.outbox,
        )
    finally:
        await storage.close()
