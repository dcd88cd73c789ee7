"""Reminders in MongoDB, claimed one at a time with a lease so two workers never share one.

A reminder waits ``pending`` until due and, after a failed attempt, until ``next_attempt_at``;
a worker claims it (``sending`` until ``claimed_until``, renewed while its send is going) and
closes it: ``sent``, ``skipped``, ``stale`` or ``parked`` with its last error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pymongo import InsertOne, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from bot.domain.reminders import Reminder, ReminderKind, ReminderStats, ReminderStatus
from bot.infra.mongo.client import Document

DUPLICATE_KEY = 11000
R = ReminderStatus
OVERDUE_AFTER = timedelta(minutes=5)
CLOSED_UNSENT = frozenset({R.SKIPPED, R.STALE})


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

    async def claim_due(self, now: datetime, lease: timedelta, limit: int) -> list[Reminder]:
        claimed: list[Reminder] = []
        while len(claimed) < limit:
            doc = await self._reminders.find_one_and_update(
                {
                    "due_at": {"$lte": now},
                    "$or": [
                        {"status": R.PENDING.value, "next_attempt_at": None},
                        {"status": R.PENDING.value, "next_attempt_at": {"$lte": now}},
                        # a worker that claimed it died: its lease ran out
                        {"status": R.SENDING.value, "claimed_until": {"$lt": now}},
                    ],
                },
                {"$set": {"status": R.SENDING.value, "claimed_until": now + lease}},
                sort=[("due_at", 1)],
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            claimed.append(reminder_from_doc(doc))
        return claimed

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
