"""Users in MongoDB, keyed by Telegram id."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from bot.domain.paging import Page, PageRequest
from bot.domain.users import NotificationPreferences, Role, User
from bot.infra.mongo.client import Document


def user_to_doc(user: User) -> Document:
    return {
        "_id": user.telegram_id,
        "name": user.name,
        "name_lower": user.name.lower() if user.name else None,
        "phone": user.phone,
        "language": user.language,
        "consent_at": user.consent_at,
        "registered_at": user.registered_at,
        "blocked": user.blocked,
        "unreachable": user.unreachable,
        "role": user.role.value if user.role else None,
        "managed_complexes": sorted(user.managed_complexes),
        "notifications": {
            "reminders": user.notifications.reminders,
            "application_updates": user.notifications.application_updates,
            "broadcasts": user.notifications.broadcasts,
        },
        "deleted_at": user.deleted_at,
    }


def user_from_doc(doc: Document) -> User:
    prefs: dict[str, Any] = doc.get("notifications") or {}
    role = doc.get("role")
    return User(
        telegram_id=int(doc["_id"]),
        name=doc.get("name"),
        phone=doc.get("phone"),
        language=doc.get("language") or "ru",
        consent_at=doc.get("consent_at"),
        registered_at=doc.get("registered_at"),
        blocked=bool(doc.get("blocked", False)),
        unreachable=bool(doc.get("unreachable", False)),
        role=Role(role) if role else None,
        managed_complexes=frozenset(doc.get("managed_complexes") or ()),
        notifications=NotificationPreferences(
            reminders=bool(prefs.get("reminders", True)),
            application_updates=bool(prefs.get("application_updates", True)),
            broadcasts=bool(prefs.get("broadcasts", True)),
        ),
        deleted_at=doc.get("deleted_at"),
    )


class MongoUserRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._users = db.users

    async def get(self, telegram_id: int) -> User | None:
        doc = await self._users.find_one({"_id": telegram_id})
        return user_from_doc(doc) if doc else None

    async def ensure(self, telegram_id: int, language: str, now: datetime) -> User:
        fresh = user_to_doc(User(telegram_id=telegram_id, language=language))
        fresh.pop("_id")
        fresh["created_at"] = now
        doc = await self._users.find_one_and_update(
            {"_id": telegram_id},
            {"$setOnInsert": fresh},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # upsert with AFTER always returns the document
            raise RuntimeError(f"upsert of user {telegram_id} returned nothing")
        return user_from_doc(doc)

    async def save(self, user: User) -> None:
        doc = user_to_doc(user)
        doc.pop("_id")
        await self._users.update_one({"_id": user.telegram_id}, {"$set": doc}, upsert=True)

    async def set_unreachable(self, telegram_id: int, unreachable: bool) -> None:
        await self._users.update_one({"_id": telegram_id}, {"$set": {"unreachable": unreachable}})

    async def set_role(
        self, telegram_id: int, role: Role | None, managed_complexes: frozenset[str]
    ) -> User | None:
        doc = await self._users.find_one_and_update(
            {"_id": telegram_id},
            {
                "$set": {
                    "role": role.value if role else None,
                    "managed_complexes": sorted(managed_complexes),
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return user_from_doc(doc) if doc else None

    async def search(self, query: str, page: PageRequest) -> Page[User]:
        if query.lstrip("+").isdigit():
            digits = query.lstrip("+")
            criteria: Document = {
                "$or": [{"_id": int(digits)}, {"phone": {"$regex": re.escape(digits)}}]
            }
        else:
            criteria = {"name_lower": {"$regex": re.escape(query.lower())}}
        total = await self._users.count_documents(criteria)
        cursor = self._users.find(criteria).sort("_id", 1).skip(page.offset).limit(page.size)
        return Page([user_from_doc(d) async for d in cursor], page.page, page.size, total)

    async def list_staff(self) -> list[User]:
        cursor = self._users.find({"role": {"$ne": None}}).sort("_id", 1)
        return [user_from_doc(d) async for d in cursor]

    async def count_registered(self) -> int:
        return await self._users.count_documents(
            {"registered_at": {"$ne": None}, "deleted_at": None}
        )

    async def list_all(self, limit: int) -> list[User]:
        cursor = self._users.find({}).sort("_id", 1).limit(limit)
        return [user_from_doc(d) async for d in cursor]

    async def count_registered_between(
        self, start: datetime, end: datetime, among: frozenset[int] | None = None
    ) -> int:
        criteria: Document = {"registered_at": {"$gte": start, "$lt": end}, "deleted_at": None}
        if among is not None:
            criteria["_id"] = {"$in": sorted(among)}
        return await self._users.count_documents(criteria)

    async def get_many(self, telegram_ids: frozenset[int]) -> list[User]:
        cursor = self._users.find({"_id": {"$in": sorted(telegram_ids)}}).sort("_id", 1)
        return [user_from_doc(d) async for d in cursor]
