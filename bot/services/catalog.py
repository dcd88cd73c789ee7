"""Browsing the catalog: districts, complexes, sports, nearest complexes."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.catalog import Complex, District, GeoPoint, NearbyComplex, Sport, nearest
from bot.domain.errors import NotFound, ValidationFailed
from bot.domain.paging import Page, PageRequest, clamp_page
from bot.services.ports.repositories import CatalogRepository

MAX_SEARCH_SPORTS = 12


class CatalogService:
    def __init__(self, catalog: CatalogRepository) -> None:
        self._catalog = catalog

    async def districts(self, page: PageRequest) -> Page[District]:
        districts = await self._catalog.list_districts()
        request = clamp_page(page, len(districts))
        items = districts[request.offset : request.offset + request.size]
        return Page(items, request.page, request.size, len(districts))

    async def district(self, code: str) -> District:
        district = await self._catalog.get_district(code)
        if district is None or not district.active:
            raise NotFound(f"district {code}")
        return district

    async def complexes_in_district(self, code: str, page: PageRequest) -> Page[Complex]:
        await self.district(code)
        first = await self._catalog.complexes_in_district(code, page)
        if first.items or first.total == 0:
            return first
        return await self._catalog.complexes_in_district(code, clamp_page(page, first.total))

    async def complex(self, code: str) -> Complex:
        found = await self._catalog.get_complex(code)
        if found is None or not found.active:
            raise NotFound(f"complex {code}")
        return found

    async def sports(self) -> list[Sport]:
        return await self._catalog.list_sports()

    async def sport(self, code: str) -> Sport:
        sport = await self._catalog.get_sport(code)
        if sport is None or not sport.active:
            raise NotFound(f"sport {code}")
        return sport

    async def search_by_sports(self, codes: Sequence[str], page: PageRequest) -> Page[Complex]:
        """Complexes offering any of the chosen sports."""
        chosen = sorted(set(codes))
        if not chosen:
            raise ValidationFailed("sports", "empty")
        if len(chosen) > MAX_SEARCH_SPORTS:
            raise ValidationFailed("sports", "too_many")
        first = await self._catalog.complexes_with_sports(chosen, page)
        if first.items or first.total == 0:
            return first
        return await self._catalog.complexes_with_sports(chosen, clamp_page(page, first.total))

    async def nearest(self, origin: GeoPoint, limit: int = 5) -> list[NearbyComplex]:
        return nearest(await self._catalog.list_complexes(), origin, limit)
