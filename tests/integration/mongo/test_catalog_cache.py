"""The in-process catalog copy answers exactly as MongoDB does, within its staleness bound."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.bootstrap import Storage
from bot.domain.catalog import Complex, District
from bot.domain.i18n import LocalizedText
from bot.domain.paging import PageRequest
from bot.infra.catalog_cache import CachedCatalogRepository
from tests.integration.mongo.seed import add_catalog

STALENESS_S = 10.0


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingCatalog:
    """The MongoDB adapter, counting the reads that reach it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if name.startswith(("list_", "get_", "complexes_")):
            self.reads += 1
        return method


async def _mixed_catalog(storage: Storage) -> None:
    await add_catalog(storage, complexes=7, district="d1")
    await add_catalog(storage, complexes=3, district="d2")
    hidden = await storage.catalog.get_complex("d1-c03")
    assert hidden is not None
    await storage.catalog.upsert_complex(replace(hidden, active=False))
    featured = await storage.catalog.get_complex("d2-c02")
    assert featured is not None
    await storage.catalog.upsert_complex(replace(featured, featured=True, district="d1"))
    await storage.catalog.upsert_district(
        District("d0", LocalizedText({"ru": "Скрытый"}), sort_order=-1, active=False)
    )


async def test_every_read_matches_the_database(storage: Storage) -> None:
    await _mixed_catalog(storage)
    mongo = storage.catalog
    cached = CachedCatalogRepository(mongo, STALENESS_S)
    for include_inactive in (False, True):
        assert await cached.list_districts(
            include_inactive=include_inactive
        ) == await mongo.list_districts(include_inactive=include_inactive)
        assert await cached.list_sports(
            include_inactive=include_inactive
        ) == await mongo.list_sports(include_inactive=include_inactive)
        assert await cached.list_complexes(
            include_inactive=include_inactive
        ) == await mongo.list_complexes(include_inactive=include_inactive)
    for code in ("d1-c00", "d1-c03", "d2-c02", "missing"):
        assert await cached.get_complex(code) == await mongo.get_complex(code)
    for code in ("d0", "d1", "missing"):
        assert await cached.get_district(code) == await mongo.get_district(code)
    assert await cached.get_sport("yoga") == await mongo.get_sport("yoga")
    for page in (PageRequest(0, 3), PageRequest(1, 3), PageRequest(2, 3), PageRequest(5, 3)):
        assert await cached.complexes_in_district("d1", page) == await mongo.complexes_in_district(
            "d1", page
        )
        for sports in (["yoga"], ["swim", "yoga"], ["none"]):
            assert await cached.complexes_with_sports(
                sports, page
            ) == await mongo.complexes_with_sports(sports, page)


async def test_reads_come_from_memory_until_the_bound(storage: Storage) -> None:
    await add_catalog(storage, complexes=2)
    counting = CountingCatalog(storage.catalog)
    ticks = Ticks()
    cached = CachedCatalogRepository(counting, STALENESS_S, monotonic=ticks)
    await cached.get_complex("d1-c00")
    loads = counting.reads
    assert loads == 3  # districts, sports, complexes: one snapshot
    for _ in range(5):
        await cached.get_complex("d1-c01")
        await cached.complexes_in_district("d1", PageRequest())
    assert counting.reads == loads
    # Another process renames a complex: invisible until the bound, visible after it.
    changed = await storage.catalog.get_complex("d1-c00")
    assert changed is not None
    await storage.catalog.upsert_complex(replace(changed, name=LocalizedText({"ru": "Новое"})))
    ticks.now += STALENESS_S
    stale = await cached.get_complex("d1-c00")
    assert stale is not None
    assert stale.name.get("ru") != "Новое"
    ticks.now += 0.001
    fresh = await cached.get_complex("d1-c00")
    assert fresh is not None
    assert fresh.name.get("ru") == "Новое"
    assert counting.reads == 2 * loads


async def test_a_write_through_the_cache_shows_at_once(storage: Storage) -> None:
    await add_catalog(storage, complexes=1)
    cached = CachedCatalogRepository(storage.catalog, STALENESS_S, monotonic=Ticks())
    assert await cached.get_complex("d1-new") is None
    original = await cached.get_complex("d1-c00")
    assert original is not None
    added: Complex = replace(original, code="d1-new")
    await cached.upsert_complex(added)
    assert await cached.get_complex("d1-new") == added
    await cached.upsert_district(District("d9", LocalizedText({"ru": "Новый"})))
    assert await cached.get_district("d9") is not None
