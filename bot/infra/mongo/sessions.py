"""Sessions and weekly templates in MongoDB; seats are taken with a conditional atomic update."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from pymongo import InsertOne, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from bot.domain.i18n import LocalizedText
from bot.domain.sessions import Session, WeeklyTemplate
from bot.infra.mongo.client import Document

DUPLICATE_KEY = 11000


def session_to_doc(s: Session) -> Document:
    return {
        "_id": s.id,
        "complex_code": s.complex_code,
        "sport_code": s.sport_code,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "capacity": s.capacity,
        "booked": s.booked,
        "title": s.title.to_dict(),
        "template_id": s.template_id,
        "cancelled": s.cancelled,
        "cancel_reason": s.cancel_reason,
    }


def session_from_doc(d: Document) -> Session:
    return Session(
        id=d["_id"],
        complex_code=d["complex_code"],
        sport_code=d["sport_code"],
        starts_at=d["starts_at"],
        ends_at=d["ends_at"],
        capacity=int(d["capacity"]),
        booked=int(d.get("booked", 0)),
        title=LocalizedText.of(d.get("title")),
        template_id=d.get("template_id"),
        cancelled=bool(d.get("cancelled", False)),
        cancel_reason=d.get("cancel_reason"),
    )


def _template_from_doc(d: Document) -> WeeklyTemplate:
    return WeeklyTemplate(
        id=d["_id"],
        complex_code=d["complex_code"],
        sport_code=d["sport_code"],
        weekday=int(d["weekday"]),
        start=time.fromisoformat(d["start"]),
        duration_minutes=int(d["duration_minutes"]),
        capacity=int(d["capacity"]),
        title=LocalizedText.of(d.get("title")),
        active=bool(d.get("active", True)),
    )


class MongoSessionRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._sessions = db.sessions
        self._templates = db.session_templates

    async def insert(self, session: Session) -> None:
        await self._sessions.insert_one(session_to_doc(session))

    async def insert_missing(self, sessions: Sequence[Session]) -> int:
        if not sessions:
            return 0
        try:
            result = await self._sessions.bulk_write(
                [InsertOne(session_to_doc(s)) for s in sessions], ordered=False
            )
            return result.inserted_count
        except BulkWriteError as error:
            details = error.details
            if any(e.get("code") != DUPLICATE_KEY for e in details.get("writeErrors", [])):
                raise
            return int(details.get("nInserted", 0))

    async def get(self, session_id: str) -> Session | None:
        doc = await self._sessions.find_one({"_id": session_id})
        return session_from_doc(doc) if doc else None

    async def list_for_complex(
        self, complex_code: str, start: datetime, end: datetime, sport_code: str | None = None
    ) -> list[Session]:
        criteria: Document = {
            "complex_code": complex_code,
            "starts_at": {"$gte": start, "$lt": end},
        }
        if sport_code:
            criteria["sport_code"] = sport_code
        cursor = self._sessions.find(criteria).sort([("starts_at", 1), ("_id", 1)])
        return [session_from_doc(d) async for d in cursor]

    async def starting_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> list[Session]:
        cursor = self._sessions.find(
            {"complex_code": {"$in": sorted(complexes)}, "starts_at": {"$gte": start, "$lt": end}}
        ).sort([("starts_at", 1), ("_id", 1)])
        return [session_from_doc(d) async for d in cursor]

    async def take_seat(self, session_id: str) -> bool:
        doc = await self._sessions.find_one_and_update(
            {"_id": session_id, "cancelled": False, "$expr": {"$lt": ["$booked", "$capacity"]}},
            {"$inc": {"booked": 1}},
            projection={"_id": 1},
            return_document=ReturnDocument.AFTER,
        )
        return doc is not None

    async def release_seat(self, session_id: str) -> None:
        await self._sessions.update_one(
            {"_id": session_id, "booked": {"$gt": 0}}, {"$inc": {"booked": -1}}
        )

    async def set_booked(self, session_id: str, booked: int) -> None:
        await self._sessions.update_one({"_id": session_id}, {"$set": {"booked": booked}})

    async def set_booked_if(self, session_id: str, expected: int, booked: int) -> bool:
        result = await self._sessions.update_one(
            {"_id": session_id, "booked": expected}, {"$set": {"booked": booked}}
        )
        return result.matched_count == 1

    async def cancel(self, session_id: str, reason: str | None = None) -> bool:
        result = await self._sessions.update_one(
            {"_id": session_id, "cancelled": False},
            {"$set": {"cancelled": True, "cancel_reason": reason}},
        )
        return result.modified_count == 1

    async def set_capacity(self, session_id: str, capacity: int) -> Session | None:
        doc = await self._sessions.find_one_and_update(
            {"_id": session_id, "cancelled": False, "booked": {"$lte": capacity}},
            {"$set": {"capacity": capacity}},
            return_document=ReturnDocument.AFTER,
        )
        return session_from_doc(doc) if doc else None

    async def upsert_template(self, template: WeeklyTemplate) -> None:
        await self._templates.replace_one(
            {"_id": template.id},
            {
                "complex_code": template.complex_code,
                "sport_code": template.sport_code,
                "weekday": template.weekday,
                "start": template.start.isoformat("minutes"),
                "duration_minutes": template.duration_minutes,
                "capacity": template.capacity,
                "title": template.title.to_dict(),
                "active": template.active,
            },
            upsert=True,
        )

    async def list_templates(self, complex_code: str | None = None) -> list[WeeklyTemplate]:
        criteria: Document = {"complex_code": complex_code} if complex_code else {}
        cursor = self._templates.find(criteria).sort(
            [("complex_code", 1), ("weekday", 1), ("start", 1)]
        )
        return [_template_from_doc(d) async for d in cursor]
