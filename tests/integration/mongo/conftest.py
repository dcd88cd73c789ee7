"""Storage and services on a real SecantusDB daemon, a fresh database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.bootstrap import Services, Storage, build_services, build_storage
from bot.infra.mongo.migrations import migrate
from tests.fakes.clock import FakeClock
from tests.integration.mongo.seed import NOW


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def storage(mongo_url: str, mongo_db_name: str, clock: FakeClock) -> AsyncIterator[Storage]:
    store = build_storage(mongo_url, mongo_db_name, app_name="tests", clock=clock)
    await migrate(store.db)
    yield store
    await store.close()


@pytest.fixture
def services(storage: Storage, clock: FakeClock) -> Services:
    return build_services(storage, clock)
