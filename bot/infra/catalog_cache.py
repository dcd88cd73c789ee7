"""A bounded-staleness, in-process copy of the catalog (districts, sports, complexes).

The catalog is read on nearly every button press and written a few times a day, so each process
keeps one snapshot of all of it and answers reads from memory. The snapshot is reloaded (three
queries, one loader at a time) when it is older than ``max_staleness_s``, and dropped at once when
this process writes the catalog; another process's write is seen within ``max_staleness_s``.
Filters and orders are those of ``MongoCatalogRepository``: the contract tests run both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain.catalog import Complex, District, Sport
from bot.domain.paging import Page, PageRequest
from bot.services.ports.repositories import CatalogRepository


@dataclass(frozen=True)
class _Snapshot:
    districts: tuple[District, ...]  # by (sort_order, code)
    sports: tuple[Sport, ...]  # by code
    complexes: tuple[Complex, ...]  # featured first, then sort_order, code
    loaded_at: float


def _complex_order(c: Complex) -> tuple[bool, int, str]:
    return (not c.featured, c.sort_order, c.code)


class CachedCatalogRepository:
    def __init__(
        self,
        inner: CatalogRepository,
        max_staleness_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._max_staleness_s = max_staleness_s
        self._monotonic = monotonic
        self._snapshot: _Snapshot | None = None
        self._generation = 0  # grows on every local write: a load begun before it is discarded
        self._loading = asyncio.Lock()

    def invalidate(self) -> None:
        self._generation += 1
        self._snapshot = None

    async def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._monotonic() - snapshot.loaded_at <= self._max_staleness_s:
            return snapshot
        async with self._loading:
            snapshot = self._snapshot
            if snapshot is not None and (
                self._monotonic() - snapshot.loaded_at <= self._max_staleness_s
            ):
                return snapshot  # another task loaded it while we waited
            generation = self._generation
            loaded_at = self._monotonic()
            districts = await self._inner.list_districts(include_inactive=True)
            sports = await self._inner.list_sports(include_inactive=True)
            complexes = await self._inner.list_complexes(include_inactive=True)
            fresh = _Snapshot(
                tuple(sorted(districts, key=lambda d: (d.sort_order, d.code))),
                tuple(sorted(sports, key=lambda s: s.code)),
                tuple(sorted(complexes, key=_complex_order)),
                loaded_at,
            )
            if generation == self._generation:
                self._snapshot = fresh
            return fresh

    # --- writes: through to the database, then this process's copy is dropped ---------------

    async def upsert_district(self, district: District) -> None:
        try:
            await self._inner.upsert_district(district)
        finally:
            self.invalidate()

    async def upsert_sport(self, sport: Sport) -> None:
        try:
            await self._inner.upsert_sport(sport)
        finally:
            self.invalidate()

    async def upsert_complex(self, complex_: Complex) -> None:
        try:
            await self._inner.upsert_complex(complex_)
        finally:
            self.invalidate()

    # --- reads ---------------------------------------------------------------------------------

    async def list_districts(self, *, include_inactive: bool = False) -> list[District]:
        districts = (await self._current()).districts
        return [d for d in districts if include_inactive or d.active]

    async def get_district(self, code: str) -> District | None:
        return next((d for d in (await self._current()).districts if d.code == code), None)

    async def list_sports(self, *, include_inactive: bool = False) -> list[Sport]:
        return [s for s in (await self._current()).sports if include_inactive or s.active]

    async def get_sport(self, code: str) -> Sport | None:
        return next((s for s in (await self._current()).sports if s.code == code), None)

    async def get_complex(self, code: str) -> Complex | None:
        return next((c for c in (await self._current()).complexes if c.code == code), None)

    async def complexes_in_district(self, district: str, page: PageRequest) -> Page[Complex]:
        complexes = (await self._current()).complexes
        return _page([c for c in complexes if c.active and c.district == district], page)

    async def complexes_with_sports(
        self, sports: Sequence[str], page: PageRequest
    ) -> Page[Complex]:
        wanted = set(sports)
        complexes = (await self._current()).complexes
        return _page([c for c in complexes if c.active and wanted & set(c.sports)], page)

    async def list_complexes(self, *, include_inactive: bool = False) -> list[Complex]:
        complexes = (await self._current()).complexes
        return [c for c in complexes if include_inactive or c.active]


def _page(matching: list[Complex], page: PageRequest) -> Page[Complex]:
    items = matching[page.offset : page.offset + page.size]
    return Page(items, page.page, page.size, len(matching))
