"""Bookings and the waitlist in MongoDB: one document per (session, user), moved by conditions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from bot.domain.bookings import (
    OPEN_STATUSES,
    SEAT_HOLDING,
    Attendance,
    Booking,
    BookingStatus,
)
from bot.domain.paging import Page, PageRequest
from bot.infra.mongo.client import Document
from bot.services.ports.repositories import BookingCount, BookingTally

WAITLIST_ORDER = [("queued_at", 1), ("_id", 1)]


def booking_from_doc(d: Document) -> Booking:
    attendance = d.get("attendance")
    return Booking(
        id=d["_id"],
        session_id=d["session_id"],
        user_id=int(d["user_id"]),
        status=BookingStatus(d["status"]),
        created_at=d["created_at"],
        updated_at=d["updated_at"],
        queued_at=d.get("queued_at"),
        offer_expires_at=d.get("offer_expires_at"),
        attendance=Attendance(attendance) if attendance else None,
        attendance_by=d.get("attendance_by"),
        confirmed_at=d.get("confirmed_at"),
        attendance_at=d.get("attendance_at"),
        checkin_code=d.get("checkin_code"),
    )


def _values(statuses: frozenset[BookingStatus]) -> list[str]:
    return sorted(s.value for s in statuses)


class MongoBookingRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._bookings = db.bookings

    async def claim(self, booking_id: str, session_id: str, user_id: int, now: datetime) -> bool:
        try:
            result = await self._bookings.update_one(
                {"_id": booking_id, "status": {"$nin": _values(OPEN_STATUSES)}},
                {
                    "$set": {
                        "session_id": session_id,
                        "user_id": user_id,
                        "status": BookingStatus.RESERVING.value,
                        "created_at": now,
                        "updated_at": now,
                        "queued_at": None,
                        "offer_expires_at": None,
                        "attendance": None,
                        "attendance_by": None,
                        "attendance_at": None,
                        "confirmed_at": None,
                    },
                    # Absent, not null: the per-session unique index covers only real codes.
                    "$unset": {"checkin_code": ""},
                },
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # an open booking exists: the filter did not match, the insert collided
        return result.upserted_id is not None or result.modified_count == 1

    async def get(self, booking_id: str) -> Booking | None:
        doc = await self._bookings.find_one({"_id": booking_id})
        return booking_from_doc(doc) if doc else None

    async def move(
        self,
        booking_id: str,
        from_statuses: frozenset[BookingStatus],
        to_status: BookingStatus,
        now: datetime,
        *,
        queued_at: datetime | None = None,
        offer_expires_at: datetime | None = None,
        offer_valid_at: datetime | None = None,
    ) -> Booking | None:
        criteria: Document = {"_id": booking_id, "status": {"$in": _values(from_statuses)}}
        if offer_valid_at is not None:
            criteria["offer_expires_at"] = {"$gt": offer_valid_at}
        changes: Document = {"status": to_status.value, "updated_at": now}
        if queued_at is not None:
            changes["queued_at"] = queued_at
        if offer_expires_at is not None:
            changes["offer_expires_at"] = offer_expires_at
        doc = await self._bookings.find_one_and_update(
            criteria, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return booking_from_doc(doc) if doc else None

    async def offer_next(
        self, session_id: str, now: datetime, expires_at: datetime
    ) -> Booking | None:
        doc = await self._bookings.find_one_and_update(
            {"session_id": session_id, "status": BookingStatus.WAITLISTED.value},
            {
                "$set": {
                    "status": BookingStatus.OFFERED.value,
                    "offer_expires_at": expires_at,
                    "updated_at": now,
                }
            },
            sort=WAITLIST_ORDER,
            return_document=ReturnDocument.AFTER,
        )
        return booking_from_doc(doc) if doc else None

    async def has_waitlisted(self, session_id: str) -> bool:
        doc = await self._bookings.find_one(
            {"session_id": session_id, "status": BookingStatus.WAITLISTED.value}, {"_id": 1}
        )
        return doc is not None

    async def waitlist_position(self, booking: Booking) -> int:
        ahead = await self._bookings.count_documents(
            {
                "session_id": booking.session_id,
                "status": BookingStatus.WAITLISTED.value,
                "$or": [
                    {"queued_at": {"$lt": booking.queued_at}},
                    {"queued_at": booking.queued_at, "_id": {"$lt": booking.id}},
                ],
            }
        )
        return ahead + 1

    async def count_seat_holders(self, session_id: str) -> int:
        return await self._bookings.count_documents(
            {"session_id": session_id, "status": {"$in": _values(SEAT_HOLDING)}}
        )

    async def list_for_user(
        self, user_id: int, statuses: frozenset[BookingStatus], page: PageRequest
    ) -> Page[Booking]:
        criteria: Document = {"user_id": user_id, "status": {"$in": _values(statuses)}}
        total = await self._bookings.count_documents(criteria)
        cursor = (
            self._bookings.find(criteria)
            .sort([("created_at", -1), ("_id", 1)])
            .skip(page.offset)
            .limit(page.size)
        )
        return Page([booking_from_doc(d) async for d in cursor], page.page, page.size, total)

    async def list_for_session(self, session_id: str) -> list[Booking]:
        cursor = self._bookings.find({"session_id": session_id}).sort(
            [("status", 1), ("queued_at", 1), ("created_at", 1), ("_id", 1)]
        )
        return [booking_from_doc(d) async for d in cursor]

    async def tally_for_user(self, user_id: int) -> BookingTally:
        cursor = await self._bookings.aggregate(
            [
                {"$match": {"user_id": user_id}},
                {
                    "$group": {
                        "_id": {"status": "$status", "attendance": "$attendance"},
                        "n": {"$sum": 1},
                    }
                },
            ]
        )
        total = active = attended = no_shows = 0
        async for d in cursor:
            n = int(d["n"])
            total += n
            active += n if d["_id"].get("status") == BookingStatus.ACTIVE.value else 0
            attended += n if d["_id"].get("attendance") == Attendance.ATTENDED.value else 0
            no_shows += n if d["_id"].get("attendance") == Attendance.NO_SHOW.value else 0
        return BookingTally(total, active, attended, no_shows)

    async def expired_offers(self, now: datetime, limit: int) -> list[Booking]:
        cursor = (
            self._bookings.find(
                {"status": BookingStatus.OFFERED.value, "offer_expires_at": {"$lte": now}}
            )
            .sort("offer_expires_at", 1)
            .limit(limit)
        )
        return [booking_from_doc(d) async for d in cursor]

    async def count_by_status(self, session_id: str) -> dict[BookingStatus, int]:
        cursor = await self._bookings.aggregate(
            [
                {"$match": {"session_id": session_id}},
                {"$group": {"_id": "$status", "n": {"$sum": 1}}},
            ]
        )
        return {BookingStatus(d["_id"]): int(d["n"]) async for d in cursor}

    async def mark_attendance(
        self, booking_id: str, attendance: Attendance, staff_id: int, now: datetime
    ) -> Booking | None:
        doc = await self._bookings.find_one_and_update(
            {"_id": booking_id, "status": BookingStatus.ACTIVE.value},
            {
                "$set": {
                    "attendance": attendance.value,
                    "attendance_by": staff_id,
                    "attendance_at": now,
                    "updated_at": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return booking_from_doc(doc) if doc else None

    async def assign_checkin_code(self, booking_id: str, code: str) -> Booking | None:
        try:
            doc = await self._bookings.find_one_and_update(
                {"_id": booking_id, "checkin_code": {"$exists": False}},
                {"$set": {"checkin_code": code}},
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return None  # another booking of the session holds this code
        if doc is None:  # it has a code already, or there is no such booking
            doc = await self._bookings.find_one({"_id": booking_id})
        return booking_from_doc(doc) if doc else None

    async def find_by_checkin_code(self, session_id: str, code: str) -> Booking | None:
        doc = await self._bookings.find_one({"session_id": session_id, "checkin_code": code})
        return booking_from_doc(doc) if doc else None

    async def no_shows_since(self, user_id: int, since: datetime) -> list[datetime]:
        cursor = self._bookings.find(
            {
                "user_id": user_id,
                "attendance": Attendance.NO_SHOW.value,
                "attendance_at": {"$gte": since},
            },
            {"attendance_at": 1},
        ).sort("attendance_at", 1)
        return [d["attendance_at"] async for d in cursor]

    async def count_for_sessions(self, session_ids: Sequence[str]) -> list[BookingCount]:
        if not session_ids:
            return []
        cursor = await self._bookings.aggregate(
            [
                {"$match": {"session_id": {"$in": sorted(set(session_ids))}}},
                {
                    "$group": {
                        "_id": {
                            "session": "$session_id",
                            "status": "$status",
                            "attendance": "$attendance",
                        },
                        "n": {"$sum": 1},
                    }
                },
            ]
        )
        counts: list[BookingCount] = []
        async for d in cursor:
            key = d["_id"]
            attendance = key.get("attendance")
            counts.append(
                BookingCount(
                    key["session"],
                    BookingStatus(key["status"]),
                    Attendance(attendance) if attendance else None,
                    int(d["n"]),
                )
            )
        return sorted(
            counts,
            key=lambda c: (
                c.session_id,
                c.status.value,
                c.attendance.value if c.attendance else "",
            ),
        )

    async def bookers_for_sessions(self, session_ids: Sequence[str]) -> frozenset[int]:
        if not session_ids:
            return frozenset()
        found = await self._bookings.distinct(
            "user_id", {"session_id": {"$in": sorted(set(session_ids))}}
        )
        return frozenset(int(user_id) for user_id in found)

    async def list_for_sessions(self, session_ids: Sequence[str]) -> list[Booking]:
        if not session_ids:
            return []
        cursor = self._bookings.find({"session_id": {"$in": sorted(set(session_ids))}}).sort(
            [("session_id", 1), ("created_at", 1), ("_id", 1)]
        )
        return [booking_from_doc(d) async for d in cursor]

    async def confirm(self, booking_id: str, now: datetime) -> Booking | None:
        doc = await self._bookings.find_one_and_update(
            {"_id": booking_id, "status": BookingStatus.ACTIVE.value},
            {"$set": {"confirmed_at": now, "updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return booking_from_doc(doc) if doc else None
