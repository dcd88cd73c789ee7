"""The staff audit log in MongoDB (append-only)."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from bot.domain.audit import AuditEntry
from bot.domain.paging import Page, PageRequest
from bot.infra.mongo.client import Document


class MongoAuditRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._log = db.audit_log

    async def record(self, entry: AuditEntry) -> None:
        await self._log.insert_one(
            {
                "_id": entry.id,
                "actor_id": entry.actor_id,
                "action": entry.action,
                "target_type": entry.target_type,
                "target_id": entry.target_id,
                "at": entry.at,
                "details": dict(entry.details),
            }
        )

    async def recent(self, page: PageRequest) -> Page[AuditEntry]:
        total = await self._log.count_documents({})
        cursor = (
            self._log.find({}).sort([("at", -1), ("_id", 1)]).skip(page.offset).limit(page.size)
        )
        items = [
            AuditEntry(
                d["_id"],
                int(d["actor_id"]),
                d["action"],
                d["target_type"],
                d["target_id"],
                d["at"],
                d.get("details") or {},
            )
            async for d in cursor
        ]
        return Page(items, page.page, page.size, total)
