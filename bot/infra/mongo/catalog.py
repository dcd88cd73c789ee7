"""Districts, sports and complexes in MongoDB, keyed by their codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bot.domain.catalog import Complex, District, GeoPoint, Sport
from bot.domain.i18n import LocalizedText
from bot.domain.paging import Page, PageRequest
from bot.infra.mongo.client import Document

COMPLEX_ORDER: list[tuple[str, Any]] = [("featured", -1), ("sort_order", 1), ("_id", 1)]


def complex_to_doc(c: Complex) -> Document:
    return {
        "_id": c.code,
        "name": c.name.to_dict(),
        "district": c.district,
        "address": c.address.to_dict(),
        "sports": list(c.sports),
        "phone": c.phone,
        "email": c.email,
        "website": c.website,
        "hours": c.hours.to_dict(),
        "description": c.description.to_dict(),
        "timezone": c.timezone,
        "location": (
            {"type": "Point", "coordinates": [c.location.lon, c.location.lat]}
            if c.location
            else None
        ),
        "cancellation_window_hours": c.cancellation_window_hours,
        "waitlist_hold_minutes": c.waitlist_hold_minutes,
        "sort_order": c.sort_order,
        "featured": c.featured,
        "active": c.active,
    }


def complex_from_doc(doc: Document) -> Complex:
    location = doc.get("location")
    return Complex(
        code=doc["_id"],
        name=LocalizedText.of(doc.get("name")),
        district=doc["district"],
        address=LocalizedText.of(doc.get("address")),
        sports=tuple(doc.get("sports") or ()),
        phone=doc.get("phone"),
        email=doc.get("email"),
        website=doc.get("website"),
        hours=LocalizedText.of(doc.get("hours")),
        description=LocalizedText.of(doc.get("description")),
        timezone=doc.get("timezone") or "Europe/Moscow",
        location=(
            GeoPoint(location["coordinates"][1], location["coordinates"][0]) if location else None
        ),
        cancellation_window_hours=int(doc.get("cancellation_window_hours", 3)),
        waitlist_hold_minutes=int(doc.get("waitlist_hold_minutes", 30)),
        sort_order=int(doc.get("sort_order", 0)),
        featured=bool(doc.get("featured", False)),
        active=bool(doc.get("active", True)),
    )


class MongoCatalogRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._districts = db.districts
        self._sports = db.sports
        self._complexes = db.complexes

    async def upsert_district(self, district: District) -> None:
        await self._districts.replace_one(
            {"_id": district.code},
            {
                "name": district.name.to_dict(),
                "sort_order": district.sort_order,
                "active": district.active,
            },
            upsert=True,
        )

    async def upsert_sport(self, sport: Sport) -> None:
        await self._sports.replace_one(
            {"_id": sport.code},
            {"name": sport.name.to_dict(), "icon": sport.icon, "active": sport.active},
            upsert=True,
        )

    async def upsert_complex(self, complex_: Complex) -> None:
        doc = complex_to_doc(complex_)
        await self._complexes.replace_one({"_id": doc.pop("_id")}, doc, upsert=True)

    async def list_districts(self, *, include_inactive: bool = False) -> list[District]:
        criteria: Document = {} if include_inactive else {"active": True}
        cursor = self._districts.find(criteria).sort([("sort_order", 1), ("_id", 1)])
        return [
            District(
                d["_id"],
                LocalizedText.of(d.get("name")),
                int(d.get("sort_order", 0)),
                bool(d.get("active", True)),
            )
            async for d in cursor
        ]

    async def get_district(self, code: str) -> District | None:
        d = await self._districts.find_one({"_id": code})
        if d is None:
            return None
        return District(
            d["_id"],
            LocalizedText.of(d.get("name")),
            int(d.get("sort_order", 0)),
            bool(d.get("active", True)),
        )

    async def list_sports(self, *, include_inactive: bool = False) -> list[Sport]:
        criteria: Document = {} if include_inactive else {"active": True}
        cursor = self._sports.find(criteria).sort("_id", 1)
        return [_sport(d) async for d in cursor]

    async def get_sport(self, code: str) -> Sport | None:
        d = await self._sports.find_one({"_id": code})
        return _sport(d) if d else None

    async def get_complex(self, code: str) -> Complex | None:
        doc = await self._complexes.find_one({"_id": code})
        return complex_from_doc(doc) if doc else None

    async def complexes_in_district(self, district: str, page: PageRequest) -> Page[Complex]:
        return await self._page({"district": district, "active": True}, page)

    async def complexes_with_sports(
        self, sports: Sequence[str], page: PageRequest
    ) -> Page[Complex]:
        return await self._page({"sports": {"$in": list(sports)}, "active": True}, page)

    async def list_complexes(self, *, include_inactive: bool = False) -> list[Complex]:
        criteria: Document = {} if include_inactive else {"active": True}
        cursor = self._complexes.find(criteria).sort(COMPLEX_ORDER)
        return [complex_from_doc(d) async for d in cursor]

    async def _page(self, criteria: Document, page: PageRequest) -> Page[Complex]:
        total = await self._complexes.count_documents(criteria)
        cursor = self._complexes.find(criteria).sort(COMPLEX_ORDER).skip(page.offset)
        items = [complex_from_doc(d) async for d in cursor.limit(page.size)]
        return Page(items, page.page, page.size, total)


def _sport(d: Document) -> Sport:
    return Sport(
        d["_id"],
        LocalizedText.of(d.get("name")),
        str(d.get("icon", "")),
        bool(d.get("active", True)),
    )
