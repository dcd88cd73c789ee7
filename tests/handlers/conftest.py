"""Fixtures of the handler tier: a started harness over fakes, with the test catalog."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.handlers.harness import BotHarness, seed_catalog

MakeHarness = Callable[..., Awaitable[BotHarness]]


@pytest.fixture
async def make_harness() -> AsyncIterator[MakeHarness]:
    started: list[BotHarness] = []

    async def make(**options: object) -> BotHarness:
        harness = BotHarness(**options)  # type: ignore[arg-type]
        await seed_catalog(harness.storage)
        await harness.start()
        started.append(harness)
        return harness

    yield make
    for harness in started:
        await harness.stop()


@pytest.fixture
async def harness(make_harness: MakeHarness) -> BotHarness:
    return await make_harness()
