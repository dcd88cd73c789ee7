"""scripts/backup.sh, scripts/restore.sh and admin_tools.py backup|restore as an operator runs them.

Each command is a real subprocess against the session's SecantusDB; exit codes and messages are
what is checked. Refusals are one line on stderr, exit 1; usage errors exit 2 (argparse).
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from bot.bootstrap import Storage
from tests.integration.backup.conftest import ROOT, contents, read_archive

pytestmark = pytest.mark.integration
ADMIN = ROOT / "scripts" / "admin_tools.py"
BACKUP_SH = ROOT / "scripts" / "backup.sh"
RESTORE_SH = ROOT / "scripts" / "restore.sh"


def run(env: dict[str, str], *argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def admin(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run(env, sys.executable, ADMIN, *args)


def one_line(stream: str) -> str:
    lines = stream.splitlines()
    assert len(lines) == 1, stream
    assert "Traceback" not in stream
    return lines[0]


@pytest.fixture
def env(mongo_url: str, mongo_db_name: str, tmp_path: Path) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGO_", "TELEGRAM_", "BACKUP_", "PYTEST_"))
    }
    return clean | {
        "MONGO_URL": mongo_url,
        "MONGO_DATABASE": mongo_db_name,
        "BACKUP_DIRECTORY": str(tmp_path / "backups"),
        "PYTHON": sys.executable,
    }


def read_manifest_schema(archive: Path) -> int:
    schema: int = json.loads(read_archive(archive)["manifest.json"])["schema_version"]
    return schema


def only_archive(directory: Path) -> Path:
    archives = sorted(directory.glob("fok-backup-*.tar.gz"))
    assert len(archives) == 1, archives
    return archives[0]


async def test_back_up_then_restore_elsewhere_then_over_with_replace(
    populated: Storage, env: dict[str, str], tmp_path: Path, other_db_name: str
) -> None:
    before = await contents(populated.db)
    total = sum(len(c.documents) for c in before.values())

    made = run(env, BACKUP_SH)
    assert made.returncode == 0, made.stderr
    assert made.stderr == ""  # not a terminal: no progress bar, no control characters
    archive = only_archive(tmp_path / "backups")
    assert one_line(made.stdout) == (
        f"backup written: {archive} ({total} documents in {len(before)} collections, "
        f"schema version {read_manifest_schema(archive)})"
    )

    checked = admin(env, "restore", archive, "--check")
    assert checked.returncode == 0, checked.stderr
    assert one_line(checked.stdout).startswith(f"{archive.name} is intact: {total} documents")

    elsewhere = run(env, RESTORE_SH, archive, "--database", other_db_name)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert elsewhere.stderr == ""
    lines = elsewhere.stdout.splitlines()
    assert lines[-1].startswith(f"restored {archive.name} into {other_db_name}: {total} documents")
    users = before["users"]
    assert f"users: {len(users.documents)} documents, {len(users.indexes) - 1} indexes" in lines
    assert await contents(populated.client[other_db_name]) == before

    refused = run(env, RESTORE_SH, archive)
    assert refused.returncode == 1
    assert one_line(refused.stderr) == (
        f"error: restore refused: database {populated.db.name} is not empty ({total} documents "
        f"in {sum(1 for c in before.values() if c.documents)} collections); "
        "add --replace to restore over it"
    )
    assert refused.stdout == ""
    assert await contents(populated.db) == before

    await populated.db.users.delete_many({})
    replaced = run(env, RESTORE_SH, archive, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert len(await populated.db.users.find({}).to_list()) == len(before["users"].documents)


async def test_refusals_and_usage_errors(
    populated: Storage, env: dict[str, str], tmp_path: Path
) -> None:
    before = await contents(populated.db)

    missing = admin(env, "restore", tmp_path / "nope.tar.gz")
    assert missing.returncode == 1
    assert one_line(missing.stderr) == (
        f"error: restore refused: no such archive: {tmp_path / 'nope.tar.gz'}"
    )

    no_argument = run(env, RESTORE_SH)
    assert no_argument.returncode == 2
    assert "the following arguments are required: archive" in no_argument.stderr
    assert "Traceback" not in no_argument.stderr

    bad_name = admin(env, "restore", tmp_path / "x.tar.gz", "--database", "no spaces")
    assert bad_name.returncode == 2
    assert "argument --database: must be 1-60 of A-Z a-z 0-9 _ -" in bad_name.stderr

    assert admin(env, "backup").returncode == 0
    archive = only_archive(tmp_path / "backups")
    damaged = tmp_path / "damaged.tar.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    corrupt = admin(env, "restore", damaged, "--replace")
    assert corrupt.returncode == 1
    line = one_line(corrupt.stderr)
    assert line.startswith("error: restore refused: ")
    assert ("corrupt" in line) or ("checksum mismatch" in line), line

    check_damaged = admin(env, "restore", damaged, "--check")
    assert check_damaged.returncode == 1
    assert one_line(check_damaged.stderr).startswith("error: restore refused: ")

    assert await contents(populated.db) == before

    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory\n")
    cannot = admin(env, "backup", "--dir", blocked)
    assert cannot.returncode == 1
    assert one_line(cannot.stderr).startswith(f"error: backup failed: cannot write to {blocked}")

    bad_setting = run(env | {"BACKUP_RETENTION_COUNT": "0"}, BACKUP_SH)
    assert bad_setting.returncode == 2
    assert "BACKUP_RETENTION_COUNT" in bad_setting.stderr
    assert "Traceback" not in bad_setting.stderr


async def test_backup_dir_overrides_the_setting_and_applies_retention(
    populated: Storage, env: dict[str, str], tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    for _ in range(3):
        made = admin(env | {"BACKUP_RETENTION_COUNT": "2"}, "backup", "--dir", elsewhere)
        assert made.returncode == 0, made.stderr
    assert not (tmp_path / "backups").exists()
    assert len(sorted(elsewhere.glob("fok-backup-*.tar.gz"))) == 2
    assert made.stdout.splitlines()[-1].startswith("removed old backup: fok-backup-")


async def test_a_terminal_gets_a_progress_bar_on_stderr(
    populated: Storage, env: dict[str, str]
) -> None:
    """The same command draws a bar when stderr is a terminal; stdout stays the report."""
    done, drawn = backup_on_a_terminal(env)
    assert done.returncode == 0
    assert one_line(done.stdout).startswith("backup written: ")
    assert b"backup" in drawn
    assert b"documents" in drawn
    assert b"\x1b[" in drawn  # drawn with terminal control sequences


def backup_on_a_terminal(env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], bytes]:
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, str(ADMIN), "backup"],
            env=env | {"COLUMNS": "100", "TERM": "xterm"},
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    return done, drawn
