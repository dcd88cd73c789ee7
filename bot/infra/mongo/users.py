"""Users in MongoDB, keyed by Telegram id.

Writes never put back a whole record read earlier: :meth:`MongoUserRepository.save_changes`
sets only the fields a use case changed, so a resident's own edit cannot undo a block or a role
change made meanwhile by staff; ``blocked``, ``role`` and ``unreachable`` have their own
single-field writes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

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
        "registration_started_at": user.registration_started_at,
    }


def _flat(doc: Document) -> Document:
    """``{"notifications": {"reminders": x}}`` as ``{"notifications.reminders": x}``."""
    flat: Document = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": item for inner, item in value.items()})
        else:
            flat[key] = value
    return flat


def changed_fields(before: User, after: User) -> Document:
    """The document fields (dotted inside sub-documents) whose value ``after`` changed."""
    old, new = _flat(user_to_doc(before)), _flat(user_to_doc(after))
    return {key: value for key, value in new.items() if old.get(key) != value}


# A racing first contact: SecantusDB answers the losing upsert with nothing, MongoDB may refuse it
# with a duplicate key; either way the record exists by then and is read again.
ENSURE_ATTEMPTS = 3


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
        registration_started_at=doc.get("registration_started_at"),
    )


class MongoUserRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._users = db.users

    async def get(self, telegram_id: int) -> User | None:
        doc = await self._users.find_one({"_id": telegram_id})
        return user_from_doc(doc) if doc else None

    async def ensure(self, telegram_id: int, language: str, now: datetime) -> User:
        """Read; write only on first contact (an update from a known user costs no write)."""
        found = await self._users.find_one({"_id": telegram_id})
        if found is not None:
            return user_from_doc(found)
        fresh = user_to_doc(User(telegram_id=telegram_id, language=language))
        fresh.pop("_id")
        fresh["created_at"] = now
        for _ in range(ENSURE_ATTEMPTS):
            try:
                doc = await self._users.find_one_and_update(
                    {"_id": telegram_id},
                    {"$setOnInsert": fresh},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:  # another process inserted it first
                doc = None
            if doc is None:
                doc = await self._users.find_one({"_id": telegram_id})
            if doc is not None:
                return user_from_doc(doc)
        raise RuntimeError(f"user {telegram_id} could be neither created nor read")

    async def save(self, user: User) -> None:
        """The whole record (seeding, imports); use cases write through :meth:`save_changes`."""
        doc = user_to_doc(user)
        doc.pop("_id")
        await self._users.update_one({"_id": user.telegram_id}, {"$set": doc}, upsert=True)

    async def save_changes(self, before: User, after: User) -> None:
        if before.telegram_id != after.telegram_id:
            raise ValueError("save_changes compares two states of one user")
        changes = changed_fields(before, after)
        if not changes:
            return
        rest = {
            key: value
            for key, value in _flat(user_to_doc(after)).items()
            if key != "_id" and key not in changes
        }
        update: Document = {"$set": changes}
        if rest:  # only if the record is gone: then it is written whole
            update["$setOnInsert"] = rest
        await self._users.update_one({"_id": after.telegram_id}, update, upsert=True)

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
        # Every resident stores ``role: null``, so ``$ne: None`` walks the whole collection (the
        # sparse index holds the nulls too); naming the roles makes the ``role`` index narrow it
        # to the staff. Submitting an application reads this on the update path.
        cursor = self._users.find({"role": {"$in": [role.value for role in Role]}}).sort("_id", 1)
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
