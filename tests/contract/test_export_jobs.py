"""ExportJobRepository: a job claimed once, taken again only when its claim lapsed, finished for
good; finished jobs dropped a week later. Run against the fake and MongoDB alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.bootstrap import build_storage
from bot.infra.mongo.exports import MongoExportJobRepository
from bot.services.ports.reports import ExportJob, ExportJobRepository, ExportKind, ExportStatus
from tests.contract.data import NOW, PRECISE, PRECISE_STORED
from tests.fakes.exports import InMemoryExportJobRepository

LEASE = timedelta(minutes=15)


@pytest.fixture(params=["memory", pytest.param("mongo", marks=pytest.mark.integration)])
async def jobs(request: pytest.FixtureRequest) -> AsyncIterator[ExportJobRepository]:
    if request.param == "memory":
        yield InMemoryExportJobRepository()
        return
    url = request.getfixturevalue("mongo_url")
    name = request.getfixturevalue("mongo_db_name")
    storage = build_storage(url, name, app_name="contract-exports")
    try:
        yield MongoExportJobRepository(storage.db)
    finally:
        await storage.close()


def job(job_id: str = "j1", **changes: object) -> ExportJob:
    made = ExportJob(
        id=job_id,
        actor_id=7,
        chat_id=7,
        kind=ExportKind.BOOKINGS,
        first_day="2026-11-01",
        last_day="2026-11-23",
        complex_code="c1",
        language="ru",
        labels={"col.session": "Занятие", "language": "ru"},
        rows=1200,
        created_at=PRECISE,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def test_a_job_round_trips_and_is_claimed_once(jobs: ExportJobRepository) -> None:
    await jobs.insert(job())
    stored = await jobs.get("j1")
    assert stored == job(created_at=PRECISE_STORED)
    assert await jobs.get("nope") is None
    claimed = await jobs.claim("j1", NOW, NOW + LEASE)
    assert claimed is not None
    assert (claimed.status, claimed.attempts, claimed.claimed_until) == (
        ExportStatus.RUNNING,
        1,
        NOW + LEASE,
    )
    assert await jobs.claim("j1", NOW + timedelta(minutes=1), NOW + LEASE) is None  # taken
    assert await jobs.claim("nope", NOW, NOW + LEASE) is None


async def test_a_lapsed_claim_is_taken_again_and_a_finished_job_never(
    jobs: ExportJobRepository,
) -> None:
    await jobs.insert(job())
    assert await jobs.claim("j1", NOW, NOW + LEASE) is not None
    again = await jobs.claim("j1", NOW + LEASE, NOW + 2 * LEASE)  # the worker died
    assert again is not None
    assert again.attempts == 2
    await jobs.set_progress_message("j1", 4242)
    await jobs.finish("j1", ExportStatus.DONE, NOW + LEASE)
    done = await jobs.get("j1")
    assert done is not None
    assert (done.status, done.progress_message_id, done.finished_at, done.claimed_until) == (
        ExportStatus.DONE,
        4242,
        NOW + LEASE,
        None,
    )
    assert await jobs.claim("j1", NOW + 10 * LEASE, NOW + 11 * LEASE) is None
    await jobs.insert(job("j2"))
    await jobs.finish("j2", ExportStatus.FAILED, NOW, "not queued")
    failed = await jobs.get("j2")
    assert failed is not None
    assert (failed.status, failed.error) == (ExportStatus.FAILED, "not queued")
    assert await jobs.claim("j2", NOW, NOW + LEASE) is None
    with pytest.raises(ValueError, match="done or failed"):
        await jobs.finish("j2", ExportStatus.RUNNING, NOW)


async def test_finished_jobs_are_dropped_a_week_later(jobs: ExportJobRepository) -> None:
    await jobs.insert(job("old", created_at=NOW - timedelta(days=9)))
    await jobs.finish("old", ExportStatus.DONE, NOW - timedelta(days=8))
    await jobs.insert(job("running", created_at=NOW - timedelta(days=9)))
    await jobs.insert(job("new", created_at=NOW))
    assert await jobs.get("old") is None
    assert await jobs.get("running") is not None  # unfinished ones stay
    assert await jobs.get("new") is not None
