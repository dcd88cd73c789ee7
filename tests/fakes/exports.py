"""An in-memory ExportJobRepository (the contract of ``tests/contract/test_export_jobs.py``) and
a queue that keeps the jobs handed to it, for a test to run as the workers would."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.infra.mongo.exports import KEEP_FINISHED
from bot.services.ports.reports import ExportJob, ExportStatus
from tests.fakes.repositories import stored_time

FINISHED = (ExportStatus.DONE, ExportStatus.FAILED)


class InMemoryExportJobRepository:
    def __init__(self) -> None:
        self._jobs: dict[str, ExportJob] = {}

    async def insert(self, job: ExportJob) -> None:
        cutoff = stored_time(job.created_at) - KEEP_FINISHED
        for old in [
            j
            for j in self._jobs.values()
            if j.status in FINISHED and j.finished_at is not None and j.finished_at < cutoff
        ]:
            del self._jobs[old.id]
        if job.id in self._jobs:
            raise KeyError(f"E11000 duplicate key in export_jobs: {job.id}")
        self._jobs[job.id] = replace(
            job, created_at=stored_time(job.created_at), labels=dict(job.labels)
        )

    async def get(self, job_id: str) -> ExportJob | None:
        return self._jobs.get(job_id)

    async def claim(self, job_id: str, now: datetime, until: datetime) -> ExportJob | None:
        job = self._jobs.get(job_id)
        if job is None:
            return None
        lapsed = (
            job.status is ExportStatus.RUNNING
            and job.claimed_until is not None
            and job.claimed_until <= now
        )
        if job.status is not ExportStatus.QUEUED and not lapsed:
            return None
        claimed = replace(
            job,
            status=ExportStatus.RUNNING,
            claimed_until=stored_time(until),
            attempts=job.attempts + 1,
        )
        self._jobs[job_id] = claimed
        return claimed

    async def set_progress_message(self, job_id: str, message_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None:
            self._jobs[job_id] = replace(job, progress_message_id=message_id)

    async def finish(
        self, job_id: str, status: ExportStatus, now: datetime, error: str | None = None
    ) -> None:
        if status not in FINISHED:
            raise ValueError(f"a job finishes done or failed, not {status}")
        job = self._jobs.get(job_id)
        if job is not None:
            self._jobs[job_id] = replace(
                job, status=status, finished_at=stored_time(now), claimed_until=None, error=error
            )

    def all(self) -> list[ExportJob]:
        """Every job, as recorded (tests only)."""
        return list(self._jobs.values())


@dataclass
class RecordingExportQueue:
    """Keeps the ids of the jobs handed over; ``down`` makes it refuse them, as a broker away."""

    queued: list[str] = field(default_factory=list)
    down: bool = False

    async def enqueue(self, job_id: str) -> None:
        if self.down:
            raise ConnectionError("the broker is away")
        self.queued.append(job_id)
