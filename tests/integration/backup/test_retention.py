"""Retention after each backup: the newest N stay, older than the age go, the newest never."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.services.backup import (
    BackupService,
    RetentionPolicy,
    archive_name,
    archive_time,
    latest_backup_time,
    list_archives,
    prune,
)
from tests.fakes.clock import FakeClock
from tests.integration.backup.conftest import NOW

pytestmark = pytest.mark.integration


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def made_on(days: list[int]) -> list[str]:
    return sorted(archive_name(NOW + timedelta(days=d)) for d in days)


async def test_each_backup_keeps_the_newest_n(
    backups: BackupService, clock: FakeClock, tmp_path: Path
) -> None:
    policy = RetentionPolicy(keep=3, max_age=timedelta(days=30))
    removed: list[str] = []
    for day in range(6):
        clock.set(NOW + timedelta(days=day))
        report = await backups.create(tmp_path, policy)
        removed.extend(path.name for path in report.pruned.removed)

    assert names(tmp_path) == made_on([3, 4, 5])
    assert sorted(removed) == made_on([0, 1, 2])


async def test_archives_older_than_the_age_go_but_never_the_newest(
    backups: BackupService, clock: FakeClock, tmp_path: Path
) -> None:
    policy = RetentionPolicy(keep=10, max_age=timedelta(days=7))
    for day in (0, 5, 9):
        clock.set(NOW + timedelta(days=day))
        await backups.create(tmp_path, policy)
    # Day 9: day 0 is 9 days old and gone; day 5 is 4 days old and stays.
    assert names(tmp_path) == made_on([5, 9])

    # Backups stopped for a month. The newest of them is long past the age, yet stays: with the
    # directory emptied by age alone, a failing backup would leave nothing to restore.
    clock.set(NOW + timedelta(days=40))
    assert prune(tmp_path, policy, clock.now()).removed == (tmp_path / made_on([5])[0],)
    assert names(tmp_path) == made_on([9])

    report = await backups.create(tmp_path, policy)
    assert names(tmp_path) == made_on([40])
    assert [p.name for p in report.pruned.removed] == made_on([9])


async def test_retention_leaves_other_files_alone(
    backups: BackupService, clock: FakeClock, tmp_path: Path
) -> None:
    others = [
        "notes.txt",
        "fok-backup-manual-copy.tar.gz",  # not an archive name the backup makes
        ".fok-backup-abc.partial",  # a backup being written (or one that died)
        "fok-backup-20200101T000000.000000Z.tar.gz.sha256",
    ]
    for name in others:
        (tmp_path / name).write_text("keep me\n")
    (tmp_path / "fok-backup-20200101T000000.000000Z.tar.gz").mkdir()  # a directory, not a file
    policy = RetentionPolicy(keep=1, max_age=timedelta(days=1))

    for day in range(3):
        clock.set(NOW + timedelta(days=day))
        await backups.create(tmp_path, policy)

    assert names(tmp_path) == sorted(
        [*others, "fok-backup-20200101T000000.000000Z.tar.gz", *made_on([2])]
    )


async def test_latest_backup_time_is_the_newest_archive(
    backups: BackupService, clock: FakeClock, tmp_path: Path
) -> None:
    assert latest_backup_time(tmp_path / "missing") is None
    assert latest_backup_time(tmp_path) is None
    policy = RetentionPolicy(keep=5, max_age=timedelta(days=30))
    for day in (2, 0, 1):  # made out of order: the name's time counts, not the file's
        clock.set(NOW + timedelta(days=day))
        await backups.create(tmp_path, policy)

    assert latest_backup_time(tmp_path) == NOW + timedelta(days=2)
    assert [at for at, _ in list_archives(tmp_path)] == [NOW + timedelta(days=d) for d in (2, 1, 0)]


def test_the_policy_alone() -> None:
    now = datetime(2026, 11, 23, tzinfo=NOW.tzinfo)
    archives = [(now - timedelta(days=d), Path(f"a{d}")) for d in (0, 1, 2, 3, 10, 11)]
    keep_three = RetentionPolicy(keep=3, max_age=timedelta(days=30))
    assert [p.name for _, p in keep_three.expired(archives, now)] == ["a3", "a10", "a11"]
    within_week = RetentionPolicy(keep=10, max_age=timedelta(days=7))
    assert [p.name for _, p in within_week.expired(archives, now)] == ["a10", "a11"]
    old_only = [(now - timedelta(days=d), Path(f"o{d}")) for d in (50, 60)]
    assert [p.name for _, p in within_week.expired(old_only, now)] == ["o60"]
    with pytest.raises(ValueError, match="at least one"):
        RetentionPolicy(keep=0, max_age=timedelta(days=1))
    with pytest.raises(ValueError, match="positive"):
        RetentionPolicy(keep=1, max_age=timedelta(0))


def test_archive_names_carry_their_time() -> None:
    name = archive_name(NOW)
    assert name == "fok-backup-20261123T090000.000000Z.tar.gz"
    assert archive_time(name) == NOW
    assert archive_time("fok-backup-20261123T090000Z.tar.gz") is None
    assert archive_time(name + ".partial") is None
