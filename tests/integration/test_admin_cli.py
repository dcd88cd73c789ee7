"""scripts/admin_tools.py as an operator runs it, against a real SecantusDB daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pymongo import MongoClient

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "data" / "catalog" / "nizhny-novgorod.json"


def admin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "admin_tools.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(mongo_url: str, mongo_db_name: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MONGO_", "TELEGRAM_"))}
    return clean | {"MONGO_URL": mongo_url, "MONGO_DATABASE": mongo_db_name}


def test_operator_session(env: dict[str, str], tmp_path: Path) -> None:
    status = admin(env, "db", "status")
    assert status.returncode == 1
    assert "schema version 0" in status.stdout

    first = admin(env, "db", "migrate")
    assert first.returncode == 0, first.stderr
    assert "applied migrations: 1" in first.stdout
    second = admin(env, "db", "migrate")
    assert "up to date" in second.stdout
    assert admin(env, "db", "status").returncode == 0

    imported = admin(env, "catalog", "import", str(SEED))
    assert imported.returncode == 0, imported.stderr
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    assert f"{len(seed['complexes'])} complexes" in imported.stdout
    assert "generated" in imported.stdout

    out = tmp_path / "export.json"
    assert admin(env, "catalog", "export", str(out)).returncode == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(c["code"] for c in exported["complexes"]) == sorted(
        c["code"] for c in seed["complexes"]
    )

    code = seed["complexes"][0]["code"]
    assert admin(env, "users", "grant", "555", "manager", "--complex", code).returncode == 0
    staff = admin(env, "users", "staff")
    assert f"555\tmanager\t{code}" in staff.stdout
    refused = admin(env, "users", "grant", "556", "manager", "--complex", "no-such-complex")
    assert refused.returncode == 1
    assert "not_found" in refused.stderr

    stats = admin(env, "stats", "--json")
    assert json.loads(stats.stdout)["complexes"] == len(seed["complexes"])


def test_bad_input_is_refused_cleanly(env: dict[str, str], tmp_path: Path) -> None:
    broken = json.loads(SEED.read_text(encoding="utf-8"))
    broken["complexes"][0]["district"] = "atlantis"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    result = admin(env, "catalog", "import", str(path))
    assert result.returncode == 1
    assert "atlantis" in result.stderr
    assert "Traceback" not in result.stderr
    stats = admin(env, "stats", "--json")
    assert json.loads(stats.stdout)["complexes"] == 0

    no_config = admin({k: v for k, v in env.items() if k != "MONGO_URL"}, "db", "status")
    assert no_config.returncode == 2
    assert "MONGO_URL" in no_config.stderr


def test_operator_changes_are_audited_like_staff_actions(
    env: dict[str, str], mongo_url: str, mongo_db_name: str
) -> None:
    assert admin(env, "db", "migrate").returncode == 0
    imported = admin(env, "catalog", "import", str(SEED), "--generate-days", "3")
    assert imported.returncode == 0, imported.stderr
    assert admin(env, "sessions", "generate", "--days", "2").returncode == 0
    assert admin(env, "users", "grant", "555", "admin").returncode == 0
    assert admin(env, "users", "block", "555").returncode == 0
    assert admin(env, "catalog", "export", "-").returncode == 0  # reads change nothing
    client: MongoClient[dict[str, object]]
    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        entries = list(client[mongo_db_name].audit_log.find({}, sort=[("at", 1)]))
    assert sorted(str(e["action"]) for e in entries) == [
        "catalog.import",
        "sessions.generate",
        "sessions.generate",
        "user.block",
        "user.role",
    ]
    assert {e["actor_id"] for e in entries} == {0}  # the operator
