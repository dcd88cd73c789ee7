"""Reminders in MongoDB, claimed under a lease so two workers never share one.

A reminder waits ``pending`` until due and, after a failed attempt, until ``next_attempt_at``;
a worker claims it (``sending`` until ``claimed_until``, renewed while its send is going) and
closes it: ``sent``, ``skipped``, ``stale`` or ``parked`` with its last error.

A claim is one conditional ``update_many`` over the ids to try, stamping a claim token, and one
read of what carries the token: two round trips however many are claimed (each document's update
is atomic, so two workers never both take one). Which ids to try comes from a page of the earliest
claimable reminders this process read at most a second ago, so the one query that scans the due
reminders runs once per page, not once per reminder. Another process may have taken ids of the
page meanwhile: the update skips them and the next ids are tried. Writes are what a busy database
serialises: claiming one at a time (an update per id, and several per reminder when workers raced
for the same page) made the reminder batch's claims most of its database time (bench, issue 10).
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

from pymongo import InsertOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from bot.domain.reminders import Reminder, ReminderKind, ReminderStats, ReminderStatus
from bot.infra.mongo.client import Document

DUPLICATE_KEY = 11000
R = ReminderStatus
OVERDUE_AFTER = timedelta(minutes=5)
CLOSED_UNSENT = frozenset({R.SKIPPED, R.STALE})
# Claim candidates read at once, and how long (on the caller's clock) such a page is used.
CLAIM_PAGE = 64
CLAIM_PAGE_FOR = timedelta(seconds=1)


def claimable(now: datetime) -> Document:
    """Due, and pending past its next attempt, or claimed by a worker whose lease ran out."""
    return {
        "due_at": {"$lte": now},
        "$or": [
            {"status": R.PENDING.value, "next_attempt_at": None},
            {"status": R.PENDING.value, "next_attempt_at": {"$lte": now}},
            {"status": R.SENDING.value, "claimed_until": {"$lt": now}},
        ],
    }


def reminder_from_doc(d: Document) -> Reminder:
    return Reminder(
        id=d["_id"],
        user_id=int(d["user_id"]),
        booking_id=d["booking_id"],
        session_id=d["session_id"],
        kind=ReminderKind(d["kind"]),
        due_at=d["due_at"],
        status=ReminderStatus(d["status"]),
        attempts=int(d.get("attempts", 0)),
        claimed_until=d.get("claimed_until"),
        sent_at=d.get("sent_at"),
        next_attempt_at=d.get("next_attempt_at"),
        failures=int(d.get("failures", 0)),
        last_error=d.get("last_error"),
    )


class MongoReminderRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._reminders = db.reminders
        self._candidates: deque[str] = deque()
        self._page_read_at: datetime | None = None

    async def insert_missing(self, reminders: Sequence[Reminder]) -> None:
        if not reminders:
            return
        docs = [
            {
                "_id": r.id,
                "user_id": r.user_id,
                "booking_id": r.booking_id,
                "session_id": r.session_id,
                "kind": r.kind.value,
                "due_at": r.due_at,
                "status": r.status.value,
                "attempts": 0,
                "failures": 0,
                "claimed_until": None,
                "next_attempt_at": None,
                "sent_at": None,
            }
            for r in reminders
        ]
        try:
            await self._reminders.bulk_write([InsertOne(d) for d in docs], ordered=False)
        except BulkWriteError as error:
            if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                raise
        # A booking cancelled and made again reuses reminder ids: revive those not sent yet.
        await self._reminders.update_many(
            {"_id": {"$in": [d["_id"] for d in docs]}, "status": R.CANCELLED.value},
            {
                "$set": {
                    "status": R.PENDING.value,
                    "attempts": 0,
                    "failures": 0,
                    "next_attempt_at": None,
                },
                "$unset": {"last_error": ""},
            },
        )

    async def cancel_for_booking(self, booking_id: str) -> int:
        result = await self._reminders.update_many(
            {"booking_id": booking_id, "status": {"$in": [R.PENDING.value, R.SENDING.value]}},
            {"$set": {"status": R.CANCELLED.value}},
        )
        return result.modified_count

    async def for_bookings(self, booking_ids: Sequence[str]) -> list[Reminder]:
        if not booking_ids:
            return []
        cursor = self._reminders.find({"booking_id": {"$in": sorted(set(booking_ids))}}).sort(
            "_id", 1
        )
        return [reminder_from_doc(d) async for d in cursor]

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Reminder]:
        claimed: list[Reminder] = []
        while len(claimed) < limit:
            ids = await self._candidates_to_try(now, limit - len(claimed))
            if not ids:
                break
            token = secrets.token_hex(8)
            taken = await self._reminders.update_many(
                {"_id": {"$in": ids}, **claimable(now)},
                {
                    "$set": {
                        "status": R.SENDING.value,
                        "claimed_until": now + lease,
                        "claim": token,
                    }
                },
            )
            if taken.modified_count == 0:
                continue  # other workers took them all first
            # A token is this call's alone; a lapsed claim taken over since would carry another.
            docs = self._reminders.find({"_id": {"$in": ids}, "claim": token})
            mine = await docs.sort([("due_at", 1), ("_id", 1)]).to_list()
            claimed += [reminder_from_doc(doc) for doc in mine]
        return claimed

    async def _candidates_to_try(self, now: datetime, count: int) -> list[str]:
        """Up to ``count`` ids worth trying: from this process's page, read again once used up or
        a second old (earliest due first; ties by id)."""
        read_at = self._page_read_at
        fresh = read_at is not None and read_at <= now < read_at + CLAIM_PAGE_FOR
        if not self._candidates or not fresh:
            page = self._reminders.find(claimable(now), {"_id": 1})
            docs = await page.sort([("due_at", 1), ("_id", 1)]).limit(CLAIM_PAGE).to_list()
            self._candidates = deque(str(d["_id"]) for d in docs)
            self._page_read_at = now
        taken = min(count, len(self._candidates))
        return [self._candidates.popleft() for _ in range(taken)]

    async def renew(self, reminder_id: str, until: datetime) -> None:
        await self._reminders.update_one(
            {"_id": reminder_id, "status": R.SENDING.value}, {"$set": {"claimed_until": until}}
        )

    async def mark_sent(self, reminder_id: str, now: datetime) -> None:
        await self._reminders.update_one(
            {"_id": reminder_id},
            {"$set": {"status": R.SENT.value, "sent_at": now, "claimed_until": None}},
        )

    async def retry_later(
        self, reminder_id: str, *, at: datetime, error: str, failure: bool
    ) -> None:
        await self._reminders.update_one(
            {"_id": reminder_id, "status": R.SENDING.value},
            {
                "$set": {
                    "status": R.PENDING.value,
                    "claimed_until": None,
                    "next_attempt_at": at,
                    "last_error": error,
                },
                "$inc": {"attempts": 1, "failures": 1 if failure else 0},
            },
        )

    async def park(self, reminder_id: str, now: datetime, error: str) -> None:
        await self._reminders.update_one(
            {"_id": reminder_id},
            {
                "$set": {
                    "status": R.PARKED.value,
                    "claimed_until": None,
                    "closed_at": now,
                    "last_error": error,
                },
                "$inc": {"attempts": 1, "failures": 1},
            },
        )

    async def close(
        self, reminder_id: str, now: datetime, status: ReminderStatus, reason: str
    ) -> None:
        if status not in CLOSED_UNSENT:
            raise ValueError(f"a reminder is closed unsent as skipped or stale, not {status}")
        await self._reminders.update_one(
            {"_id": reminder_id},
            {
                "$set": {
                    "status": status.value,
                    "claimed_until": None,
                    "closed_at": now,
                    "closed_reason": reason,
                }
            },
        )

    async def count_overdue(self, now: datetime) -> int:
        return await self._reminders.count_documents(
            {"status": R.PENDING.value, "due_at": {"$lt": now - OVERDUE_AFTER}}
        )

    async def stats(self, now: datetime) -> ReminderStats:
        oldest = await self._reminders.find_one(
            {"status": {"$in": [R.PENDING.value, R.SENDING.value]}, "due_at": {"$lte": now}},
            {"due_at": 1},
            sort=[("due_at", 1)],
        )
        return ReminderStats(
            overdue=await self.count_overdue(now),
            oldest_due_at=oldest["due_at"] if oldest is not None else None,
            parked=await self._reminders.count_documents({"status": R.PARKED.value}),
        )
