"""Applications in MongoDB; the partial unique index keeps one active per user/complex/sport."""

from __future__ import annotations

import re
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from bot.domain.applications import (
    ACTIVE_STATUSES,
    ActorKind,
    Application,
    ApplicationStatus,
    StatusChange,
)
from bot.domain.errors import DuplicateActiveApplication
from bot.domain.paging import Page, PageRequest
from bot.infra.mongo.client import Document
from bot.services.ports.repositories import ApplicationCount, ApplicationQuery

# The counter document the application numbers are drawn from (collection ``counters``).
NUMBER_COUNTER = "applications"
NUMBER_ATTEMPTS = 5


def _change_to_doc(change: StatusChange) -> Document:
    return {
        "from": change.from_status.value if change.from_status else None,
        "to": change.to_status.value,
        "actor_id": change.actor_id,
        "actor_kind": change.actor_kind.value,
        "at": change.at,
        "comment": change.comment,
    }


def application_to_doc(a: Application) -> Document:
    doc: Document = {
        "_id": a.id,
        "user_id": a.user_id,
        "complex_code": a.complex_code,
        "sport_code": a.sport_code,
        "status": a.status.value,
        "active": a.is_active,
        "version": a.version,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "comment": a.comment,
        "applicant_name": a.applicant_name,
        "applicant_phone": a.applicant_phone,
        "history": [_change_to_doc(c) for c in a.history],
    }
    if a.number is not None:  # absent, not null: the unique index on numbers is sparse
        doc["number"] = a.number
    return doc


def application_from_doc(doc: Document) -> Application:
    return Application(
        id=doc["_id"],
        user_id=int(doc["user_id"]),
        complex_code=doc["complex_code"],
        sport_code=doc["sport_code"],
        status=ApplicationStatus(doc["status"]),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        comment=doc.get("comment"),
        applicant_name=doc.get("applicant_name"),
        applicant_phone=doc.get("applicant_phone"),
        history=tuple(
            StatusChange(
                ApplicationStatus(h["from"]) if h.get("from") else None,
                ApplicationStatus(h["to"]),
                int(h["actor_id"]),
                ActorKind(h["actor_kind"]),
                h["at"],
                h.get("comment"),
            )
            for h in doc.get("history", [])
        ),
        number=int(doc["number"]) if doc.get("number") is not None else None,
    )


class MongoApplicationRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._applications = db.applications
        self._counters = db.counters

    async def insert(self, application: Application) -> None:
        try:
            await self._applications.insert_one(application_to_doc(application))
        except DuplicateKeyError as error:
            raise DuplicateActiveApplication(application.complex_code) from error

    async def get(self, application_id: str) -> Application | None:
        doc = await self._applications.find_one({"_id": application_id})
        return application_from_doc(doc) if doc else None

    async def find_active(
        self, user_id: int, complex_code: str, sport_code: str
    ) -> Application | None:
        doc = await self._applications.find_one(
            {
                "user_id": user_id,
                "complex_code": complex_code,
                "sport_code": sport_code,
                "active": True,
            }
        )
        return application_from_doc(doc) if doc else None

    async def replace_if_version(self, expected_version: int, updated: Application) -> bool:
        doc = application_to_doc(updated)
        result = await self._applications.replace_one(
            {"_id": doc["_id"], "version": expected_version}, doc
        )
        return result.modified_count == 1

    async def list_for_user(self, user_id: int, page: PageRequest) -> Page[Application]:
        return await self._page({"user_id": user_id}, page, newest_first=True)

    async def list_for_staff(
        self,
        complexes: frozenset[str] | None,
        statuses: frozenset[ApplicationStatus],
        page: PageRequest,
        *,
        newest_first: bool = False,
    ) -> Page[Application]:
        criteria: Document = {"status": {"$in": sorted(s.value for s in statuses)}}
        if complexes is not None:
            criteria["complex_code"] = {"$in": sorted(complexes)}
        return await self._page(criteria, page, newest_first=newest_first)

    async def search(
        self, complexes: frozenset[str] | None, query: ApplicationQuery, page: PageRequest
    ) -> Page[Application]:
        either: list[Document] = []
        if query.name:
            pattern = re.escape(query.name)
            either.append({"applicant_name": {"$regex": pattern, "$options": "i"}})
        if query.phone_digits:
            either.append({"applicant_phone": {"$regex": re.escape(query.phone_digits)}})
        if query.number is not None:
            either.append({"number": query.number})
        if query.complex_codes:
            either.append({"complex_code": {"$in": sorted(query.complex_codes)}})
        if not either:
            return Page([], page.page, page.size, 0)
        criteria: Document = {"$or": either}
        if complexes is not None:
            criteria = {"$and": [{"complex_code": {"$in": sorted(complexes)}}, criteria]}
        return await self._page(criteria, page, newest_first=True)

    async def next_number(self) -> int:
        for _ in range(NUMBER_ATTEMPTS):
            try:
                doc = await self._counters.find_one_and_update(
                    {"_id": NUMBER_COUNTER},
                    {"$inc": {"seq": 1}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                continue  # the very first draws raced to create the counter: it exists now
            if doc is not None:
                return int(doc["seq"])
            # A racing upsert may also come back empty-handed: the counter exists now.
        raise RuntimeError("the application number counter could not be incremented")

    async def anonymise_user(self, user_id: int) -> int:
        result = await self._applications.update_many(
            {"user_id": user_id},
            {"$set": {"applicant_name": None, "applicant_phone": None, "comment": None}},
        )
        return result.modified_count

    async def count_by_status(
        self, complexes: frozenset[str] | None = None
    ) -> dict[ApplicationStatus, int]:
        pipeline: list[Document] = [{"$group": {"_id": "$status", "n": {"$sum": 1}}}]
        if complexes is not None:
            pipeline.insert(0, {"$match": {"complex_code": {"$in": sorted(complexes)}}})
        cursor = await self._applications.aggregate(pipeline)
        return {ApplicationStatus(d["_id"]): int(d["n"]) async for d in cursor}

    async def count_created_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> list[ApplicationCount]:
        cursor = await self._applications.aggregate(
            [
                {"$match": _made_between(complexes, start, end)},
                {
                    "$group": {
                        "_id": {
                            "complex": "$complex_code",
                            "sport": "$sport_code",
                            "status": "$status",
                        },
                        "n": {"$sum": 1},
                    }
                },
            ]
        )
        counts = [
            ApplicationCount(
                d["_id"]["complex"],
                d["_id"]["sport"],
                ApplicationStatus(d["_id"]["status"]),
                int(d["n"]),
            )
            async for d in cursor
        ]
        return sorted(counts, key=lambda c: (c.complex_code, c.sport_code, c.status.value))

    async def applicants_between(
        self, complexes: frozenset[str], start: datetime, end: datetime
    ) -> frozenset[int]:
        found = await self._applications.distinct("user_id", _made_between(complexes, start, end))
        return frozenset(int(user_id) for user_id in found)

    async def created_between(
        self,
        complexes: frozenset[str],
        start: datetime,
        end: datetime,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int = 500,
    ) -> list[Application]:
        criteria = _made_between(complexes, start, end)
        if after is not None:
            at, last_id = after
            criteria = {
                "$and": [
                    criteria,
                    {
                        "$or": [
                            {"created_at": {"$gt": at}},
                            {"created_at": at, "_id": {"$gt": last_id}},
                        ]
                    },
                ]
            }
        cursor = (
            self._applications.find(criteria).sort([("created_at", 1), ("_id", 1)]).limit(limit)
        )
        return [application_from_doc(d) async for d in cursor]

    async def _page(
        self, criteria: Document, page: PageRequest, *, newest_first: bool
    ) -> Page[Application]:
        total = await self._applications.count_documents(criteria)
        order = -1 if newest_first else 1
        cursor = (
            self._applications.find(criteria)
            .sort([("created_at", order), ("_id", order)])
            .skip(page.offset)
            .limit(page.size)
        )
        return Page([application_from_doc(d) async for d in cursor], page.page, page.size, total)


def _made_between(complexes: frozenset[str], start: datetime, end: datetime) -> Document:
    return {
        "complex_code": {"$in": sorted(complexes)},
        "created_at": {"$gte": start, "$lt": end},
    }


__all__ = ["ACTIVE_STATUSES", "MongoApplicationRepository"]
