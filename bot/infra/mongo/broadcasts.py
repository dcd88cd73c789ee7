"""Broadcasts in MongoDB: ``broadcasts`` (one document each: audience, text, state, the runner's
lease, the author's progress message) and ``broadcast_recipients`` (one document per broadcast
and user, ``_id`` ``<broadcast>:<user>`` plus a unique index on the pair: a second record, and so
a second send, cannot exist). Who an audience is comes from users, applications, bookings and
sessions (:class:`MongoBroadcastAudiences`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from bot.domain.applications import ApplicationStatus
from bot.domain.bookings import OPEN_STATUSES
from bot.domain.broadcasts import (
    RECENT_BOOKING_DAYS,
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastCounts,
    BroadcastState,
    Recipient,
    RecipientState,
    recipient_id,
)
from bot.domain.paging import Page, PageRequest
from bot.infra.mongo.client import Document

DUPLICATE_KEY = 11000
INSERT_CHUNK = 1000
_ENDED = [BroadcastState.CANCELLED.value, BroadcastState.DONE.value]
_OPEN = [BroadcastState.QUEUED.value, BroadcastState.RUNNING.value]
_LEFT_BY_RUNNER = [
    RecipientState.CLAIMED.value,
    RecipientState.DISPATCHING.value,
    RecipientState.UNCONFIRMED.value,
]


def _counts_doc(counts: BroadcastCounts) -> Document:
    return {
        "total": counts.total,
        "delivered": counts.delivered,
        "blocked": counts.blocked,
        "failed": counts.failed,
        "skipped": counts.skipped,
        "unconfirmed": counts.unconfirmed,
    }


def _counts_from(doc: Document | None) -> BroadcastCounts:
    d = doc or {}
    return BroadcastCounts(
        total=int(d.get("total", 0)),
        delivered=int(d.get("delivered", 0)),
        blocked=int(d.get("blocked", 0)),
        failed=int(d.get("failed", 0)),
        skipped=int(d.get("skipped", 0)),
        unconfirmed=int(d.get("unconfirmed", 0)),
    )


def broadcast_to_doc(b: Broadcast) -> Document:
    a = b.audience
    return {
        "_id": b.id,
        "author_id": b.author_id,
        "audience": {
            "kind": a.kind.value,
            "code": a.code,
            "complexes": sorted(a.complexes) if a.complexes is not None else None,
            "complex_code": a.complex_code,
        },
        "text": b.text,
        "html": b.html,
        "state": b.state.value,
        "created_at": b.created_at,
        "updated_at": b.updated_at,
        "estimated": b.estimated,
        "queued_at": b.queued_at,
        "started_at": b.started_at,
        "finished_at": b.finished_at,
        "cancelled_by": b.cancelled_by,
        "sender": (
            {"chat_id": b.sender_chat_id, "message_id": b.sender_message_id}
            if b.sender_chat_id is not None and b.sender_message_id is not None
            else None
        ),
        "expanded": b.expanded,
        "runner": b.runner,
        "runner_until": b.runner_until,
        "progress_at": b.progress_at,
        "final_shown": b.final_shown,
        "counts": _counts_doc(b.counts),
    }


def broadcast_from_doc(d: Document) -> Broadcast:
    a = d["audience"]
    sender = d.get("sender") or {}
    complexes = a.get("complexes")
    return Broadcast(
        id=d["_id"],
        author_id=int(d["author_id"]),
        audience=Audience(
            AudienceKind(a["kind"]),
            a.get("code"),
            complexes=frozenset(complexes) if complexes is not None else None,
            complex_code=a.get("complex_code"),
        ),
        text=d["text"],
        html=d["html"],
        state=BroadcastState(d["state"]),
        created_at=d["created_at"],
        updated_at=d["updated_at"],
        estimated=int(d.get("estimated", 0)),
        queued_at=d.get("queued_at"),
        started_at=d.get("started_at"),
        finished_at=d.get("finished_at"),
        cancelled_by=d.get("cancelled_by"),
        sender_chat_id=sender.get("chat_id"),
        sender_message_id=sender.get("message_id"),
        expanded=bool(d.get("expanded", False)),
        runner=d.get("runner"),
        runner_until=d.get("runner_until"),
        progress_at=d.get("progress_at"),
        final_shown=bool(d.get("final_shown", False)),
        counts=_counts_from(d.get("counts")),
    )


def _recipient_from(d: Document) -> Recipient:
    return Recipient(
        broadcast_id=d["broadcast_id"],
        user_id=int(d["user_id"]),
        state=RecipientState(d["state"]),
        attempts=int(d.get("attempts", 0)),
        runner=d.get("runner"),
        next_at=d.get("next_at"),
        error=d.get("error"),
    )


class MongoBroadcastRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._broadcasts = db.broadcasts
        self._recipients = db.broadcast_recipients

    # --- the broadcast ------------------------------------------------------------------------

    async def insert(self, broadcast: Broadcast) -> None:
        await self._broadcasts.insert_one(broadcast_to_doc(broadcast))

    async def get(self, broadcast_id: str) -> Broadcast | None:
        doc = await self._broadcasts.find_one({"_id": broadcast_id})
        return broadcast_from_doc(doc) if doc else None

    async def update_draft(
        self, broadcast_id: str, *, text: str, html: str, estimated: int, now: datetime
    ) -> Broadcast | None:
        doc = await self._broadcasts.find_one_and_update(
            {"_id": broadcast_id, "state": BroadcastState.DRAFT.value},
            {"$set": {"text": text, "html": html, "estimated": estimated, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return broadcast_from_doc(doc) if doc else None

    async def move(
        self,
        broadcast_id: str,
        from_states: frozenset[BroadcastState],
        to_state: BroadcastState,
        now: datetime,
        *,
        sender: tuple[int, int] | None = None,
        cancelled_by: int | None = None,
    ) -> Broadcast | None:
        changes: Document = {"state": to_state.value, "updated_at": now}
        if to_state is BroadcastState.QUEUED:
            changes.update(final_shown=False, finished_at=None)
            if sender is not None:
                changes.update(
                    sender={"chat_id": sender[0], "message_id": sender[1]}, queued_at=now
                )
        if to_state in (BroadcastState.CANCELLED, BroadcastState.DONE):
            changes["finished_at"] = now
        if cancelled_by is not None:
            changes["cancelled_by"] = cancelled_by
        doc = await self._broadcasts.find_one_and_update(
            {"_id": broadcast_id, "state": {"$in": sorted(s.value for s in from_states)}},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
        )
        return broadcast_from_doc(doc) if doc else None

    async def list_recent(self, author_id: int | None, page: PageRequest) -> Page[Broadcast]:
        criteria: Document = {"queued_at": {"$ne": None}}
        if author_id is not None:
            criteria["author_id"] = author_id
        total = await self._broadcasts.count_documents(criteria)
        cursor = (
            self._broadcasts.find(criteria)
            .sort([("queued_at", DESCENDING), ("_id", DESCENDING)])
            .skip(page.offset)
            .limit(page.size)
        )
        return Page([broadcast_from_doc(d) async for d in cursor], page.page, page.size, total)

    # --- running it ---------------------------------------------------------------------------

    async def head(self) -> Broadcast | None:
        cursor = (
            self._broadcasts.find({"state": {"$in": _OPEN}})
            .sort([("queued_at", ASCENDING), ("_id", ASCENDING)])
            .limit(1)
        )
        found = [broadcast_from_doc(d) async for d in cursor]
        return found[0] if found else None

    async def take(self, broadcast_id: str, runner: str, now: datetime, until: datetime) -> bool:
        result = await self._broadcasts.update_one(
            {
                "_id": broadcast_id,
                "state": {"$in": _OPEN},
                "$or": [{"runner_until": None}, {"runner_until": {"$lte": now}}],
            },
            {
                "$set": {
                    "state": BroadcastState.RUNNING.value,
                    "runner": runner,
                    "runner_until": until,
                    "updated_at": now,
                }
            },
        )
        if result.modified_count != 1:
            return False
        await self._broadcasts.update_one(
            {"_id": broadcast_id, "started_at": None}, {"$set": {"started_at": now}}
        )
        return True

    async def renew(self, broadcast_id: str, runner: str, until: datetime) -> Broadcast | None:
        doc = await self._broadcasts.find_one_and_update(
            {"_id": broadcast_id, "runner": runner},
            {"$set": {"runner_until": until}},
            return_document=ReturnDocument.AFTER,
        )
        return broadcast_from_doc(doc) if doc else None

    async def release(self, broadcast_id: str, runner: str, now: datetime) -> None:
        await self._broadcasts.update_one(
            {"_id": broadcast_id, "runner": runner}, {"$set": {"runner_until": now}}
        )

    async def finish(self, broadcast_id: str, runner: str, now: datetime) -> Broadcast | None:
        doc = await self._broadcasts.find_one_and_update(
            {"_id": broadcast_id, "runner": runner, "state": BroadcastState.RUNNING.value},
            {
                "$set": {
                    "state": BroadcastState.DONE.value,
                    "finished_at": now,
                    "updated_at": now,
                    "runner_until": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return broadcast_from_doc(doc) if doc else None

    async def shown(
        self, broadcast_id: str, counts: BroadcastCounts, at: datetime, *, final: bool
    ) -> None:
        criteria: Document = {"_id": broadcast_id}
        if not final:
            criteria["final_shown"] = False  # a late progress never undoes the final counts
        await self._broadcasts.update_one(
            criteria,
            {"$set": {"counts": _counts_doc(counts), "progress_at": at, "final_shown": final}},
        )

    async def unreported(self, limit: int) -> list[Broadcast]:
        cursor = (
            self._broadcasts.find(
                {"state": {"$in": _ENDED}, "final_shown": False, "sender": {"$ne": None}}
            )
            .sort([("finished_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [broadcast_from_doc(d) async for d in cursor]

    # --- recipients ---------------------------------------------------------------------------

    async def add_recipients(self, broadcast_id: str, user_ids: Sequence[int]) -> int:
        added = 0
        unique = sorted(set(user_ids))
        for start in range(0, len(unique), INSERT_CHUNK):
            docs = [
                {
                    "_id": recipient_id(broadcast_id, uid),
                    "broadcast_id": broadcast_id,
                    "user_id": uid,
                    "state": RecipientState.PENDING.value,
                    "attempts": 0,
                    "runner": None,
                    "next_at": None,
                    "error": None,
                }
                for uid in unique[start : start + INSERT_CHUNK]
            ]
            try:
                result = await self._recipients.insert_many(docs, ordered=False)
                added += len(result.inserted_ids)
            except BulkWriteError as error:
                details: Any = error.details
                if any(e.get("code") != DUPLICATE_KEY for e in details.get("writeErrors", [])):
                    raise
                added += int(details.get("nInserted", 0))
        return added

    async def mark_expanded(self, broadcast_id: str) -> None:
        await self._broadcasts.update_one({"_id": broadcast_id}, {"$set": {"expanded": True}})

    async def recover(self, broadcast_id: str, runner: str) -> tuple[int, int]:
        requeued = await self._recipients.update_many(
            {
                "broadcast_id": broadcast_id,
                "state": RecipientState.CLAIMED.value,
                "runner": {"$ne": runner},
            },
            {"$set": {"state": RecipientState.PENDING.value, "runner": None}},
        )
        unconfirmed = await self._recipients.update_many(
            {
                "broadcast_id": broadcast_id,
                "state": RecipientState.DISPATCHING.value,
                "runner": {"$ne": runner},
            },
            {
                "$set": {
                    "state": RecipientState.UNCONFIRMED.value,
                    "error": "the runner sending it stopped before Telegram answered",
                }
            },
        )
        return requeued.modified_count, unconfirmed.modified_count

    async def claim(
        self, broadcast_id: str, runner: str, now: datetime, limit: int
    ) -> list[Recipient]:
        due = (
            self._recipients.find(
                {
                    "broadcast_id": broadcast_id,
                    "state": RecipientState.PENDING.value,
                    "$or": [{"next_at": None}, {"next_at": {"$lte": now}}],
                },
                {"_id": 1},
            )
            .sort("user_id", ASCENDING)
            .limit(limit)
        )
        ids = [d["_id"] async for d in due]
        if not ids:
            return []
        await self._recipients.update_many(
            {"_id": {"$in": ids}, "state": RecipientState.PENDING.value},
            {"$set": {"state": RecipientState.CLAIMED.value, "runner": runner}},
        )
        claimed = self._recipients.find(
            {"_id": {"$in": ids}, "state": RecipientState.CLAIMED.value, "runner": runner}
        ).sort("user_id", ASCENDING)
        return [_recipient_from(d) async for d in claimed]

    async def dispatching(self, broadcast_id: str, user_id: int, runner: str) -> bool:
        result = await self._recipients.update_one(
            {
                "_id": recipient_id(broadcast_id, user_id),
                "state": RecipientState.CLAIMED.value,
                "runner": runner,
            },
            {"$set": {"state": RecipientState.DISPATCHING.value}},
        )
        return result.modified_count == 1

    async def settle(
        self,
        broadcast_id: str,
        user_id: int,
        runner: str,
        state: RecipientState,
        now: datetime,
        *,
        error: str | None = None,
    ) -> None:
        await self._recipients.update_one(
            {
                "_id": recipient_id(broadcast_id, user_id),
                "runner": runner,
                "state": {"$in": _LEFT_BY_RUNNER},
            },
            {"$set": {"state": state.value, "error": error, "settled_at": now}},
        )

    async def retry_later(
        self, broadcast_id: str, user_id: int, runner: str, at: datetime, error: str
    ) -> None:
        await self._recipients.update_one(
            {
                "_id": recipient_id(broadcast_id, user_id),
                "runner": runner,
                "state": {"$in": [RecipientState.CLAIMED.value, RecipientState.DISPATCHING.value]},
            },
            {
                "$set": {
                    "state": RecipientState.PENDING.value,
                    "runner": None,
                    "next_at": at,
                    "error": error,
                },
                "$inc": {"attempts": 1},
            },
        )

    async def counts(self, broadcast_id: str) -> BroadcastCounts:
        by_state: dict[RecipientState, int] = {}
        async for row in await self._recipients.aggregate(
            [
                {"$match": {"broadcast_id": broadcast_id}},
                {"$group": {"_id": "$state", "n": {"$sum": 1}}},
            ]
        ):
            by_state[RecipientState(row["_id"])] = int(row["n"])
        return BroadcastCounts.of(by_state)

    async def next_due(self, broadcast_id: str) -> datetime | None:
        cursor = (
            self._recipients.find(
                {
                    "broadcast_id": broadcast_id,
                    "state": RecipientState.PENDING.value,
                    "next_at": {"$ne": None},
                },
                {"next_at": 1},
            )
            .sort("next_at", ASCENDING)
            .limit(1)
        )
        found = [d["next_at"] async for d in cursor]
        return found[0] if found else None

    async def requeue_unconfirmed(self, broadcast_id: str, now: datetime) -> int:
        result = await self._recipients.update_many(
            {"broadcast_id": broadcast_id, "state": RecipientState.UNCONFIRMED.value},
            {
                "$set": {
                    "state": RecipientState.PENDING.value,
                    "runner": None,
                    "next_at": None,
                    "requeued_at": now,
                }
            },
        )
        return result.modified_count


# Registered, not deleted, not blocked by staff, has not blocked the bot, allows news.
REACHABLE: Document = {
    "registered_at": {"$ne": None},
    "deleted_at": None,
    "blocked": {"$ne": True},
    "unreachable": {"$ne": True},
    "notifications.broadcasts": {"$ne": False},
}
_GONE = [ApplicationStatus.CANCELLED.value, ApplicationStatus.REJECTED.value]


class MongoBroadcastAudiences:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._users = db.users
        self._applications = db.applications
        self._bookings = db.bookings
        self._sessions = db.sessions

    async def user_ids(self, audience: Audience, now: datetime) -> list[int]:
        candidates = await self._candidates(audience, now)
        criteria: Document = dict(REACHABLE)
        if candidates is not None:
            criteria["_id"] = {"$in": sorted(candidates)}
        cursor = self._users.find(criteria, {"_id": 1}).sort("_id", ASCENDING)
        return [int(d["_id"]) async for d in cursor]

    async def reachable(self, user_ids: Sequence[int]) -> set[int]:
        if not user_ids:
            return set()
        cursor = self._users.find({"_id": {"$in": list(user_ids)}, **REACHABLE}, {"_id": 1})
        return {int(d["_id"]) async for d in cursor}

    async def _candidates(self, audience: Audience, now: datetime) -> set[int] | None:
        """The people an audience names before who may be reached is asked (None: everyone)."""
        if audience.kind is AudienceKind.ALL:
            return None
        if audience.kind is AudienceKind.SESSION:
            return await self._booked([str(audience.code)])
        applications: Document = {"status": {"$nin": _GONE}}
        sessions: Document = {"starts_at": {"$gte": now - timedelta(days=RECENT_BOOKING_DAYS)}}
        if audience.kind is AudienceKind.COMPLEX:
            applications["complex_code"] = sessions["complex_code"] = audience.code
        else:
            applications["sport_code"] = sessions["sport_code"] = audience.code
            if audience.complexes is not None:
                scope = {"$in": sorted(audience.complexes)}
                applications["complex_code"] = sessions["complex_code"] = scope
        people = {
            int(d["user_id"]) async for d in self._applications.find(applications, {"user_id": 1})
        }
        session_ids = [str(d["_id"]) async for d in self._sessions.find(sessions, {"_id": 1})]
        return people | await self._booked(session_ids)

    async def _booked(self, session_ids: list[str]) -> set[int]:
        if not session_ids:
            return set()
        cursor = self._bookings.find(
            {
                "session_id": {"$in": session_ids},
                "status": {"$in": sorted(s.value for s in OPEN_STATUSES)},
            },
            {"user_id": 1},
        )
        return {int(d["user_id"]) async for d in cursor}
