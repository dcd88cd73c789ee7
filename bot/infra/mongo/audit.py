"""The staff audit log in MongoDB (append-only)."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from bot.domain.audit import AuditEntry
from bot.domain.paging import Page, PageRequest
from bot.infra.mongo.client import Document
from bot.services.ports.repositories import AuditQuery


def _entry_from_doc(d: Document) -> AuditEntry:
    return AuditEntry(
        d["_id"],
        int(d["actor_id"]),
        d["action"],
        d["target_type"],
        d["target_id"],
        d["at"],
        d.get("details") or {},
        d.get("actor_name"),
    )


class MongoAuditRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._log = db.audit_log

    async def record(self, entry: AuditEntry) -> None:
        doc: Document = {
            "_id": entry.id,
            "actor_id": entry.actor_id,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "at": entry.at,
            "details": dict(entry.details),
        }
        if entry.actor_name is not None:
            doc["actor_name"] = entry.actor_name
        await self._log.insert_one(doc)

    async def recent(self, page: PageRequest) -> Page[AuditEntry]:
        return await self._page({}, page)

    async def search(self, query: AuditQuery, page: PageRequest) -> Page[AuditEntry]:
        criteria: Document = {}
        if query.actor_id is not None:
            criteria["actor_id"] = query.actor_id
        if query.target_type is not None:
            criteria["target_type"] = query.target_type
        if query.target_id is not None:
            criteria["target_id"] = query.target_id
        if query.action is not None:
            criteria["action"] = query.action
        return await self._page(criteria, page)

    async def _page(self, criteria: Document, page: PageRequest) -> Page[AuditEntry]:
        total = await self._log.count_documents(criteria)
        cursor = (
            self._log.find(criteria)
            .sort([("at", -1), ("_id", 1)])
            .skip(page.offset)
            .limit(page.size)
        )
        return Page([_entry_from_doc(d) async for d in cursor], page.page, page.size, total)
