"""Which deployment the monitor looks at when no local cluster runs, and the launcher's
`status --json` that tells it (the running cluster's side is in test_monitor_local.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "monitor-enterprise.sh"


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
    )


def test_status_json_without_a_cluster_says_so_with_the_not_running_exit(tmp_path: Path) -> None:
    result = run(sys.executable, "-m", "devcluster", "--run-dir", str(tmp_path), "status", "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout) == {
        "run_dir": str(tmp_path.resolve()),
        "state": None,
        "all_running": False,
    }


def test_local_without_a_cluster_is_refused_with_how_to_start_one(tmp_path: Path) -> None:
    result = run("bash", str(SCRIPT), "overview", "--local", "--run-dir", str(tmp_path))
    assert result.returncode == 2
    assert f"no local cluster in {tmp_path.resolve()}" in result.stderr
    assert "python -m devcluster up" in result.stderr


def test_a_stopped_local_cluster_is_not_picked_and_compose_is_looked_at(tmp_path: Path) -> None:
    # a state file whose process is long gone
    (tmp_path / "state.json").write_text(
        json.dumps(
            {
                "version": 1,
                "run_dir": str(tmp_path),
                "started_at": "2026-01-01T00:00:00+00:00",
                "ports": {"prometheus": 9},
                "files": {"bot_env": str(tmp_path / "bot.env")},
                "components": [
                    {
                        "name": "prometheus",
                        "processes": [
                            {
                                "name": "prometheus",
                                "pid": 999_999_999,
                                "start_ticks": 1,
                                "argv": ["prometheus"],
                                "log": str(tmp_path / "prometheus.log"),
                                "stop_grace_seconds": 1.0,
                            }
                        ],
                        "endpoints": [],
                    }
                ],
            }
        )
    )
    status = run(sys.executable, "-m", "devcluster", "--run-dir", str(tmp_path), "status", "--json")
    assert status.returncode == 1
    assert json.loads(status.stdout)["components"][0]["processes"][0]["running"] is False
    result = run(
        "bash",
        str(SCRIPT),
        "alerts",
        "--json",
        env={
            "DEVCLUSTER_RUN_DIR": str(tmp_path),
            "FOK_ALERTMANAGER_URL": "http://127.0.0.1:9",
            "FOK_PROMETHEUS_URL": "http://127.0.0.1:9",
        },
    )
    assert json.loads(result.stdout)["mode"] == "compose"
    assert result.returncode == 1
