"""The weekly report's state in MongoDB: ``staff_preferences`` (``_id``: the staff member's
Telegram id) and ``weekly_reports`` (``_id``: ``<Monday of the week>:<staff id>``, one per week
and staff member: a report that went out is never sent again)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from bot.infra.mongo.client import Document
from bot.services.ports.weekly_reports import ReportLogStatus


def report_key(week: date, staff_id: int) -> str:
    return f"{week.isoformat()}:{staff_id}"


class MongoStaffPreferences:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._preferences = db.staff_preferences

    async def weekly_report(self, staff_id: int) -> bool:
        doc = await self._preferences.find_one({"_id": staff_id})
        return bool(doc.get("weekly_report", True)) if doc else True

    async def set_weekly_report(self, staff_id: int, enabled: bool, now: datetime) -> None:
        await self._preferences.update_one(
            {"_id": staff_id},
            {"$set": {"weekly_report": enabled, "updated_at": now}},
            upsert=True,
        )

    async def weekly_report_off(self) -> frozenset[int]:
        cursor = self._preferences.find({"weekly_report": False}, {"_id": 1})
        return frozenset([int(d["_id"]) async for d in cursor])


class MongoWeeklyReportLog:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._reports = db.weekly_reports

    async def claim(self, week: date, staff_id: int, now: datetime, lease: timedelta) -> bool:
        key = report_key(week, staff_id)
        claimed = {
            "status": ReportLogStatus.SENDING.value,
            "claimed_until": now + lease,
            "claimed_at": now,
        }
        try:
            await self._reports.insert_one(
                {
                    "_id": key,
                    "week": week.isoformat(),
                    "staff_id": staff_id,
                    "attempts": 1,
                    **claimed,
                }
            )
            return True
        except DuplicateKeyError:
            pass
        result = await self._reports.update_one(
            {
                "_id": key,
                "$or": [
                    {"status": ReportLogStatus.PENDING.value},
                    {"status": ReportLogStatus.SENDING.value, "claimed_until": {"$lte": now}},
                ],
            },
            {"$set": claimed, "$inc": {"attempts": 1}},
        )
        return result.modified_count == 1

    async def finish(
        self, week: date, staff_id: int, status: ReportLogStatus, now: datetime, error: str | None
    ) -> None:
        await self._reports.update_one(
            {"_id": report_key(week, staff_id)},
            {"$set": {"status": status.value, "finished_at": now, "error": error}},
        )

    async def release(self, week: date, staff_id: int, error: str) -> None:
        await self._reports.update_one(
            {"_id": report_key(week, staff_id), "status": ReportLogStatus.SENDING.value},
            {"$set": {"status": ReportLogStatus.PENDING.value, "error": error}},
        )

    async def status(self, week: date, staff_id: int) -> ReportLogStatus | None:
        doc = await self._reports.find_one({"_id": report_key(week, staff_id)})
        return ReportLogStatus(doc["status"]) if doc else None
