"""Browsing the catalog: districts, complexes, sports, nearest complexes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.audit import AuditEntry
from bot.domain.catalog import Complex, District, GeoPoint, NearbyComplex, Sport, nearest
from bot.domain.errors import NotFound, PermissionDenied, ValidationFailed
from bot.domain.ids import new_id
from bot.domain.paging import Page, PageRequest, clamp_page
from bot.services.catalog_io import FORMAT, ImportReport, export_catalog, import_catalog
from bot.services.ports.repositories import (
    AuditRepository,
    CatalogRepository,
    SessionRepository,
    UserRepository,
)
from bot.services.ports.system import Clock

MAX_SEARCH_SPORTS = 12


class CatalogService:
    def __init__(
        self,
        catalog: CatalogRepository,
        sessions: SessionRepository,
        users: UserRepository,
        audit: AuditRepository,
        clock: Clock,
    ) -> None:
        self._catalog = catalog
        self._sessions = sessions
        self._users = users
        self._audit = audit
        self._clock = clock

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

    async def count_complexes(self) -> int:
        """Complexes residents can see (active ones)."""
        return len(await self._catalog.list_complexes())

    # --- the catalog file (operators, staff for all complexes) ----------------------------

    async def import_file(self, actor_id: int | None, document: Mapping[str, Any]) -> ImportReport:
        """Write a ``fok-catalog/1`` file (validated whole before anything is written).

        Admins and super admins may; ``actor_id=None`` is the operator CLI (trusted shell).
        """
        if actor_id is not None:
            actor = await self._users.get(actor_id)
            if actor is None or actor.blocked or not actor.manages_all_complexes:
                raise PermissionDenied("the catalog file is for staff of all complexes")
        report = await import_catalog(document, self._catalog, self._sessions)
        await self._audit.record(
            AuditEntry(
                new_id(),
                actor_id or 0,
                "catalog.import",
                "catalog",
                FORMAT,
                self._clock.now(),
                {
                    "districts": report.districts,
                    "sports": report.sports,
                    "complexes": report.complexes,
                    "templates": report.templates,
                },
            )
        )
        return report

    async def export_file(self) -> dict[str, Any]:
        """The whole catalog, inactive entries included, as a ``fok-catalog/1`` document."""
        return await export_catalog(self._catalog, self._sessions)
