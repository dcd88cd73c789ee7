"""Export jobs in MongoDB (collection ``export_jobs``): claimed one at a time with a lease.

A job is small (what was asked, the words of the workbook); finished ones are dropped a week
after they finished, whenever a new one is recorded, so the collection stays small without an
index of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from bot.infra.mongo.client import Document
from bot.services.ports.reports import ExportJob, ExportKind, ExportStatus

KEEP_FINISHED = timedelta(days=7)


def job_to_doc(job: ExportJob) -> Document:
    return {
        "_id": job.id,
        "actor_id": job.actor_id,
        "chat_id": job.chat_id,
        "kind": job.kind.value,
        "first_day": job.first_day,
        "last_day": job.last_day,
        "complex_code": job.complex_code,
        "language": job.language,
        "labels": dict(job.labels),
        "rows": job.rows,
        "created_at": job.created_at,
        "status": job.status.value,
        "attempts": job.attempts,
        "claimed_until": job.claimed_until,
        "progress_message_id": job.progress_message_id,
        "error": job.error,
        "finished_at": job.finished_at,
    }


def job_from_doc(d: Document) -> ExportJob:
    return ExportJob(
        id=d["_id"],
        actor_id=int(d["actor_id"]),
        chat_id=int(d["chat_id"]),
        kind=ExportKind(d["kind"]),
        first_day=d["first_day"],
        last_day=d["last_day"],
        complex_code=d.get("complex_code"),
        language=d["language"],
        labels={str(k): str(v) for k, v in (d.get("labels") or {}).items()},
        rows=int(d["rows"]),
        created_at=d["created_at"],
        status=ExportStatus(d["status"]),
        attempts=int(d.get("attempts", 0)),
        claimed_until=d.get("claimed_until"),
        progress_message_id=d.get("progress_message_id"),
        error=d.get("error"),
        finished_at=d.get("finished_at"),
    )


class MongoExportJobRepository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._jobs = db.export_jobs

    async def insert(self, job: ExportJob) -> None:
        await self._jobs.delete_many(
            {
                "status": {"$in": [ExportStatus.DONE.value, ExportStatus.FAILED.value]},
                "finished_at": {"$lt": job.created_at - KEEP_FINISHED},
            }
        )
        await self._jobs.insert_one(job_to_doc(job))

    async def get(self, job_id: str) -> ExportJob | None:
        doc = await self._jobs.find_one({"_id": job_id})
        return job_from_doc(doc) if doc else None

    async def claim(self, job_id: str, now: datetime, until: datetime) -> ExportJob | None:
        doc = await self._jobs.find_one_and_update(
            {
                "_id": job_id,
                "$or": [
                    {"status": ExportStatus.QUEUED.value},
                    {"status": ExportStatus.RUNNING.value, "claimed_until": {"$lte": now}},
                ],
            },
            {
                "$set": {"status": ExportStatus.RUNNING.value, "claimed_until": until},
                "$inc": {"attempts": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        return job_from_doc(doc) if doc else None

    async def set_progress_message(self, job_id: str, message_id: int) -> None:
        await self._jobs.update_one({"_id": job_id}, {"$set": {"progress_message_id": message_id}})

    async def finish(
        self, job_id: str, status: ExportStatus, now: datetime, error: str | None = None
    ) -> None:
        if status not in (ExportStatus.DONE, ExportStatus.FAILED):
            raise ValueError(f"a job finishes done or failed, not {status}")
        await self._jobs.update_one(
            {"_id": job_id},
            {
                "$set": {
                    "status": status.value,
                    "finished_at": now,
                    "claimed_until": None,
                    "error": error,
                }
            },
        )
