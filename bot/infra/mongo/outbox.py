"""A durable outbox of notifications to users (status changes, seat offers).

Services write here instead of sending: the write is idempotent (keyed by what happened), survives
a crash of the instance, and a deliverer sends each one once (claimed atomically, like reminders).
An entry waits ``pending`` until ``next_attempt_at`` (its creation, then after each failed attempt
a later time), is ``sending`` while claimed (``claimed_until``, renewed during a long send), and
ends ``sent``, ``skipped``, ``stale`` or ``parked`` with its last error. Claims work like the
reminders' (``bot.infra.mongo.reminders``): a conditional update by id, the ids to try from a
page of the oldest claimable entries read at most a second ago.
"""

from __future__ import annotations

import secrets
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from bot.domain.applications import Application
from bot.domain.bookings import Booking
from bot.domain.sessions import Session
from bot.infra.mongo.client import Document
from bot.infra.tracing import TRACEPARENT, current_trace_context
from bot.services.ports.system import Clock, OutboxEntry, OutboxStats, OutboxStatus

S = OutboxStatus
CLOSED_UNSENT = frozenset({S.SKIPPED, S.STALE})
CLAIM_PAGE = 64
CLAIM_PAGE_FOR = timedelta(seconds=1)


def claimable(now: datetime) -> dict[str, Any]:
    """Pending past its next attempt, or claimed by a worker whose lease ran out."""
    return {
        "$or": [
            {"status": S.PENDING.value, "next_attempt_at": None},
            {"status": S.PENDING.value, "next_attempt_at": {"$lte": now}},
            {"status": S.SENDING.value, "claimed_until": {"$lt": now}},
        ]
    }


class MongoOutboxNotifier:
    def __init__(self, db: AsyncDatabase[Document], clock: Clock) -> None:
        self._outbox = db.outbox
        self._clock = clock
        self._candidates: deque[str] = deque()
        self._page_read_at: datetime | None = None

    async def application_status_changed(self, application: Application) -> bool:
        return await self._put(
            f"application:{application.id}:v{application.version}",
            "application_status",
            application.user_id,
            {"application_id": application.id, "status": application.status.value},
        )

    async def seat_offered(self, booking: Booking, session: Session) -> bool:
        expires = booking.offer_expires_at.isoformat() if booking.offer_expires_at else ""
        return await self._put(
            f"offer:{booking.id}:{expires}",
            "seat_offer",
            booking.user_id,
            {"booking_id": booking.id, "session_id": session.id},
        )

    async def session_cancelled(self, booking: Booking, session: Session) -> bool:
        return await self._put(
            f"session_cancelled:{booking.id}",
            "session_cancelled",
            booking.user_id,
            {"booking_id": booking.id, "session_id": session.id},
        )

    async def new_application_for_staff(self, application: Application, staff_id: int) -> bool:
        return await self._put(
            f"staff_new_application:{application.id}:{staff_id}",
            "staff_new_application",
            staff_id,
            {"application_id": application.id},
        )

    async def user_blocked(self, telegram_id: int, event_id: str, reason: str) -> bool:
        return await self._put(
            f"user_blocked:{telegram_id}:{event_id}",
            "user_blocked",
            telegram_id,
            {"reason": reason},
        )

    async def claim(self, lease: timedelta, limit: int) -> list[OutboxEntry]:
        now = self._clock.now()
        claimed: list[OutboxEntry] = []
        while len(claimed) < limit:
            key = await self._candidate(now)
            if key is None:
                break
            token = secrets.token_hex(8)
            taken = await self._outbox.update_one(
                {"_id": key, **claimable(now)},
                {"$set": {"status": S.SENDING.value, "claimed_until": now + lease, "claim": token}},
            )
            if taken.modified_count != 1:
                continue  # another worker took it first
            doc = await self._outbox.find_one({"_id": key, "claim": token})
            if doc is None:
                continue
            claimed.append(
                OutboxEntry(
                    key=doc["_id"],
                    kind=doc["kind"],
                    user_id=int(doc["user_id"]),
                    payload={k: str(v) for k, v in doc.get("payload", {}).items()},
                    attempts=int(doc.get("attempts", 0)),
                    failures=int(doc.get("failures", 0)),
                    created_at=doc.get("created_at"),
                    trace_context=doc.get(TRACEPARENT),
                )
            )
        return claimed

    async def _candidate(self, now: datetime) -> str | None:
        read_at = self._page_read_at
        fresh = read_at is not None and read_at <= now < read_at + CLAIM_PAGE_FOR
        if not self._candidates or not fresh:
            page = self._outbox.find(claimable(now), {"_id": 1})
            docs = await page.sort([("created_at", 1), ("_id", 1)]).limit(CLAIM_PAGE).to_list()
            self._candidates = deque(str(d["_id"]) for d in docs)
            self._page_read_at = now
        return self._candidates.popleft() if self._candidates else None

    async def renew(self, key: str, lease: timedelta) -> None:
        await self._outbox.update_one(
            {"_id": key, "status": S.SENDING.value},
            {"$set": {"claimed_until": self._clock.now() + lease}},
        )

    async def done(self, key: str) -> None:
        await self._outbox.update_one(
            {"_id": key},
            {"$set": {"status": S.SENT.value, "sent_at": self._clock.now(), "claimed_until": None}},
        )

    async def retry_later(self, key: str, *, at: datetime, error: str, failure: bool) -> None:
        await self._outbox.update_one(
            {"_id": key, "status": S.SENDING.value},
            {
                "$set": {
                    "status": S.PENDING.value,
                    "claimed_until": None,
                    "next_attempt_at": at,
                    "last_error": error,
                },
                "$inc": {"attempts": 1, "failures": 1 if failure else 0},
            },
        )

    async def park(self, key: str, *, error: str) -> None:
        await self._outbox.update_one(
            {"_id": key},
            {
                "$set": {
                    "status": S.PARKED.value,
                    "claimed_until": None,
                    "closed_at": self._clock.now(),
                    "last_error": error,
                },
                "$inc": {"attempts": 1, "failures": 1},
            },
        )

    async def close(self, key: str, *, status: OutboxStatus, reason: str) -> None:
        if status not in CLOSED_UNSENT:
            raise ValueError(f"an entry is closed unsent as skipped or stale, not {status}")
        await self._outbox.update_one(
            {"_id": key},
            {
                "$set": {
                    "status": status.value,
                    "claimed_until": None,
                    "closed_at": self._clock.now(),
                    "closed_reason": reason,
                }
            },
        )

    async def stats(self) -> OutboxStats:
        waiting = {"status": {"$in": [S.PENDING.value, S.SENDING.value]}}
        oldest = await self._outbox.find_one(waiting, {"created_at": 1}, sort=[("created_at", 1)])
        return OutboxStats(
            backlog=await self._outbox.count_documents(waiting),
            oldest_created_at=oldest["created_at"] if oldest is not None else None,
            parked=await self._outbox.count_documents({"status": S.PARKED.value}),
        )

    async def _put(self, key: str, kind: str, user_id: int, payload: dict[str, Any]) -> bool:
        now: datetime = self._clock.now()
        entry: dict[str, Any] = {
            "_id": key,
            "kind": kind,
            "user_id": user_id,
            "payload": payload,
            "status": S.PENDING.value,
            "attempts": 0,
            "failures": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        trace_context = current_trace_context()
        if trace_context is not None:
            entry[TRACEPARENT] = trace_context  # the worker's delivery continues this trace
        try:
            await self._outbox.insert_one(entry)
        except DuplicateKeyError:
            return False  # the same event was recorded already (a retried update): once is enough
        return True
